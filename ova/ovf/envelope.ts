// The Envelope (DSP0243 1.0 §7): References, the DiskSection and NetworkSection, then the one
// VirtualSystem. Rendered with xmlbuilder2: attributes keep the order they are given in, so the
// output is deterministic (same model → same bytes), which the golden test relies on.
import { create } from 'xmlbuilder2';
import { renderDiskSection } from './disk-section.js';
import { OVF_NAMESPACE, RASD_NAMESPACE, VMW_NAMESPACE, VSSD_NAMESPACE, type OvfDescriptor } from './model.js';
import { renderNetworkSection } from './network-section.js';
import { renderOperatingSystemSection } from './operating-system-section.js';
import { renderProductSection } from './product-section.js';
import { renderReferences } from './references.js';
import { renderVirtualHardwareSection } from './virtual-hardware-section.js';

/** Renders the descriptor as pretty-printed UTF-8 XML text ending in a newline. */
export function renderOvfDescriptor(descriptor: OvfDescriptor): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const envelope = doc.ele('Envelope', {
    xmlns: OVF_NAMESPACE,
    'xmlns:ovf': OVF_NAMESPACE,
    'xmlns:rasd': RASD_NAMESPACE,
    'xmlns:vmw': VMW_NAMESPACE,
    'xmlns:vssd': VSSD_NAMESPACE,
  });
  renderReferences(envelope, descriptor.references);
  renderDiskSection(envelope, descriptor.disks);
  renderNetworkSection(envelope, descriptor.networks);
  const vs = descriptor.virtualSystem;
  const system = envelope.ele('VirtualSystem', { 'ovf:id': vs.id });
  system.ele('Info').txt(vs.info);
  system.ele('Name').txt(vs.name);
  const annotation = system.ele('AnnotationSection');
  annotation.ele('Info').txt('A human-readable annotation');
  annotation.ele('Annotation').txt(vs.annotation);
  renderOperatingSystemSection(system, vs.operatingSystem);
  renderVirtualHardwareSection(system, vs.hardware, vs.id);
  renderProductSection(system, vs.product);
  return `${doc.end({ prettyPrint: true, indent: '  ' })}\n`;
}
