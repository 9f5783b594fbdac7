// IP addresses and networks as the firewall needs them: strict parsing, canonical text, containment.
// The numeric value (lib/ip-value.ts) lets host bits and overlaps be checked (nftables
// refuses overlapping elements in an interval set).
import { addressBits, formatIpValue, hostMask, networkContains, parseIpValue, SPECIAL_PURPOSE_RANGES, specialPurpose, unmappedIpv4, type IpFamily, type IpValue } from '../lib/ip-value.js';

export type { IpFamily, IpValue };
/** True when network `outer` contains every address of `inner` (same family). */
export { networkContains };

export interface IpNetwork {
  readonly family: IpFamily;
  /** The network address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
  readonly prefix: number;
  /** Canonical text, always with the prefix: `10.0.0.0/24`, `2001:db8::/32`, `192.0.2.7/32`. */
  readonly text: string;
}

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
  readonly text: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const bits = addressBits;

export function formatAddress(family: IpFamily, value: bigint): string {
  return formatIpValue({ family, value });
}

/** True when the text looks like a DNS name rather than a mistyped address. */
function looksLikeHostname(text: string): boolean {
  return /^(?=.*[a-zA-Z])[a-zA-Z0-9-]{1,63}(\.[a-zA-Z0-9-]{1,63})*\.?$/.test(text) && !/^[0-9a-fA-F:.]+$/.test(text);
}

/** Reasons shared by addresses and networks, or undefined when nothing specific applies. */
function specificReason(text: string): string | undefined {
  if (text !== text.trim()) return `${JSON.stringify(text)} has surrounding spaces`;
  if (looksLikeHostname(text)) {
    return `${JSON.stringify(text)} is a hostname; the firewall pins addresses (nftables matches addresses, not names), so an IPv4 or IPv6 address is needed`;
  }
  if (text.includes('%')) return `${JSON.stringify(text)} has a zone index; zone indexes are not supported, give the address without it`;
  return undefined;
}

function rejectMapped(family: IpFamily, value: bigint, text: string): string | undefined {
  // ::ffff:a.b.c.d never appears as an IPv6 source or destination on the wire: it would match nothing.
  if (family === 6 && value >> 32n === 0xffffn) {
    return `${JSON.stringify(text)} is an IPv4-mapped IPv6 address; write the IPv4 form ${formatAddress(4, value & 0xffffffffn)}`;
  }
  return undefined;
}

