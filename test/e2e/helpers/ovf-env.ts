// An OVF environment document as vSphere writes it for the iso transport (DSP0243 §11, the
// Environment element with one Property per vApp property), and the CD image that carries it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../../appliance/build/run-command.js';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function ovfEnvironmentXml(properties: Record<string, string>): string {
  const props = Object.entries(properties)
    .map(([k, v]) => `      <Property oe:key="${escape(k)}" oe:value="${escape(v)}"/>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" oe:id="">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
      <Version>8.0.2</Version>
      <Vendor>VMware, Inc.</Vendor>
      <Locale>en</Locale>
   </PlatformSection>
   <PropertySection>
${props}
   </PropertySection>
</Environment>
`;
}

/** An ISO 9660 image with ovf-env.xml at its root, as vSphere attaches it. */
export async function ovfEnvironmentIso(dir: string, properties: Record<string, string>): Promise<string> {
  const content = join(dir, 'ovf-env');
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'ovf-env.xml'), ovfEnvironmentXml(properties));
  const iso = join(dir, 'ovf-env.iso');
  await runCommand('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'OVF ENV', '-J', '-r', '-o', iso, content]);
  return iso;
}
