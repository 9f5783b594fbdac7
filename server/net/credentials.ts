// Optional username/password check on top of the client certificate (KMIP 1.4 §2.1.2, Credential
// Type "Username and Password"; vCenter can send one). Configured per certificate subject; a
// subject with no configured credential needs none. Passwords are stored as scrypt hashes.
//
// scrypt is deliberately slow (~40 ms), so it never runs on the event loop: verification runs on
// libuv's thread pool, at most MAX_CONCURRENT at a time (the pool also does the WAL fsyncs), and an
// identity that keeps sending wrong passwords is refused without any scrypt for a while.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
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

interface ParsedHash {
  salt: Buffer;
  hash: Buffer;
  options: { N: number; r: number; p: number; maxmem: number };
}

function parseHash(stored: string): ParsedHash | undefined {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return undefined;
  return {
    salt: Buffer.from(salt, 'base64'),
    hash: Buffer.from(hash, 'base64'),
    options: { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) + 1024 * 1024 },
  };
}

/** Checks a password against its stored hash, on the thread pool. */
export function verifyPasswordAsync(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(password, h.salt, h.hash.length, h.options, (err, derived) => resolve(!err && timingSafeEqual(derived, h.hash)));
  });
}

export interface CredentialPolicy {
  /** A verified (subject, username, password) is trusted this long without scrypt. Default 5 min. */
  cacheMs?: number;
  /** Wrong passwords from one identity within `failureWindowMs` before it is refused outright. */
  maxFailures?: number;
  failureWindowMs?: number;
  /** Verifications running at once; more wait, and beyond `maxWaiting` are refused. */
  maxConcurrent?: number;
  maxWaiting?: number;
  now?: () => number;
}

/** A refusal message, nothing (accepted), or the same once the password has been checked. */
export type AuthenticationResult = string | undefined | Promise<string | undefined>;

/**
 * Builds the check the service runs on every request. Answers synchronously whenever it can (no
 * credential configured for the subject, credential missing, recently verified, throttled), and
 * with a promise when scrypt has to run.
 */
export function credentialChecker(configured: readonly ConfiguredCredential[], policy: CredentialPolicy = {}) {
  const cacheMs = policy.cacheMs ?? 300_000;
  const maxFailures = policy.maxFailures ?? 5;
  const windowMs = policy.failureWindowMs ?? 60_000;
  const maxConcurrent = policy.maxConcurrent ?? 2;
  const maxWaiting = policy.maxWaiting ?? 64;
  const now = policy.now ?? Date.now;
  const bySubject = new Map<string, ConfiguredCredential[]>();
  for (const c of configured) bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), c]);
  const verified = new Map<string, number>();
  /** Times of recent wrong passwords, per identity. */
  const failures = new Map<string, number[]>();
  /** Checks under way, by (identity, username, password): the same guess sent on several connections is checked once. */
  const pending = new Map<string, Promise<string | undefined>>();
  /** Distinct checks under way per identity: they count against the allowance before they end. */
  const inFlight = new Map<string, number>();
  let running = 0;
  const waiting: (() => void)[] = [];

  const recentFailures = (identity: string): number[] => {
    const t = now();
    const list = (failures.get(identity) ?? []).filter((at) => t - at < windowMs);
    if (list.length) failures.set(identity, list);
    else failures.delete(identity);
    return list;
  };

  const slot = (): Promise<void> | undefined => {
    if (running < maxConcurrent) {
      running++;
      return Promise.resolve();
    }
    if (waiting.length >= maxWaiting) return undefined;
    return new Promise((resolve) => waiting.push(() => resolve()));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  return (identity: string, credentials: Credential[]): AuthenticationResult => {
    const required = bySubject.get(identity);
    if (!required) return undefined;
    const given = credentials.find((c) => c.type === Enum.CredentialType.UsernameAndPassword);
    if (!given?.username || given.password === undefined) {
      return 'this client must also send a Username and Password Credential';
    }
    const key = createHash('sha256').update(`${identity}\0${given.username}\0${given.password}`).digest('hex');
    const until = verified.get(key);
    if (until !== undefined && until > now()) return undefined;
    const same = pending.get(key);
    if (same) return same;
    const recent = recentFailures(identity);
    const checking = inFlight.get(identity) ?? 0;
    // Guesses still being checked count as if wrong: parallel guesses get no more tries than serial ones.
    if (recent.length + checking >= maxFailures) {
      const wait = recent.length ? Math.ceil((recent[0]! + windowMs - now()) / 1000) : 1;
      return `too many wrong passwords for this client: try again in ${wait} s`;
    }
    const waitForSlot = slot();
    if (!waitForSlot) return 'the server is busy checking passwords: try again shortly';
    // A username nobody has still costs one scrypt, so timing does not reveal which names exist.
    const candidate = required.find((c) => c.username === given.username);
    const password = given.password;
    inFlight.set(identity, checking + 1);
    const check = waitForSlot.then(async () => {
      try {
        const ok = await verifyPasswordAsync(password, (candidate ?? required[0]!).passwordHash);
        if (ok && candidate) {
          verified.set(key, now() + cacheMs);
          return undefined;
        }
        failures.set(identity, [...recentFailures(identity), now()]);
        return 'the username or password is not correct';
      } finally {
        release();
        pending.delete(key);
        const n = (inFlight.get(identity) ?? 1) - 1;
        if (n > 0) inFlight.set(identity, n);
        else inFlight.delete(identity);
      }
    });
    pending.set(key, check);
    return check;
  };
}
