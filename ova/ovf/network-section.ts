// NetworkSection (DSP0243 1.0 §9.2): the logical networks the deploy wizard maps to port groups.
import type { OvfNetwork, XmlNode } from './model.js';

export function renderNetworkSection(envelope: XmlNode, networks: readonly OvfNetwork[]): void {
  const section = envelope.ele('NetworkSection');
  section.ele('Info').txt('The logical networks');
  for (const network of networks) {
    section.ele('Network', { 'ovf:name': network.name }).ele('Description').txt(network.description);
  }
}
