// Opening a backup file: its header read, the custodians' shares combined and checked against the
// generation and key check value the header names (so wrong shares are told apart from a damaged
// file), then decrypted and unpacked into a private staging directory, and the store inside checked
// as the server would check it (master key matches, audit chain intact, rows match the sealed
// digest). Nothing outside the staging directory is touched.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseConfig } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { sameKey } from '../store/master-key.js';
import { unpackArchive, type BackupContents, type Manifest } from './backup-archive.js';
import { keyCheck } from './backup-key.js';
import { OpenStream, peekHeader, type BackupHeader } from './sealed-stream.js';
import { combineShares, type ShareSet } from './shares.js';
import { describeStore, ENTRY } from './snapshot.js';

/** The header of a backup file, read without any key. */
export function readHeader(file: string): BackupHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `cannot read the backup file ${file}: ${(err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(64 * 1024 + 13);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return peekHeader(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** The backup key the shares rebuild, refused unless it is the one `header` was made with. */
export async function keyFromShares(header: BackupHeader, lines: string[]): Promise<{ key: Buffer; set: ShareSet }> {
  const { secret, set } = await combineShares(lines);
  if (set.generation !== header.generation) {
    secret.fill(0);
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_SHARES, `this backup needs the shares of backup-key generation ${header.generation}; the shares given are of generation ${set.generation}`);
  }
  const check = keyCheck(secret);
  if (check !== header.keyCheck) {
    secret.fill(0);
    throw new KeyhavenError(
      ErrorCodes.BACKUP_BAD_SHARES,
      `the shares do not rebuild the backup key of generation ${header.generation} (they give check value ${check}, the file needs ${header.keyCheck}): one of them is wrong; compare each with its custodian's copy`,
    );
  }
  return { key: secret, set };
}

export interface OpenedBackup {
  header: BackupHeader;
  manifest: Manifest;
  /** Recounted from the store copy (equal to the manifest's, or the backup is refused). */
  contents: BackupContents;
  /** Audit records verified in the chain. */
  auditVerified: number;
  /** The unpacked parts: `dir`/store/keyhaven.db, `dir`/store/master.key, `dir`/pki/… */
  dir: string;
}

/** Decrypts and unpacks `file` into `staging` (new, private) and checks what it holds. */
export async function openBackup(file: string, key: Buffer, staging: string): Promise<OpenedBackup> {
  const header = readHeader(file);
  const open = new OpenStream(() => key);
  // Both must succeed: the file read and decrypted to its last chunk (whose tag is checked at the
  // end), and the archive unpacked and matched against its manifest.
  const [fed, unpacked] = await Promise.allSettled([pipeline(createReadStream(file), open), unpackArchive(open, staging)]);
  const errors = [unpacked, fed].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0 || unpacked.status !== 'fulfilled') throw errors.find((e) => e instanceof KeyhavenError) ?? errors[0];
  const manifest = unpacked.value;
  if (manifest.generation !== header.generation) throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the backup's manifest names generation ${manifest.generation}, its header ${header.generation}`);
  for (const need of [ENTRY.store, ENTRY.masterKey]) {
    if (!manifest.entries.some((e) => e.path === need)) throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the backup holds no ${need}`);
  }
  const { auditVerified } = await checkStoreCopy(join(staging, 'store'));
  const contents = describeStore(join(staging, ENTRY.store), staging);
  if (contents.objects !== manifest.contents.objects || contents.auditRecords !== manifest.contents.auditRecords) {
    throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the store in the backup holds ${contents.objects} objects and ${contents.auditRecords} audit records; its manifest says ${manifest.contents.objects} and ${manifest.contents.auditRecords}`);
  }
  return { header, manifest, contents, auditVerified, dir: staging };
}

/** Opens a store copy (keyhaven.db and master.key in `dir`) as the server would and checks it. */
async function checkStoreCopy(dir: string): Promise<{ auditVerified: number }> {
  const { openStore } = await import('../server.js');
  let opened: ReturnType<typeof openStore>;
  try {
    opened = openStore(parseConfig({ dataDir: dir }, 'the backup'), { create: false });
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the key store in the backup cannot be opened with the master key in it: ${(err as Error).message}`);
  }
  try {
    const audit = opened.audit.verify();
    if (!audit.ok) throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the audit log in the backup is not intact: ${audit.problem}`);
    const sealed = opened.store.digest.read();
    const actual = opened.store.digest.recompute();
    if (sealed.rows !== actual.rows || !sameKey(sealed.digest, actual.digest)) {
      throw new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, `the object rows in the backup do not match their sealed digest (${actual.rows} rows, the digest covers ${sealed.rows})`);
    }
    return { auditVerified: audit.records };
  } finally {
    opened.db.close();
  }
}
