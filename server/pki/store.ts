// The PKI directory: layout, atomic writes, the lock that serialises CLI runs, and index.json.
//
//   <data>/pki/            0700
//     ca.crt ca.key(0600) crl.pem server.crt server.key(0600) index.json
//     clients/<name>.crt  clients/<name>.key(0600)  clients/<name>.p12(0600)
//     signed/<serial>.crt  (copies of certificates issued from CSRs)
//     .lock                (present while a command changes the directory)

import { processAlive } from '../../lib/process-alive.js';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import type { RevocationReason } from './reasons.js';

export interface PkiPaths {
  /** The data directory given with --dir. */
  dataDir: string;
  /** <data>/pki */
  root: string;
  caCert: string;
  caKey: string;
  crl: string;
  serverCert: string;
  serverKey: string;
  clientsDir: string;
  signedDir: string;
  index: string;
  lock: string;
}

export function pkiPaths(dataDir: string): PkiPaths {
  const root = path.join(path.resolve(dataDir), 'pki');
  return {
    dataDir: path.resolve(dataDir),
    root,
    caCert: path.join(root, 'ca.crt'),
    caKey: path.join(root, 'ca.key'),
    crl: path.join(root, 'crl.pem'),
    serverCert: path.join(root, 'server.crt'),
    serverKey: path.join(root, 'server.key'),
    clientsDir: path.join(root, 'clients'),
    signedDir: path.join(root, 'signed'),
    index: path.join(root, 'index.json'),
    lock: path.join(root, '.lock'),
  };
}

export function clientPaths(p: PkiPaths, name: string): { cert: string; key: string; p12: string } {
  return {
    cert: path.join(p.clientsDir, `${name}.crt`),
    key: path.join(p.clientsDir, `${name}.key`),
    p12: path.join(p.clientsDir, `${name}.p12`),
  };
}

export const MODE_DIR = 0o700;
export const MODE_SECRET = 0o600;
export const MODE_PUBLIC = 0o644;

/** Creates the directory (and parents) with mode 0700 and tightens it if it already existed. */
export function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: MODE_DIR });
  fs.chmodSync(dir, MODE_DIR);
}

/** Atomic, durable replacement (lib/atomic-file.ts). */
export { writeFileAtomic };

// ---------------------------------------------------------------------------------------------
// Lock

export interface LockOptions {
  /** How long to wait for another command to finish (default 10 s). */
  waitMs?: number;
  /** A lock older than this whose process is gone is taken over (default 60 s). */
  staleMs?: number;
  /** Receives the message printed when a stale lock is taken over. */
  onMessage?: (message: string) => void;
}

interface LockInfo {
  pid: number;
  created: string;
}


function readLock(file: string): { info: LockInfo | undefined; raw: string; mtimeMs: number } | undefined {
  try {
    const raw = fs.readFileSync(file, 'utf8');
    const mtimeMs = fs.statSync(file).mtimeMs;
    let info: LockInfo | undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<LockInfo>;
      if (typeof parsed.pid === 'number' && typeof parsed.created === 'string') info = { pid: parsed.pid, created: parsed.created };
    } catch {
      info = undefined;
    }
    return { info, raw, mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Runs `fn` holding the exclusive lock file of the PKI directory (created with O_EXCL, removed in
 * `finally`); the directory must exist. Waits for a concurrent command; takes over a lock older than `staleMs` whose process
 * no longer exists.
 */
export async function withLock<T>(p: PkiPaths, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  const waitMs = opts.waitMs ?? 10_000;
  const staleMs = opts.staleMs ?? 60_000;
  const deadline = Date.now() + waitMs;
  const body = JSON.stringify({ pid: process.pid, created: new Date().toISOString(), nonce: crypto.randomBytes(8).toString('hex') });
  for (;;) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(p.lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, MODE_SECRET);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new KeyhavenError(ErrorCodes.PKI_NOT_INITIALISED, `no CA in ${p.root}: run \`keyhaven pki init --dir ${p.dataDir}\` first`);
      }
      if (code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        fs.writeFileSync(fd, body);
      } finally {
        fs.closeSync(fd);
      }
      break;
    }
    const held = readLock(p.lock);
    if (held === undefined) continue; // released between our open and our read
    const age = Date.now() - held.mtimeMs;
    const alive = held.info !== undefined && processAlive(held.info.pid);
    if (age > staleMs && !alive) {
      // Re-check that it is the same stale lock before removing it (another waiter may have
      // taken it over already).
      const again = readLock(p.lock);
      if (again !== undefined && again.raw === held.raw) {
        fs.rmSync(p.lock, { force: true });
        opts.onMessage?.(
          `taking over stale lock ${p.lock} (${held.info ? `pid ${held.info.pid}, not running` : 'unreadable'}, ` +
            `${Math.round(age / 1000)} s old)`,
        );
      }
      continue;
    }
    if (Date.now() >= deadline) {
      const who = held.info ? `pid ${held.info.pid}${alive ? '' : ', not running'} since ${held.info.created}` : 'unknown process';
      throw new KeyhavenError(
        ErrorCodes.PKI_LOCKED,
        `${p.root} is locked by another keyhaven pki command (${who}): wait for it to finish and retry; ` +
          `if no such command is running, remove ${p.lock}`,
      );
    }
    await sleep(50 + Math.floor(Math.random() * 50));
  }
  try {
    return await fn();
  } finally {
    // Remove only our own lock.
    const mine = readLock(p.lock);
    if (mine !== undefined && mine.raw === body) fs.rmSync(p.lock, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// index.json: every certificate the CA issued

export type CertificateKind = 'server' | 'client';

export interface IssuedCertificate {
  /** Serial number, lower-case hex, two digits per octet (as `openssl x509 -serial` and X509Certificate#serialNumber). */
  serial: string;
  /** The name it is filed under: 'server', the client name, or the name given for a CSR. */
  name: string;
  /** Subject as rendered by subjectString(): the client identity. */
  subject: string;
  kind: CertificateKind;
  /** 'csr' when issued by signing a certificate request. */
  source: 'generated' | 'csr';
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint of the DER certificate, upper-case colon hex (as X509Certificate#fingerprint256). */
  fingerprint: string;
  /** Path of the certificate file relative to the pki directory. */
  file: string;
  revoked?: { date: string; reason: RevocationReason };
}

export interface PkiIndex {
  version: 1;
  /** cRLNumber of the last CRL written (RFC 5280 §5.2.3). */
  crlNumber: number;
  certificates: IssuedCertificate[];
}

export function emptyIndex(): PkiIndex {
  return { version: 1, crlNumber: 0, certificates: [] };
}

export function readIndex(p: PkiPaths): PkiIndex {
  let raw: string;
  try {
    raw = fs.readFileSync(p.index, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyhavenError(
        ErrorCodes.PKI_NOT_INITIALISED,
        `no PKI index in ${p.root}: run \`keyhaven pki init --dir ${p.dataDir}\` first`,
      );
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `${p.index} is not valid JSON: restore it from a backup`, { cause: err });
  }
  const idx = parsed as Partial<PkiIndex>;
  if (idx.version !== 1 || typeof idx.crlNumber !== 'number' || !Array.isArray(idx.certificates)) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `${p.index} is not a Keyhaven PKI index (version 1): restore it from a backup`);
  }
  return idx as PkiIndex;
}

export function writeIndex(p: PkiPaths, idx: PkiIndex): void {
  writeFileAtomic(p.index, JSON.stringify(idx, null, 2) + '\n', MODE_SECRET);
}
