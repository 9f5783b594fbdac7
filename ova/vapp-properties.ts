// THE definition of Keyhaven's vApp properties: what the administrator fills in when deploying the OVA.
// The OVF ProductSection (ova/ovf/product-section.ts) is rendered from this list, the OVF environment
// reader (ova/ovf-environment.ts) accepts exactly these keys, and propertiesToSettings() turns the
// values into typed settings for the appliance.
//
// Keys are the ovf:key of each Property (DSP0243 1.0 §9.5). The ProductSection has no ovf:class or
// ovf:instance, so the key in the OVF environment is the key itself (`keyhaven.ip`, not `x.keyhaven.ip`).
//
// Servers (DNS, NTP, syslog) must be IP addresses, not host names: the firewall pins outbound traffic
// to addresses (firewall/settings.ts refuses names), so a name here would be a setting that cannot work.
//
// Which address each property accepts (no loopback SIEM host, a gateway inside the subnet, no SSH
// from every address…) is decided by firewall/address.ts, which the appliance settings schema uses
// as well: the vApp path and the admin menu accept and refuse the same values.
import { addressUseProblem, EMPTY_ENTRY, LIST_LIMITS, sourceNetworkProblem, splitList as splitListText, staticAddressProblems, worldCoveredProblem, type AddressUse } from '../firewall/address.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { formatIp, networkContains, parseCidr, parseIp, type IpNetworkValue, type IpValue } from './ip.js';

/** OVF 1.0 property types used here (DSP0243 1.0 §9.5, CIM intrinsic types). */
export type OvfPropertyType = 'string' | 'uint8' | 'uint16' | 'boolean';

export const VAPP_PROPERTY_KEYS = [
  'keyhaven.hostname',
  'keyhaven.ip',
  'keyhaven.prefix',
  'keyhaven.gateway',
  'keyhaven.dns',
  'keyhaven.ntp',
  'keyhaven.syslog',
  'keyhaven.admin_networks',
] as const;

export type VappPropertyKey = (typeof VAPP_PROPERTY_KEYS)[number];

export interface VappPropertyDefinition {
  readonly key: VappPropertyKey;
  readonly type: OvfPropertyType;
  /** OVF ovf:qualifiers (MinLen/MaxLen for strings, MinValue/MaxValue for integers), shown and enforced by vSphere. */
  readonly qualifiers?: string;
  /** The ovf:value: what is used when the administrator leaves the field alone. */
  readonly defaultValue: string;
  readonly label: string;
  readonly description: string;
  /** The vSphere deploy wizard groups properties under the preceding Category. */
  readonly category: string;
  /** Checks one value on its own; returns what is wrong and what is expected, or undefined. */
  readonly validate: (value: string) => string | undefined;
}

/** The limits every path applies (firewall/address.ts); DNS: glibc reads at most 3 (MAXNS). */
export const MAX_DNS_SERVERS = LIST_LIMITS.dnsServers;
export const MAX_NTP_SERVERS = LIST_LIMITS.ntpServers;
export const MAX_SYSLOG_DESTINATIONS = LIST_LIMITS.siemHosts;
export const MAX_ADMIN_NETWORKS = LIST_LIMITS.adminNetworks;
export const DEFAULT_SYSLOG_PORT = 514;

const quote = (s: string): string => JSON.stringify(s);

