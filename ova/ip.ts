// IP address helpers for validating vApp properties: networks with their host bits clear, and
// addresses that can never be a server, a gateway or the appliance's own (lib/ip-value.ts parses).
import { addressBits, formatIpValue, hostMask, networkContains, parseIpValue, type IpFamily, type IpNetworkValue, type IpValue } from '../lib/ip-value.js';

export { networkContains };
export type { IpFamily, IpNetworkValue, IpValue };

/** Parses an IPv4 dotted quad or an IPv6 address (no zone index, no brackets); undefined if not one. */
export const parseIp = parseIpValue;
/** Dotted quad, or RFC 5952 IPv6 text. */
export const formatIp = formatIpValue;

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
  const hostBits = hostMask(address.family, prefix);
  if ((address.value & hostBits) !== 0n) {
    return { ok: false, reason: `has host bits set; write ${formatIp({ family: address.family, value: address.value & ~hostBits })}/${prefix} for the network` };
  }
  return { ok: true, network: { ...address, prefix } };
}
