// SHA-256 fingerprints of SSH host keys, written as `ssh-keygen -lf` prints them: 'SHA256:' and the
// unpadded base64 of the SHA-256 of the public key blob (the key as sent in the key exchange, RFC 4253
// §6.6). The backup host is pinned by one; it is never learned from the host itself.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';

/** 43 base64 characters: 32 bytes without the '=' padding; the prefix may be left out. */
const FINGERPRINT = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/i;

/** The fingerprint in its canonical form 'SHA256:<base64 without padding>'; throws on anything else. */
export function parseFingerprint(text: string): string {
  const trimmed = text.trim();
  const m = FINGERPRINT.exec(trimmed);
  // A round trip refuses non-canonical base64 (stray low bits in the last character): the same key
  // then has exactly one spelling.
  if (m?.[1] !== undefined && unpadded(Buffer.from(m[1], 'base64')) === m[1]) return `SHA256:${m[1]}`;
  const hint = /^MD5:/i.test(trimmed) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(trimmed)
    ? ' An MD5 fingerprint is not accepted.'
    : '';
  throw new KeyhavenError(
    ErrorCodes.BACKUP_BAD_INPUT,
    `"${trimmed.slice(0, 80)}" is not an SSH host key fingerprint.${hint} Enter the SHA-256 fingerprint as \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` prints it on the backup host, e.g. SHA256:followed by 43 characters.`,
  );
}

/** The fingerprint of a public key blob, 'SHA256:…'. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${unpadded(createHash('sha256').update(keyBlob).digest())}`;
}

/** Whether the key blob has this (canonical) fingerprint; compares the digests in constant time. */
export function matchesFingerprint(keyBlob: Buffer, fingerprint: string): boolean {
  const expected = Buffer.from(fingerprint.slice('SHA256:'.length), 'base64');
  const actual = createHash('sha256').update(keyBlob).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The key type named at the start of a public key blob ('ssh-ed25519'), for messages. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  const type = keyBlob.subarray(4, 4 + Math.min(len, 64)).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : 'unknown';
}

const unpadded = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