/** RFC 1123 §2.1 host name: labels of letters, digits and hyphens, 1–63 characters, at most 253 in all. */
function hostnameProblem(value: string): string | undefined {
  if (value === '') return 'is empty; expected a host name such as kms01 or kms01.example.com';
  if (value.length > 253) return `is ${value.length} characters long; a host name has at most 253`;
  if (parseIp(value)) return `is an IP address; expected a host name such as kms01 (put the address in keyhaven.ip)`;
  const labels = value.split('.');
  for (const label of labels) {
    if (label === '') return `${quote(value)} has an empty label (two dots in a row, or a leading or trailing dot)`;
    if (label.length > 63) return `${quote(value)} has a label longer than 63 characters`;
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(label)) {
      return `${quote(value)} is not a valid host name; expected letters, digits and hyphens (not at the start or end of a label), dots between labels`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return `${quote(value)} ends in an all-numeric label; expected a host name such as kms01`;
  return undefined;
}

function addressProblem(text: string, use: AddressUse): { ip: IpValue } | { problem: string } {
  const ip = parseIp(text);
  if (!ip) {
    if (/^\[.*\]$/.test(text)) return { problem: `${quote(text)} has brackets; write the IPv6 address without them` };
    if (text.includes('%')) return { problem: `${quote(text)} has a zone index; give the address without it` };
    if (/[a-z]/i.test(text) && !/^[0-9a-f:.]+$/i.test(text)) {
      return { problem: `${quote(text)} is a host name; an IPv4 or IPv6 address is needed (the firewall only allows traffic to addresses)` };
    }
    return { problem: `${quote(text)} is not an IPv4 or IPv6 address` };
  }
  const unusable = addressUseProblem(ip, use);
  return unusable ? { problem: `${quote(text)} ${unusable}` } : { ip };
}

/** Splits a comma-separated list as the wizard and the menu do; empty text is an empty list. */
function splitList(value: string): { items: string[] } | { problem: string } {
  const items = splitListText(value);
  if (items.some((s) => s === '')) return { problem: `${quote(value)} has an empty entry: "" ${EMPTY_ENTRY}` };
  return { items };
}

interface SyslogDestination {
  host: string;
  port: number;
}

function parseSyslogEntry(entry: string): { destination: SyslogDestination; ip: IpValue } | { problem: string } {
  let hostText = entry;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    hostText = bracketed[1] as string;
    portText = bracketed[2];
    if (!parseIp(hostText) || parseIp(hostText)?.family !== 6) return { problem: `${quote(entry)}: brackets are only for IPv6 addresses, as in [2001:db8::10]:514` };
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    [hostText, portText] = entry.split(':') as [string, string];
  }
  const address = addressProblem(hostText, 'SIEM host');
  if ('problem' in address) return { problem: address.problem };
  let port = DEFAULT_SYSLOG_PORT;
  if (portText !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
      return { problem: `${quote(entry)} has port ${quote(portText)}; expected a port number from 1 to 65535` };
    }
    port = Number(portText);
  }
  return { destination: { host: formatIp(address.ip), port }, ip: address.ip };
}

function addressListProblem(value: string, max: number, use: AddressUse): string | undefined {
  const list = splitList(value);
  if ('problem' in list) return list.problem;
  if (list.items.length > max) return `has ${list.items.length} entries; at most ${max} are allowed`;
  const seen = new Map<string, string>();
  for (const item of list.items) {
    const address = addressProblem(item, use);
    if ('problem' in address) return address.problem;
    const canonical = formatIp(address.ip);
    if (seen.has(canonical)) return `${quote(item)} is listed twice`;
    seen.set(canonical, item);
  }
  return undefined;
}

function syslogProblem(value: string): string | undefined {
  const list = splitList(value);
  if ('problem' in list) return list.problem;
  if (list.items.length > MAX_SYSLOG_DESTINATIONS) return `has ${list.items.length} entries; at most ${MAX_SYSLOG_DESTINATIONS} are allowed`;
  const seen = new Set<string>();
  for (const item of list.items) {
    const parsed = parseSyslogEntry(item);
    if ('problem' in parsed) return parsed.problem;
    const id = `${parsed.destination.host} ${parsed.destination.port}`;
    if (seen.has(id)) return `${quote(item)} is listed twice`;
    seen.add(id);
  }
  return undefined;
}

function adminNetworksProblem(value: string): string | undefined {
  const list = splitList(value);
  if ('problem' in list) return list.problem;
  if (list.items.length > MAX_ADMIN_NETWORKS) return `has ${list.items.length} entries; at most ${MAX_ADMIN_NETWORKS} are allowed`;
  const networks: { text: string; network: IpNetworkValue }[] = [];
  for (const item of list.items) {
    const parsed = parseCidr(item);
    if (!parsed.ok) return `${quote(item)} ${parsed.reason}`;
    const unusable = sourceNetworkProblem(parsed.network, 'adminNetworks');
    if (unusable) return `${quote(item)} ${unusable}`;
    const address = { family: parsed.network.family, value: parsed.network.value };
    // ::ffff:0:0/96 and narrower never match on the wire (the firewall refuses them too).
    if (address.family === 6 && parsed.network.prefix >= 96 && address.value >> 32n === 0xffffn) {
      return `${quote(item)} is an IPv4-mapped IPv6 network; write it in IPv4 form`;
    }
    for (const earlier of networks) {
      if (networkContains(earlier.network, address) && earlier.network.prefix <= parsed.network.prefix) {
        return earlier.network.prefix === parsed.network.prefix ? `${quote(item)} is listed twice` : `${quote(item)} lies inside ${quote(earlier.text)}; remove one of them`;
      }
      const earlierAddress = { family: earlier.network.family, value: earlier.network.value };
      if (networkContains(parsed.network, earlierAddress)) return `${quote(item)} contains ${quote(earlier.text)}; remove one of them`;
    }
    networks.push({ text: item, network: parsed.network });
  }
  const world = worldCoveredProblem(networks.map((n) => n.network), 'adminNetworks');
  return world && `${networks.map((n) => n.text).join(', ')} ${world}`;
}

