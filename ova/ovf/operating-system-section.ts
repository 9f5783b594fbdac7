// OperatingSystemSection (DSP0243 1.0 §9.9). ovf:id is a CIM_OperatingSystem OsType; vmw:osType is
// the vSphere guest id, which decides the defaults and checks ESXi applies to the VM.
import type { OvfOperatingSystem, XmlNode } from './model.js';

export function renderOperatingSystemSection(system: XmlNode, os: OvfOperatingSystem): void {
  const section = system.ele('OperatingSystemSection', { 'ovf:id': String(os.cimOsType), 'vmw:osType': os.vmwOsType });
  section.ele('Info').txt('The kind of installed guest operating system');
  section.ele('Description').txt(os.description);
}
