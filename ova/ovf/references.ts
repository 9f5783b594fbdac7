// References section (DSP0243 1.0 §7.1): every file of the package with its size in bytes.
import type { OvfFileReference, XmlNode } from './model.js';

export function renderReferences(envelope: XmlNode, files: readonly OvfFileReference[]): void {
  const references = envelope.ele('References');
  for (const file of files) {
    references.ele('File', { 'ovf:href': file.href, 'ovf:id': file.id, 'ovf:size': String(file.size) });
  }
}