export const VAPP_PROPERTIES: readonly VappPropertyDefinition[] = [
  {
    key: 'keyhaven.hostname',
    type: 'string',
    qualifiers: 'MinLen(1) MaxLen(253)',
    defaultValue: 'keyhaven',
    label: 'Host name',
    description: 'Host name of the appliance: a single name (kms01) or a fully qualified name (kms01.example.com).',
    category: 'Network',
    validate: hostnameProblem,
  },
  {
    key: 'keyhaven.ip',
    type: 'string',
    qualifiers: 'MaxLen(45)',
    defaultValue: '',
    label: 'IP address',
    description: 'IPv4 or IPv6 address of the appliance. Leave empty to use DHCP; prefix length and gateway are then ignored.',
    category: 'Network',
    validate: (value) => {
      if (value === '') return undefined;
      const address = addressProblem(value, 'static address');
      return 'problem' in address ? address.problem : undefined;
    },
  },
  {
    key: 'keyhaven.prefix',
    type: 'uint8',
    qualifiers: 'MinValue(1) MaxValue(128)',
    defaultValue: '24',
    label: 'Network prefix length',
    description: 'Prefix length of the network for a static IP address, e.g. 24 for 255.255.255.0 (IPv4: 1 to 32, IPv6: 1 to 128).',
    category: 'Network',
    validate: (value) =>
      /^[1-9][0-9]{0,2}$/.test(value) && Number(value) <= 128 ? undefined : `${quote(value)} is not a prefix length; expected a number from 1 to 32 (IPv4) or 1 to 128 (IPv6)`,
  },
  {
    key: 'keyhaven.gateway',
    type: 'string',
    qualifiers: 'MaxLen(45)',
    defaultValue: '',
    label: 'Default gateway',
    description: 'IPv4 or IPv6 address of the default gateway. Required with a static IP address; leave empty with DHCP.',
    category: 'Network',
    validate: (value) => {
      if (value === '') return undefined;
      const address = addressProblem(value, 'gateway');
      return 'problem' in address ? address.problem : undefined;
    },
  },
  {
    key: 'keyhaven.dns',
    type: 'string',
    qualifiers: 'MaxLen(256)',
    defaultValue: '',
    label: 'DNS servers',
    description: `DNS servers, comma-separated IP addresses (at most ${MAX_DNS_SERVERS}). Leave empty to use those offered by DHCP.`,
    category: 'Network',
    validate: (value) => addressListProblem(value, MAX_DNS_SERVERS, 'DNS server'),
  },
  {
    key: 'keyhaven.ntp',
    type: 'string',
    qualifiers: 'MaxLen(512)',
    defaultValue: '',
    label: 'NTP servers',
    description: `NTP servers, comma-separated IP addresses (at most ${MAX_NTP_SERVERS}). Addresses, not names: the firewall allows NTP only to these addresses.`,
    category: 'Services',
    validate: (value) => addressListProblem(value, MAX_NTP_SERVERS, 'NTP server'),
  },
  {
    key: 'keyhaven.syslog',
    type: 'string',
    qualifiers: 'MaxLen(512)',
    defaultValue: '',
    label: 'Syslog (SIEM) destinations',
    description: `Where the audit log is forwarded: comma-separated IP addresses with an optional port (default ${DEFAULT_SYSLOG_PORT}), e.g. 192.0.2.10, 192.0.2.11:514, [2001:db8::10]:514. Leave empty to forward nowhere.`,
    category: 'Services',
    validate: syslogProblem,
  },
  {
    key: 'keyhaven.admin_networks',
    type: 'string',
    qualifiers: 'MaxLen(1024)',
    defaultValue: '',
    label: 'Admin networks (SSH)',
    description: 'Networks allowed to reach the SSH admin menu, comma-separated in CIDR notation (e.g. 10.1.0.0/24, 2001:db8:1::/64). Leave empty to keep SSH closed until it is set on the console.',
    category: 'Administration',
    validate: adminNetworksProblem,
  },
];

const DEFINITIONS = new Map<string, VappPropertyDefinition>(VAPP_PROPERTIES.map((p) => [p.key, p]));

export function isVappPropertyKey(key: string): key is VappPropertyKey {
  return DEFINITIONS.has(key);
}

export function vappPropertyDefinition(key: VappPropertyKey): VappPropertyDefinition {
  return DEFINITIONS.get(key) as VappPropertyDefinition;
}

/** The settings the appliance applies at first boot, derived from the vApp properties. */
export interface VappSettings {
  hostname: string;
  network: { mode: 'dhcp' } | { mode: 'static'; address: string; prefix: number; gateway: string };
  dns: string[];
  ntp: string[];
  syslog: { host: string; port: number }[];
  adminNetworks: string[];
}

