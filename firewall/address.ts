// IP addresses and networks as the firewall needs them: strict parsing, canonical text, containment.
// The numeric value (server/net/ip-value.ts) lets host bits and overlaps be checked (nftables
// refuses overlapping elements in an interval set).
import { addressBits, formatIpValue, parseIpValue, type IpFamily } from '../server/net/ip-value.js';

export type { IpFamily };

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
