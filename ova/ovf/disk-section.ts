// DiskSection (DSP0243 1.0 §9.1): the virtual disks, their capacity and file format.
import type { OvfDisk, XmlNode } from './model.js';

export function renderDiskSection(envelope: XmlNode, disks: readonly OvfDisk[]): void {
  const section = envelope.ele('DiskSection');
  section.ele('Info').txt('Virtual disk information');
  for (const disk of disks) {
    section.ele('Disk', {
      'ovf:capacity': String(disk.capacityBytes),
      // DSP0243 §9.1: capacityAllocationUnits defaults to bytes; stated explicitly for readers.
      'ovf:capacityAllocationUnits': 'byte',
      'ovf:diskId': disk.diskId,
      'ovf:fileRef': disk.fileRef,
      'ovf:format': disk.format,
    });
  }
}