export interface VappPropertyProblem {
  readonly key: string;
  readonly message: string;
}

/** Invalid vApp property values; `problems` names each property and what is expected. */
export class VappPropertyError extends KeyhavenError {
  readonly problems: readonly VappPropertyProblem[];
  constructor(problems: readonly VappPropertyProblem[]) {
    super(ErrorCodes.OVF_ENV_INVALID, problems.map((p) => `${p.key}: ${p.message}`).join('\n'));
    this.name = 'VappPropertyError';
    this.problems = problems;
  }
}

/** Checks one property's value on its own (cross-property rules are in propertiesToSettings). */
export function validateVappProperty(key: VappPropertyKey, value: string): string | undefined {
  return vappPropertyDefinition(key).validate(value.trim());
}

/**
 * Turns vApp property values (from the OVF environment) into settings. Missing keys take their
 * defaults; values are trimmed. Throws VappPropertyError (KH_OVF_ENV_INVALID) listing every unknown
 * key and every invalid value, each line naming the property and what is expected.
 */
export function propertiesToSettings(values: Record<string, string>): VappSettings {
  const problems: VappPropertyProblem[] = [];
  for (const key of Object.keys(values).sort()) {
    if (!isVappPropertyKey(key)) {
      problems.push({ key, message: `unknown property; the known properties are ${VAPP_PROPERTY_KEYS.join(', ')}` });
    }
  }
  const value = (key: VappPropertyKey): string => {
    const given = Object.prototype.hasOwnProperty.call(values, key) ? values[key] : undefined;
    return (typeof given === 'string' ? given : vappPropertyDefinition(key).defaultValue).trim();
  };
  for (const p of VAPP_PROPERTIES) {
    const problem = p.validate(value(p.key));
    if (problem) problems.push({ key: p.key, message: problem });
  }
  const bad = (key: VappPropertyKey) => problems.some((p) => p.key === key);

  let network: VappSettings['network'] = { mode: 'dhcp' };
  const ipText = value('keyhaven.ip');
  const gatewayText = value('keyhaven.gateway');
  if (ipText === '') {
    if (gatewayText !== '' && !bad('keyhaven.gateway')) {
      problems.push({
        key: 'keyhaven.gateway',
        message: `is set (${quote(gatewayText)}) but keyhaven.ip is empty, which means DHCP; set keyhaven.ip for a static address, or clear the gateway`,
      });
    }
  } else if (!bad('keyhaven.ip') && !bad('keyhaven.prefix') && !bad('keyhaven.gateway')) {
    const prefix = Number(value('keyhaven.prefix'));
    const key = { address: 'keyhaven.ip', prefix: 'keyhaven.prefix', gateway: 'keyhaven.gateway' } as const;
    const staticProblems = staticAddressProblems({ address: ipText, prefix, ...(gatewayText === '' ? {} : { gateway: gatewayText }) }, { address: 'keyhaven.ip', prefix: 'keyhaven.prefix' }).map((p) => ({ key: key[p.field], message: p.message }));
    if (gatewayText === '' && !staticProblems.some((p) => p.key === 'keyhaven.prefix')) {
      staticProblems.push({ key: 'keyhaven.gateway', message: 'is empty; a static IP address needs a default gateway (or leave keyhaven.ip empty to use DHCP)' });
    }
    problems.push(...staticProblems);
    if (staticProblems.length === 0) network = { mode: 'static', address: formatIp(parseIp(ipText) as IpValue), prefix, gateway: formatIp(parseIp(gatewayText) as IpValue) };
  }

  if (problems.length > 0) throw new VappPropertyError(problems);

  const addresses = (key: VappPropertyKey): string[] => {
    const list = splitList(value(key));
    return 'items' in list ? list.items.map((item) => formatIp(parseIp(item) as IpValue)) : [];
  };
  const listed = splitList(value('keyhaven.syslog'));
  const syslog = ('items' in listed ? listed.items : []).map((item) => {
    const parsed = parseSyslogEntry(item);
    return 'destination' in parsed ? parsed.destination : { host: '', port: 0 };
  });
  const networks = splitList(value('keyhaven.admin_networks'));
  const adminNetworks = ('items' in networks ? networks.items : []).map((item) => {
    const parsed = parseCidr(item);
    return parsed.ok ? `${formatIp(parsed.network)}/${parsed.network.prefix}` : item;
  });
  return {
    hostname: value('keyhaven.hostname').toLowerCase(),
    network,
    dns: addresses('keyhaven.dns'),
    ntp: addresses('keyhaven.ntp'),
    syslog,
    adminNetworks,
  };
}
