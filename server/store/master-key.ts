// The master key: 32 random bytes in their own 0600 file. Nothing is encrypted with it directly;
// purpose keys are derived from it with HKDF-SHA256 (RFC 5869) so that the key that wraps key
// material and the key that chains the audit log are independent.
import { closeSync, constants, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { fsyncDir } from '../../lib/atomic-file.js';
import { dirname } from 'node:path';
import { hkdfSync, randomBytes, timingSafeEqual, createHmac } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export const MASTER_KEY_BYTES = 32;

export interface DerivedKeys {
  /** AES-256-GCM key that wraps every object's key material. */
  wrap: Buffer;
  /** HMAC-SHA256 key of the audit chain. */
  audit: Buffer;
  /** HMAC-SHA256 key that seals each stored object row (owner, state, attributes, material). */
  row: Buffer;
  /** Key check value: identifies the master key without revealing it. */
  check: Buffer;
  /** HMAC-SHA256 key of each object row's contribution to the store digest (store-digest.ts). */
  digest: Buffer;
  /** Key that seals (encrypts and authenticates) the store digest in the meta table. */
  digestSeal: Buffer;
  /** HMAC-SHA256 key of the rollback anchor file outside the database (anchor.ts). */
  anchor: Buffer;
}

export function deriveKeys(master: Buffer): DerivedKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `keyhaven/${info}/v1`, 32));
  const wrap = derive('wrap');
  const audit = derive('audit');
  const row = derive('row');
  const check = createHmac('sha256', derive('check')).update('keyhaven key check value').digest();
  return { wrap, audit, row, check, digest: derive('store-digest'), digestSeal: derive('store-digest-seal'), anchor: derive('anchor') };
}

/** Constant-time comparison of two key check values (or MACs); false for anything but equal Buffers. */
export function sameKey(a: Buffer, b: Buffer): boolean {
  // Values read from the database may be of any SQLite type if someone edited it: never throw on them.
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Reads the master key file, refusing one that others can read or of the wrong size.
 * With `create`, a missing file is created (0600, O_EXCL, fsynced with its directory).
 */
export function loadMasterKey(path: string, options: { create: boolean }): { key: Buffer; created: boolean } {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeyhavenError(ErrorCodes.STORE_MASTER_KEY, `cannot read the master key file ${path}: ${(err as Error).message}`);
    }
    if (!options.create) {
      throw new KeyhavenError(ErrorCodes.STORE_MASTER_KEY, `the master key file ${path} does not exist; restore it from backup or point store.masterKeyFile at it`);
    }
    return { key: createMasterKey(path), created: true };
  }
  if (!st.isFile()) {
    throw new KeyhavenError(ErrorCodes.STORE_MASTER_KEY, `the master key file ${path} is not a regular file`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeyhavenError(
      ErrorCodes.STORE_MASTER_KEY,
      `the master key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.STORE_MASTER_KEY, `cannot read the master key file ${path}: ${(err as Error).message}`);
  }
  if (key.length !== MASTER_KEY_BYTES) {
    throw new KeyhavenError(ErrorCodes.STORE_MASTER_KEY, `the master key file ${path} holds ${key.length} bytes, not ${MASTER_KEY_BYTES}`);
  }
  return { key, created: false };
}

function createMasterKey(path: string): Buffer {
  const key = randomBytes(MASTER_KEY_BYTES);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dirname(path));
  return key;
}
