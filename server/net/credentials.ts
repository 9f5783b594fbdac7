// Optional username/password check on top of the client certificate (KMIP 1.4 §2.1.2, Credential
// Type "Username and Password"; vCenter can send one). Configured per certificate subject; a
// subject with no configured credential needs none. Passwords are stored as scrypt hashes.
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Credential } from '../kmip/message.js';
import { Enum } from '../kmip/tables.js';

export interface ConfiguredCredential {
  subject: string;
  username: string;
  passwordHash: string;
}

const N = 1 << 14;
const R = 8;
const P = 1;

/** `scrypt$N$r$p$salt$hash` (base64), as `keyhaven credential hash` prints it. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * Number(n) * Number(r) + 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

/**
 * Builds the check the service runs on every request. scrypt is deliberately slow, so a verified
 * (subject, username, password) triple is remembered by its SHA-256 for a few minutes.
 */
export function credentialChecker(configured: readonly ConfiguredCredential[], cacheMs = 300_000) {
  const bySubject = new Map<string, ConfiguredCredential[]>();
  for (const c of configured) bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), c]);
  const verified = new Map<string, number>();

  return (identity: string, credentials: Credential[]): string | undefined => {
    const required = bySubject.get(identity);
    if (!required) return undefined;
    const given = credentials.find((c) => c.type === Enum.CredentialType.UsernameAndPassword);
    if (!given?.username || given.password === undefined) {
      return 'this client must also send a Username and Password Credential';
    }
    const key = createHash('sha256').update(`${identity}\0${given.username}\0${given.password}`).digest('hex');
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return undefined;
    const match = required.find((c) => c.username === given.username && verifyPassword(given.password!, c.passwordHash));
    if (!match) return 'the username or password is not correct';
    verified.set(key, Date.now() + cacheMs);
    return undefined;
  };
}
