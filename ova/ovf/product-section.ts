// ProductSection (DSP0243 1.0 §9.5): product information and the vApp properties the administrator
// fills in at deployment. Properties come from ova/vapp-properties.ts, the single definition; each
// Category element starts a group in the vSphere deploy wizard (it applies to the properties after it).
import type { OvfProduct, XmlNode } from './model.js';

export function renderProductSection(system: XmlNode, product: OvfProduct): void {
  // ovf:required="false": a consumer that does not understand vApp properties may still deploy the VM
  // (the console wizard asks for the settings at first boot then).
  const section = system.ele('ProductSection', { 'ovf:required': 'false' });
  section.ele('Info').txt(product.info);
  section.ele('Product').txt(product.product);
  section.ele('Vendor').txt(product.vendor);
  section.ele('Version').txt(product.version);
  section.ele('FullVersion').txt(product.fullVersion);
  let category: string | undefined;
  for (const p of product.properties) {
    if (p.category !== category) {
      category = p.category;
      section.ele('Category').txt(category);
    }
    const attributes: Record<string, string> = { 'ovf:key': p.key, 'ovf:type': p.type };
    if (p.qualifiers) attributes['ovf:qualifiers'] = p.qualifiers;
    attributes['ovf:userConfigurable'] = 'true';
    attributes['ovf:value'] = p.defaultValue;
    const property = section.ele('Property', attributes);
    property.ele('Label').txt(p.label);
    property.ele('Description').txt(p.description);
  }
}