/** A single host address (no prefix). */
export function parseIpAddress(text: string): Parsed<IpAddress> {
  const specific = specificReason(text);
  if (specific) return { ok: false, reason: specific };
  if (text.includes('/')) {
    return { ok: false, reason: `${JSON.stringify(text)} is a network; a single IPv4 or IPv6 address is needed here` };
  }
  const parsed = parseIpValue(text);
  if (!parsed) return { ok: false, reason: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` };
  const mapped = rejectMapped(parsed.family, parsed.value, text);
  if (mapped) return { ok: false, reason: mapped };
  if (parsed.value === 0n) {
    return { ok: false, reason: `${JSON.stringify(text)} is the unspecified address; give the address of a real host` };
  }
  return { ok: true, value: { ...parsed, text: formatAddress(parsed.family, parsed.value) } };
}

/**
 * A network in CIDR notation; a bare address means that one host (/32 or /128).
 * Host bits set (`10.0.0.5/24`) are an error rather than silently widened or narrowed: the
 * administrator meant either the network or the host, and the firewall must not guess which.
 */
export function parseIpNetwork(text: string): Parsed<IpNetwork> {
  const specific = specificReason(text);
  if (specific) return { ok: false, reason: specific };
  const bad: Parsed<IpNetwork> = { ok: false, reason: `${JSON.stringify(text)} is not an IPv4 or IPv6 network` };
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const parsed = parseIpValue(addressText);
  if (!parsed) return bad;
  const max = bits(parsed.family);
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return bad;
    prefix = Number(prefixText);
    if (prefix > max) {
      return { ok: false, reason: `${JSON.stringify(text)}: prefix /${prefix} is longer than ${max} bits` };
    }
  }
  const mapped = rejectMapped(parsed.family, parsed.value, text);
  if (mapped) return { ok: false, reason: mapped };
  const hostBits = hostMask(parsed.family, prefix);
  if ((parsed.value & hostBits) !== 0n) {
    const network = formatAddress(parsed.family, parsed.value & ~hostBits);
    const host = formatAddress(parsed.family, parsed.value);
    return {
      ok: false,
      reason: `${JSON.stringify(text)} has host bits set; write ${network}/${prefix} for the network or ${host}/${max} for the one host`,
    };
  }
  return {
    ok: true,
    value: { family: parsed.family, value: parsed.value, prefix, text: `${formatAddress(parsed.family, parsed.value)}/${prefix}` },
  };
}

type NetworkValue = Pick<IpNetwork, 'family' | 'value' | 'prefix'>;

// ---------------------------------------------------------------------------------------------
// What an address may be used for. One set of rules for every path that sets the appliance's
// addresses: the appliance settings schema (the menu's helper, the first-boot wizard, the saved
// file: appliance/settings.ts and ./settings.ts) and the vApp properties (ova/vapp-properties.ts).

/** The roles an address plays, as messages name them. */
export type AddressUse = 'static address' | 'gateway' | 'DNS server' | 'NTP server' | 'SIEM host' | 'backup host' | 'mirroring peer';

const isIpv6LinkLocal = (ip: IpValue): boolean => ip.family === 6 && specialPurpose(ip) === 'link-local';

/** How messages say which special-purpose range (RFC 6890) an address is in. */
function specialPurposeText(ip: IpValue): string | undefined {
  switch (specialPurpose(ip)) {
    case 'unspecified':
      return 'is the unspecified address';
    case 'loopback':
      return ip.family === 4 ? 'is a loopback address' : 'is the loopback address';
    case 'this network':
      return 'is in 0.0.0.0/8 ("this network")';
    case 'link-local':
      return `is a link-local address (${ip.family === 4 ? '169.254.0.0/16' : 'fe80::/10'})`;
    case 'multicast':
      return 'is a multicast address';
    case 'broadcast':
      return 'is the broadcast address';
    default:
      return undefined;
  }
}

/**
 * Why `ip` cannot be used as `use` (text after the quoted address), or undefined. Only a gateway may
 * be an IPv6 link-local address: routers are reached by it (RFC 4861 §4.2), and it lies outside the prefix.
 */
export function addressUseProblem(ip: IpValue, use: AddressUse): string | undefined {
  const mapped = unmappedIpv4(ip);
  if (mapped) return `is an IPv4-mapped IPv6 address; write the IPv4 form ${formatAddress(4, mapped.value)}`;
  if (use === 'gateway' && isIpv6LinkLocal(ip)) return undefined;
  const why = specialPurposeText(ip);
  return why && `${why}, which cannot be ${use === 'NTP server' ? 'an' : 'a'} ${use}`;
}

/** A single address for `use`: parseIpAddress's syntax, and the reason naming the role when it cannot serve as one. */
export function parseAddressFor(text: string, use: AddressUse): Parsed<IpAddress> {
  const value = text === text.trim() ? parseIpValue(text) : undefined;
  const problem = value && addressUseProblem(value, use);
  return problem ? { ok: false, reason: `${JSON.stringify(text)} ${problem}` } : parseIpAddress(text);
}

/** The openings limited to networks the administrator names, and whose networks those are. */
export const OPENINGS = {
  adminNetworks: { service: 'SSH', name: 'the admin networks (those the administrators connect from)' },
  keyManagement: { service: 'key management (6001)', name: 'the networks the crypto officers connect from' },
  webManagement: { service: 'web management (3886)', name: 'the networks the administrators connect from' },
} as const;

/** An opening to every address (0.0.0.0/0, ::/0) is refused outright. */
export function worldOpenProblem(net: { readonly prefix: number }, opening: keyof typeof OPENINGS): string | undefined {
  const o = OPENINGS[opening];
  return net.prefix === 0 ? `would allow ${o.service} from every address; name ${o.name} instead` : undefined;
}

// RFC 6890 ranges no administrator or officer connects from (nothing routed arrives from them):
// lib's table, as messages name them. A network in two is named by the broader (0.0.0.0/8).
const SPECIAL_NETWORKS = [...SPECIAL_PURPOSE_RANGES]
  .sort((a, b) => a.prefix - b.prefix)
  .map((r) => ({
    ...r,
    what:
      r.purpose === 'this network'
        ? 'is in 0.0.0.0/8 ("this network")'
        : r.prefix === addressBits(r.family)
          ? `is the ${r.purpose} address`
          : `is in the ${r.purpose} range ${formatIpValue(r)}/${r.prefix}`,
  }));

/** Why `net` cannot be a source network of `opening` (it lies in a special-purpose range), or undefined. */
export function sourceNetworkProblem(net: NetworkValue, opening: keyof typeof OPENINGS): string | undefined {
  const world = worldOpenProblem(net, opening);
  if (world) return world;
  const special = SPECIAL_NETWORKS.find((r) => networkContains(r, net));
  return special && `${special.what}, which no one connects from; name ${OPENINGS[opening].name} instead`;
}

/** Per family, how many addresses the (non-overlapping) networks cover together. */
function coverage(nets: readonly { readonly family: IpFamily; readonly prefix: number }[]): Map<IpFamily, bigint> {
  const out = new Map<IpFamily, bigint>();
  for (const n of nets) out.set(n.family, (out.get(n.family) ?? 0n) + (1n << BigInt(bits(n.family) - n.prefix)));
  return out;
}

/** Networks that together cover every address of a family (0.0.0.0/1 + 128.0.0.0/1) are the world too. */
export function worldCoveredProblem(nets: readonly { readonly family: IpFamily; readonly prefix: number }[], opening: keyof typeof OPENINGS): string | undefined {
  for (const [family, count] of coverage(nets)) {
    if (count >= 1n << BigInt(bits(family))) return `together cover every IPv${family} address, which ${worldOpenProblem({ prefix: 0 }, opening)}`;
  }
  return undefined;
}

/** Broader than this needs an explicit yes: a /8 of IPv4, a /32 of IPv6 (a whole provider allocation). */
const BROAD: Record<IpFamily, bigint> = { 4: 1n << 24n, 6: 1n << 96n };

/**
 * The consequence of opening to very broad networks, for the administrator to confirm, or undefined.
 * `nets` are valid, non-overlapping networks (the settings schema checked them).
 */
export function broadOpeningWarning(nets: readonly IpNetwork[], opening: keyof typeof OPENINGS): string | undefined {
  const o = OPENINGS[opening];
  for (const [family, count] of coverage(nets)) {
    if (count <= BROAD[family]) continue;
    const list = nets.filter((n) => n.family === family).map((n) => n.text).join(', ');
    return `${o.service} would be reachable from ${count.toLocaleString('en-US')} IPv${family} addresses (${list}): every host there could try the admin password. Name ${o.name} instead, unless you mean it`;
  }
  return undefined;
}

/**
 * The consequence of admin networks that leave out the SSH client making the change, or undefined
 * (also when `client` is not an address: the console, or unknown).
 */
export function lockoutWarning(nets: readonly IpNetwork[], client: string): string | undefined {
  const raw = parseIpValue(client);
  if (!raw) return undefined;
  const ip = unmappedIpv4(raw) ?? raw;
  const host: IpNetwork = { ...ip, prefix: bits(ip.family), text: formatIpValue(ip) };
  if (nets.some((n) => networkContains(n, host))) return undefined;
  return `${host.text}, where this SSH session comes from, is not in the new admin networks: this session carries on, but new SSH connections from ${host.text} will get no answer (the firewall drops them), and only the console or another admin network can undo it`;
}

// ---------------------------------------------------------------------------------------------
// Lists as typed (vApp properties, the first-boot wizard, the menu): entries separated by commas.

/** Most entries per list; the vApp descriptor says the same (glibc reads at most 3 resolvers: MAXNS). */
export const LIST_LIMITS = { dnsServers: 3, ntpServers: 8, siemHosts: 8, adminNetworks: 32 } as const;

/** What an empty list entry means, for every path that reads a typed list. */
export const EMPTY_ENTRY = 'is an empty entry (two commas in a row, or a comma at the start or end); remove the extra comma or fill in the entry';

/**
 * "a, b" → ["a", "b"]; blank text → []. Empty entries are kept as "" so that the checks refuse
 * them: "pool1, , pool2" is far more likely a typo than a request for two servers.
 */
export function splitList(text: string): string[] {
  return text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
}

export interface StaticAddressProblem {
  readonly field: 'address' | 'prefix' | 'gateway';
  readonly message: string;
}

/**
 * The rules that tie a static address, its prefix length and the gateway together. Texts that are
 * not addresses are left to the caller's syntax check. `names` are how the caller's messages refer
 * to the address and prefix fields (`keyhaven.ip`, or `address.address`).
 */
export function staticAddressProblems(s: { address: string; prefix: number; gateway?: string }, names: { address: string; prefix: string }): StaticAddressProblem[] {
  const address = parseIpValue(s.address);
  if (!address) return [];
  const out: StaticAddressProblem[] = [];
  const q = JSON.stringify;
  const use = addressUseProblem(address, 'static address');
  if (use) out.push({ field: 'address', message: `${q(s.address)} ${use}` });
  const max = bits(address.family);
  if (!Number.isInteger(s.prefix) || s.prefix < 1 || s.prefix > max) {
    out.push({ field: 'prefix', message: `is ${s.prefix}, ${s.prefix > max ? `longer than an IPv${address.family} address (${max} bits); ` : ''}expected 1 to ${max}` });
    return out;
  }
  const hostBits = hostMask(address.family, s.prefix);
  const network = { family: address.family, value: address.value & ~hostBits, prefix: s.prefix, text: '' };
  const cidr = `${formatAddress(address.family, network.value)}/${s.prefix}`;
  // RFC 919/922: the all-zeros and all-ones host numbers of an IPv4 subnet are not host addresses
  // (except on /31 point-to-point links, RFC 3021, and /32).
  const subnetRole = (v: bigint): string | undefined => (address.family !== 4 || s.prefix > 30 ? undefined : (v & hostBits) === 0n ? 'network' : (v & hostBits) === hostBits ? 'broadcast' : undefined);
  const own = subnetRole(address.value);
  if (!use && own) out.push({ field: 'address', message: `${formatAddress(4, address.value)} is the ${own} address of ${cidr}; expected a host address in it` });
  if (s.gateway === undefined) return out;
  const gateway = parseIpValue(s.gateway);
  if (!gateway) return out;
  const gwUse = addressUseProblem(gateway, 'gateway');
  const gwRole = gateway.family === address.family ? subnetRole(gateway.value) : undefined;
  if (gateway.family !== address.family) {
    out.push({ field: 'gateway', message: `${q(s.gateway)} is IPv${gateway.family} but ${names.address} is IPv${address.family}; expected an IPv${address.family} gateway` });
  } else if (gwUse) {
    out.push({ field: 'gateway', message: `${q(s.gateway)} ${gwUse}` });
  } else if (gateway.value === address.value) {
    out.push({ field: 'gateway', message: `${q(s.gateway)} is the appliance's own address; expected the router's address` });
  } else if (!isIpv6LinkLocal(gateway) && !networkContains(network, { ...network, value: gateway.value, prefix: max })) {
    out.push({ field: 'gateway', message: `${q(s.gateway)} is not in the appliance's network ${cidr}; expected a gateway inside it (check ${names.prefix})` });
  } else if (gwRole) {
    out.push({ field: 'gateway', message: `${q(s.gateway)} is the ${gwRole} address of ${cidr}; expected the router's address` });
  }
  return out;
}
