// IP addresses and networks as the firewall needs them: strict parsing, canonical text, containment.
// node:net's isIPv4/isIPv6 gate the syntax; the numeric value is computed here so that host bits and
// overlaps can be checked (nftables refuses overlapping elements in an interval set).
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

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

const bits = (family: IpFamily): number => (family === 4 ? 32 : 128);

function parseIpv4(text: string): bigint | undefined {
  if (!isIPv4(text)) return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // isIPv4 already refuses leading zeros (octal ambiguity); keep the check local and explicit.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  let tail: bigint[] = [];
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) stands for the last two groups.
  const lastColon = head.lastIndexOf(':');
  const maybeV4 = head.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v4 = parseIpv4(maybeV4);
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    head = head.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined): bigint[] | undefined => {
    if (s === undefined || s === '') return [];
    const out: bigint[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  if (left === undefined || right === undefined) return undefined;
  const explicit = [...left, ...(halves.length === 2 ? right : []), ...tail];
  let all: bigint[];
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length - tail.length;
    if (missing < 1) return undefined;
    all = [...left, ...new Array<bigint>(missing).fill(0n), ...right, ...tail];
  } else {
    all = explicit;
  }
  if (all.length !== 8) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 4 ? formatIpv4(value) : formatIpv6(value);
}

/** True when the text looks like a DNS name rather than a mistyped address. */
function looksLikeHostname(text: string): boolean {
  return /^(?=.*[a-zA-Z])[a-zA-Z0-9-]{1,63}(\.[a-zA-Z0-9-]{1,63})*\.?$/.test(text) && !/^[0-9a-fA-F:.]+$/.test(text);
}

function parseAddressValue(text: string): { family: IpFamily; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
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
    return `${JSON.stringify(text)} is an IPv4-mapped IPv6 address; write the IPv4 form ${formatIpv4(value & 0xffffffffn)}`;
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
  const parsed = parseAddressValue(text);
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
  const parsed = parseAddressValue(addressText);
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
  const hostMask = (1n << BigInt(max - prefix)) - 1n;
  if ((parsed.value & hostMask) !== 0n) {
    const network = formatAddress(parsed.family, parsed.value & ~hostMask);
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

/** True when network `outer` contains every address of `inner` (same family). */
export function networkContains(outer: IpNetwork, inner: IpNetwork): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const shift = BigInt(bits(outer.family) - outer.prefix);
  return outer.value >> shift === inner.value >> shift;
}
