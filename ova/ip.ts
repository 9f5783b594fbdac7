// IP address helpers for validating vApp properties: node:net's isIPv4/isIPv6 decide the syntax,
// the numeric value (for subnet and host-bit checks) is computed here.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpValue {
  readonly family: IpFamily;
  /** The address as an unsigned 32- or 128-bit integer. */
  readonly value: bigint;
}

export const addressBits = (family: IpFamily): number => (family === 4 ? 32 : 128);

/** Parses an IPv4 dotted quad or an IPv6 address (no zone index, no brackets); undefined if not one. */
export function parseIp(text: string): IpValue | undefined {
  if (isIPv4(text)) {
    return { family: 4, value: text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let groups = text;
  let tail: bigint[] = [];
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) stands for the last two 16-bit groups.
  const lastColon = groups.lastIndexOf(':');
  const v4 = groups.slice(lastColon + 1);
  if (v4.includes('.')) {
    const parsed = parseIp(v4);
    if (!parsed || parsed.family !== 4) return undefined;
    tail = [parsed.value >> 16n, parsed.value & 0xffffn];
    groups = groups.slice(0, lastColon + 1);
    if (!groups.endsWith('::')) groups = groups.slice(0, -1);
  }
  const toGroups = (s: string): bigint[] => (s === '' ? [] : s.split(':').map((g) => BigInt(`0x${g}`)));
  const [left = '', right] = groups.split('::');
  const head = toGroups(left);
  const rest = right === undefined ? [] : toGroups(right);
  const zeros = right === undefined ? 0 : 8 - head.length - rest.length - tail.length;
  const all = [...head, ...new Array<bigint>(zeros).fill(0n), ...rest, ...tail];
  if (all.length !== 8) return undefined;
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

export interface IpNetworkValue extends IpValue {
  readonly prefix: number;
}

/** `a.b.c.d/p` or `x::/p`; the reason when it is not a network with its host bits clear. */
export function parseCidr(text: string): { ok: true; network: IpNetworkValue } | { ok: false; reason: string } {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return { ok: false, reason: 'is not an IPv4 or IPv6 network in CIDR notation (e.g. 10.1.0.0/24)' };
  if (slash < 0) return { ok: false, reason: 'has no prefix length; write it in CIDR notation (e.g. 10.1.0.0/24, or 10.1.0.5/32 for one host)' };
  const prefixText = text.slice(slash + 1);
  const max = addressBits(address.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return { ok: false, reason: `has prefix length "${prefixText}"; it must be a number from 0 to ${max}` };
  }
  const prefix = Number(prefixText);
  const hostBits = (1n << BigInt(max - prefix)) - 1n;
  if ((address.value & hostBits) !== 0n) {
    return { ok: false, reason: `has host bits set; write ${formatIp({ family: address.family, value: address.value & ~hostBits })}/${prefix} for the network` };
  }
  return { ok: true, network: { ...address, prefix } };
}

/** True when the address lies inside the network (same family). */
export function networkContains(network: IpNetworkValue, address: IpValue): boolean {
  if (network.family !== address.family) return false;
  const shift = BigInt(addressBits(network.family) - network.prefix);
  return network.value >> shift === address.value >> shift;
}

/** Dotted quad, or RFC 5952 IPv6 text (lower case, the longest run of zero groups compressed). */
export function formatIp(ip: IpValue): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
  }
  const hex = groups.map((g) => g.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** Addresses that can never be a server, a gateway or a host's own address. */
export function unusableAddressReason(ip: IpValue): string | undefined {
  if (ip.value === 0n) return 'is the unspecified address';
  if (ip.family === 4) {
    if (ip.value >> 24n === 127n) return 'is a loopback address';
    if (ip.value >> 28n === 0xen) return 'is a multicast address';
    if (ip.value === 0xffffffffn) return 'is the broadcast address';
    if (ip.value >> 24n === 0n) return 'is in 0.0.0.0/8 ("this network")';
    return undefined;
  }
  if (ip.value === 1n) return 'is the loopback address';
  if (ip.value >> 120n === 0xffn) return 'is a multicast address';
  if (ip.value >> 32n === 0xffffn) return `is an IPv4-mapped IPv6 address; write the IPv4 form ${formatIp({ family: 4, value: ip.value & 0xffffffffn })}`;
  return undefined;
}
