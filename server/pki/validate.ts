// Input validation for the PKI: every check throws PKI_BAD_INPUT with a message naming the value.

import net from 'node:net';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { formatIpValue, ipValueBytes, parseIpValue, type IpValue } from '../../lib/ip-value.js';

export function badInput(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, message);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 host name (letters, digits, hyphens; labels ≤ 63, total ≤ 253). Returned lower-cased. */
export function checkDnsName(name: string): string {
  const n = name.trim().toLowerCase();
  if (n.length === 0 || n.length > 253) throw badInput(`DNS name '${printable(name)}' must be 1 to 253 characters`);
  if (net.isIP(n) !== 0) throw badInput(`'${n}' is an IP address: give it with --ip, not --dns`);
  for (const label of n.split('.')) {
    if (!LABEL.test(label)) {
      throw badInput(
        `DNS name '${printable(name)}' is not a valid host name (RFC 1123): labels are 1-63 letters, digits ` +
          `or hyphens, not starting or ending with a hyphen, separated by dots`,
      );
    }
  }
  return n;
}

function parsedIp(ip: string): IpValue {
  const v = parseIpValue(ip.trim());
  if (!v) throw badInput(`'${printable(ip)}' is not an IPv4 or IPv6 address`);
  return v;
}

/** An IPv4 or IPv6 address (no zone id). Returns the address bytes in network order. */
export function ipBytes(ip: string): Buffer {
  return ipValueBytes(parsedIp(ip));
}

/** The canonical text form of an IP address (IPv6 compressed, lower case). */
export function canonicalIp(ip: string): string {
  return formatIpValue(parsedIp(ip));
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A directory-string attribute value (CN, O, …): non-empty, no control characters, ≤ max (ub-common-name 64). */
export function checkDnValue(what: string, value: string, max = 64): string {
  if (value.length === 0 || value.trim().length === 0) throw badInput(`${what} must not be empty`);
  if (CONTROL.test(value)) throw badInput(`${what} '${printable(value)}' must not contain control characters`);
  if ([...value].length > max) throw badInput(`${what} '${printable(value)}' is longer than ${max} characters`);
  return value;
}

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A client name: it names files in clients/, so letters, digits, '.', '_', '-' only, ≤ 64. */
export function checkClientName(name: string): string {
  if (!CLIENT_NAME.test(name)) {
    throw badInput(
      `client name '${printable(name)}' is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

const EMAIL_LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;

/** An e-mail address for an rfc822Name SAN (ASCII local part, RFC 1123 domain). */
export function checkEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  if (at <= 0 || !EMAIL_LOCAL.test(local)) throw badInput(`'${printable(email)}' is not a valid e-mail address`);
  return `${local}@${checkDnsName(email.slice(at + 1))}`;
}

/** A whole number of days in [min, max]. */
export function checkDays(what: string, days: number, min: number, max: number): number {
  if (!Number.isInteger(days) || days < min || days > max) {
    throw badInput(`${what} must be a whole number of days from ${min} to ${max}, not ${String(days)}`);
  }
  return days;
}

export const RSA_SIZES = [2048, 3072, 4096] as const;
export type RsaBits = (typeof RSA_SIZES)[number];

export function checkBits(bits: number): RsaBits {
  if (!(RSA_SIZES as readonly number[]).includes(bits)) {
    throw badInput(`RSA key size must be one of ${RSA_SIZES.join(', ')}, not ${String(bits)}`);
  }
  return bits as RsaBits;
}

/** Makes a value safe to echo in an error message (control characters as \xNN, truncated). */
export function printable(s: string): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}
