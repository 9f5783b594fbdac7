// The backup key: 32 random bytes that encrypt backup files. Custodians hold it as M-of-N shares
// (shares.ts), printed once; the server keeps it only wrapped under its master key, in
// backup-key.json next to the store, so that scheduled backups run unattended. That file is never
// put in a backup: a backup file alone (even with the master key inside it) reveals no key.
// Re-keying makes a new generation; each backup names the generation whose shares open it.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { deriveKeys, loadMasterKey } from '../store/master-key.js';
import { unwrapMaterial, wrapMaterial } from '../store/wrap.js';
import { checkSplit, splitSecret, type ShareSet } from './shares.js';

export const BACKUP_KEY_BYTES = 32;
export const BACKUP_KEY_FILE = 'backup-key.json';

interface BackupKeyFile {
  format: 1;
  generation: number;
  threshold: number;
  count: number;
  created: string;
  /** keyCheck() of the key: shown with the shares, compared with what shares rebuild. */
  check: string;
  /** The key wrapped under the master key's wrap key (wrap.ts envelope, bound to its generation). */
  wrapped: string;
}

export interface BackupKeyInfo extends ShareSet {
  created: string;
  check: string;
}

/** Identifies a backup key without revealing it (8 bytes of an HMAC under a key derived from it). */
export function keyCheck(key: Buffer): string {
  const k = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'keyhaven/backup-check/v1', 32));
  return createHmac('sha256', k).update('keyhaven backup key check value').digest().subarray(0, 8).toString('hex');
}

const label = (generation: number) => `secret:backup-key:g${generation}`;

export function backupKeyPath(dataDir: string): string {
  return join(dataDir, BACKUP_KEY_FILE);
}

function readKeyFile(file: string): BackupKeyFile | undefined {
  if (!existsSync(file)) return undefined;
  let j: BackupKeyFile;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as BackupKeyFile;
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `the backup key file ${file} is unreadable: ${(err as Error).message}; make a new generation with \`keyhaven backup init --rekey\``);
  }
  const ok =
    j.format === 1 && Number.isInteger(j.generation) && j.generation >= 1 && Number.isInteger(j.threshold) && Number.isInteger(j.count) &&
    typeof j.check === 'string' && typeof j.wrapped === 'string' && typeof j.created === 'string';
  if (!ok) throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `the backup key file ${file} is not one this release wrote; make a new generation with \`keyhaven backup init --rekey\``);
  return j;
}

/** What the server's backup key is (undefined: none yet). */
export function backupKeyInfo(dataDir: string): BackupKeyInfo | undefined {
  const j = readKeyFile(backupKeyPath(dataDir));
  return j && { generation: j.generation, threshold: j.threshold, count: j.count, created: j.created, check: j.check };
}

/**
 * Makes the backup key (generation 1) or, with `rekey`, the next generation, and returns its share
 * lines: the only time they exist. The master key file is read to wrap the new key.
 */
export async function initBackupKey(o: { dataDir: string; masterKeyFile: string; count: number; threshold: number; rekey: boolean; now?: Date }): Promise<{ info: BackupKeyInfo; shares: string[] }> {
  checkSplit(o.count, o.threshold); // before anything is read: a bad request is told as such
  const file = backupKeyPath(o.dataDir);
  const current = readKeyFile(file);
  if (current && !o.rekey) {
    throw new KeyhavenError(ErrorCodes.BACKUP_KEY_EXISTS, `a backup key exists already (generation ${current.generation}, ${current.threshold} of ${current.count} shares, made ${current.created}); give --rekey to make generation ${current.generation + 1}`);
  }
  const generation = (current?.generation ?? 0) + 1;
  const key = randomBytes(BACKUP_KEY_BYTES);
  const master = loadMasterKey(o.masterKeyFile, { create: false });
  try {
    const shares = await splitSecret(key, { generation, threshold: o.threshold, count: o.count });
    const keys = deriveKeys(master.key);
    const info: BackupKeyInfo = { generation, threshold: o.threshold, count: o.count, created: (o.now ?? new Date()).toISOString(), check: keyCheck(key) };
    const record: BackupKeyFile = { format: 1, ...info, wrapped: wrapMaterial(keys.wrap, label(generation), 0, key).toString('base64') };
    writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, 0o600);
    return { info, shares };
  } finally {
    key.fill(0);
    master.key.fill(0);
  }
}

/** The current backup key, unwrapped with the master key (for making a backup). Zero it after use. */
export function loadBackupKey(dataDir: string, masterKeyFile: string): { key: Buffer; info: BackupKeyInfo } {
  const j = readKeyFile(backupKeyPath(dataDir));
  if (!j) throw new KeyhavenError(ErrorCodes.BACKUP_NO_KEY, `no backup key in ${dataDir}: run \`keyhaven backup init --data-dir ${dataDir}\` and give the shares to their custodians`);
  const master = loadMasterKey(masterKeyFile, { create: false });
  try {
    const key = unwrapMaterial(deriveKeys(master.key).wrap, label(j.generation), 0, Buffer.from(j.wrapped, 'base64'));
    if (keyCheck(key) !== j.check) throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `the backup key in ${backupKeyPath(dataDir)} does not match its check value`);
    return { key, info: { generation: j.generation, threshold: j.threshold, count: j.count, created: j.created, check: j.check } };
  } finally {
    master.key.fill(0);
  }
}

/**
 * Keeps a backup key rebuilt from shares (a restore), wrapped under the (restored) master key, so the
 * restored server goes on making backups of that generation.
 */
export function installBackupKey(o: { dataDir: string; masterKeyFile: string; key: Buffer; set: ShareSet; now?: Date }): void {
  const master = loadMasterKey(o.masterKeyFile, { create: false });
  try {
    const record: BackupKeyFile = {
      format: 1, generation: o.set.generation, threshold: o.set.threshold, count: o.set.count,
      created: (o.now ?? new Date()).toISOString(), check: keyCheck(o.key),
      wrapped: wrapMaterial(deriveKeys(master.key).wrap, label(o.set.generation), 0, o.key).toString('base64'),
    };
    writeFileAtomic(backupKeyPath(o.dataDir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  } finally {
    master.key.fill(0);
  }
}
