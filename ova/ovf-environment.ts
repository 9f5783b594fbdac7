// The OVF environment: the document vSphere hands the guest with the vApp property values
// (DSP0243 1.0 §11, "OVF Environment"). With the com.vmware.guestInfo transport the guest reads it
// with `vmtoolsd --cmd "info-get guestinfo.ovfEnv"`; with the iso transport it is the file
// ovf-env.xml at the root of a CD-ROM attached at power-on. Both carry the same document:
//
//   <Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
//                xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="" ...>
//     <PlatformSection>…</PlatformSection>
//     <PropertySection>
//       <Property oe:key="keyhaven.hostname" oe:value="kms01"/>
//     </PropertySection>
//     <ve:EthernetAdapterSection>…</ve:EthernetAdapterSection>
//   </Environment>
//
// The document comes from outside the appliance, so it is read with lib/xml.ts (saxes): strict
// well-formedness, no DTD (refused, so no entity expansion), size and depth limits.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { VAPP_PROPERTY_KEYS, isVappPropertyKey } from './vapp-properties.js';
import { attributeValue, childElements, readXml, XmlSyntaxError, type XmlElement } from '../lib/xml.js';

/** DSP0243 1.0 §11.1: the namespace of the environment document and of its oe: attributes. */
export const OVF_ENVIRONMENT_NAMESPACE = 'http://schemas.dmtf.org/ovf/environment/1';

/** The environment document is a few kilobytes; anything much larger is not one. */
export const MAX_OVF_ENVIRONMENT_BYTES = 256 * 1024;

const invalid = (message: string, cause?: unknown): KeyhavenError =>
  new KeyhavenError(ErrorCodes.OVF_ENV_INVALID, `OVF environment: ${message}`, cause === undefined ? undefined : { cause });

const describe = (e: XmlElement): string => `<${e.name}> (line ${e.line})`;

/**
 * Parses an OVF environment document into vApp property key → value. Refuses, with
 * KeyhavenError(KH_OVF_ENV_INVALID): invalid UTF-8, malformed XML, any DOCTYPE, a root element
 * other than ovfenv:Environment, a Property without oe:key or oe:value, a key given twice, and keys
 * that are not Keyhaven's vApp properties. Entity sections (sibling VMs in a vApp) are ignored.
 */
export function parseOvfEnvironment(document: string | Uint8Array): Record<string, string> {
  let text: string;
  if (typeof document === 'string') {
    text = document;
  } else {
    if (document.byteLength > MAX_OVF_ENVIRONMENT_BYTES) throw invalid(`document is ${document.byteLength} bytes; at most ${MAX_OVF_ENVIRONMENT_BYTES} are accepted`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(document);
    } catch (e) {
      throw invalid('document is not valid UTF-8', e);
    }
  }
  let root: XmlElement;
  try {
    root = readXml(text, { maxLength: MAX_OVF_ENVIRONMENT_BYTES, maxDepth: 16, maxAttributes: 32 });
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw invalid(`not well-formed XML: ${e.message}`, e);
    throw e;
  }
  if (root.localName !== 'Environment' || root.namespace !== OVF_ENVIRONMENT_NAMESPACE) {
    throw invalid(
      `the root element is <${root.name}>${root.namespace ? ` in namespace ${root.namespace}` : ' without a namespace'}; expected <Environment xmlns="${OVF_ENVIRONMENT_NAMESPACE}">`,
    );
  }
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const section of childElements(root, OVF_ENVIRONMENT_NAMESPACE, 'PropertySection')) {
    for (const element of childElements(section)) {
      if (element.namespace !== OVF_ENVIRONMENT_NAMESPACE || element.localName !== 'Property') {
        problems.push(`${describe(element)} is not allowed in PropertySection; expected only <Property oe:key="…" oe:value="…"/>`);
        continue;
      }
      const key = attributeValue(element, OVF_ENVIRONMENT_NAMESPACE, 'key');
      const value = attributeValue(element, OVF_ENVIRONMENT_NAMESPACE, 'value');
      if (key === undefined || value === undefined) {
        const unqualified = attributeValue(element, null, key === undefined ? 'key' : 'value') !== undefined;
        problems.push(
          `${describe(element)} has no oe:${key === undefined ? 'key' : 'value'} attribute` +
            (unqualified ? ` (an unprefixed one is there: the attribute must be in namespace ${OVF_ENVIRONMENT_NAMESPACE})` : ''),
        );
        continue;
      }
      if (!isVappPropertyKey(key)) {
        problems.push(`${describe(element)}: unknown property ${JSON.stringify(key)}; the known properties are ${VAPP_PROPERTY_KEYS.join(', ')}`);
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(values, key)) {
        problems.push(`${describe(element)}: property ${key} is given more than once`);
        continue;
      }
      values[key] = value;
    }
  }
  if (problems.length > 0) throw invalid(problems.join('\n'));
  return values;
}

export type OvfEnvironmentTransport = 'com.vmware.guestInfo' | 'iso';

export interface OvfEnvironmentSource {
  readonly transport: OvfEnvironmentTransport;
  /** Where it came from: the vmtoolsd command, or the file path. */
  readonly origin: string;
  readonly document: string;
}

export interface ReadOvfEnvironmentOptions {
  /** The vmtoolsd binary. Default `vmtoolsd` (open-vm-tools). */
  readonly vmtoolsd?: string;
  /**
   * ovf-env.xml files to try for the iso transport, in order, e.g. on the vApp CD-ROM the appliance
   * has mounted read-only. Default: none (only the guestInfo transport is tried).
   */
  readonly isoFiles?: readonly string[];
  /** Runs a command; default node:child_process.execFile with a 10 s timeout. For tests. */
  readonly run?: (file: string, args: readonly string[]) => Promise<{ code: number; stdout: string }>;
}

function runCommand(file: string, args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 10_000, maxBuffer: MAX_OVF_ENVIRONMENT_BYTES, encoding: 'utf8' }, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout });
    });
  });
}

/**
 * Fetches the OVF environment document: first through VMware Tools (com.vmware.guestInfo
 * transport), then from the given ovf-env.xml files (iso transport). Returns undefined when neither
 * has one (deployed without vApp options, or not on vSphere): the console wizard then asks.
 * The document is returned unparsed; pass it to parseOvfEnvironment.
 */
export async function readOvfEnvironment(options: ReadOvfEnvironmentOptions = {}): Promise<OvfEnvironmentSource | undefined> {
  const vmtoolsd = options.vmtoolsd ?? 'vmtoolsd';
  const run = options.run ?? runCommand;
  const args = ['--cmd', 'info-get guestinfo.ovfEnv'];
  const result = await run(vmtoolsd, args);
  // vmtoolsd exits non-zero ("No value found") when the VM has no OVF environment.
  if (result.code === 0 && result.stdout.trim() !== '') {
    return { transport: 'com.vmware.guestInfo', origin: `${vmtoolsd} ${args.join(' ')}`, document: result.stdout };
  }
  for (const file of options.isoFiles ?? []) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw invalid(`cannot read ${file}: ${(e as Error).message}`, e);
    }
    if (bytes.byteLength > MAX_OVF_ENVIRONMENT_BYTES) throw invalid(`${file} is ${bytes.byteLength} bytes; at most ${MAX_OVF_ENVIRONMENT_BYTES} are accepted`);
    let document: string;
    try {
      document = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (e) {
      throw invalid(`${file} is not valid UTF-8`, e);
    }
    return { transport: 'iso', origin: file, document };
  }
  return undefined;
}
