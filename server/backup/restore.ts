// Restoring a backup onto a data directory that holds no key store. Everything is decrypted,
// unpacked and checked in a staging directory first (backup-open.ts); only then are the master key,
// the store and the PKI moved into place. The restored store continues its audit chain with a
// 'Backup Restore' record, moves its store generation on, starts a new mirroring change log
// (group-state.ts), is anchored (rollback-guard.ts), and keeps the backup key the shares rebuilt.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fsyncDir } from '../../lib/atomic-file.js';
import { resolvePaths, type Config } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { GroupState } from '../mirror/group-state.js';
import { pkiPaths } from '../pki/store.js';
import { currentState } from '../store/rollback-guard.js';
import { backupKeyPath, installBackupKey } from './backup-key.js';
import { openBackup, keyFromShares, readHeader, type OpenedBackup } from './backup-open.js';
import { stagingDir } from './backup-create.js';
import { ENTRY } from './snapshot.js';

export const RESTORE_OPERATION = 'Backup Restore';

export interface RestoreResult {
  opened: Omit<OpenedBackup, 'dir'>;
  auditSeq: number;
  mirrorLog: string | undefined;
}

function refused(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.BACKUP_RESTORE_REFUSED, message);
}

/** What must not exist in the target for a restore to go ahead. */
function occupied(config: Config): string[] {
  const paths = resolvePaths(config);
  const pki = pkiPaths(config.dataDir);
  return [paths.database, `${paths.database}-wal`, paths.masterKey, paths.anchor, pki.root, backupKeyPath(config.dataDir)].filter((p) => existsSync(p));
}

function move(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to); // another file system (e.g. store.masterKeyFile elsewhere)
  }
  fsyncDir(dirname(to));
}

export async function restoreBackup(o: { file: string; shares: string[]; config: Config; who: string; now?: Date }): Promise<RestoreResult> {
  const file = resolve(o.file);
  const found = occupied(o.config);
  if (found.length > 0) {
    throw refused(`${o.config.dataDir} holds a key store already (${found.join(', ')}): restore onto a new data directory; nothing was changed`);
  }
  const header = readHeader(file);
  const { key, set } = await keyFromShares(header, o.shares);
  mkdirSync(o.config.dataDir, { recursive: true, mode: 0o700 });
  const staging = stagingDir(o.config.dataDir, 'restore');
  const paths = resolvePaths(o.config);
  try {
    const opened = await openBackup(file, key, staging);
    // Checked and complete: now into place, the master key first (a store without its key is useless,
    // a key without its store harmless).
    move(join(staging, ENTRY.masterKey), paths.masterKey);
    move(join(staging, ENTRY.store), paths.database);
    if (existsSync(join(staging, 'pki'))) move(join(staging, 'pki'), pkiPaths(o.config.dataDir).root);
    const { auditSeq, mirrorLog } = await recordRestore(o.config, opened, file, o.who, o.now ?? new Date());
    installBackupKey({ dataDir: o.config.dataDir, masterKeyFile: paths.masterKey, key, set });
    const { dir: _dir, ...rest } = opened;
    return { opened: rest, auditSeq, mirrorLog };
  } finally {
    key.fill(0);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The restore's audit record, a new store generation and mirroring log, synced, then anchored. */
async function recordRestore(config: Config, b: OpenedBackup, file: string, who: string, now: Date): Promise<{ auditSeq: number; mirrorLog: string | undefined }> {
  const { openStore } = await import('../server.js');
  const s = openStore(config, { create: false });
  try {
    const rows = s.store.digest.recompute();
    const generation = s.store.digest.read().generation + 1;
    const m = b.manifest;
    let mirrorLog: string | undefined;
    let seq = 0;
    s.db.pragma('synchronous = FULL'); // on disk before the anchor names it
    s.db.transaction(() => {
      s.store.digest.reset({ generation, rows: rows.rows, digest: rows.digest });
      mirrorLog = new GroupState(s.db, s.store).restarted();
      const reason =
        `${who} restored the backup ${file} made ${m.created} on ${m.source.host} by Keyhaven ${m.keyhaven} (backup-key generation ${m.generation}): ` +
        `${b.contents.objects} objects, audit records 1-${b.contents.auditRecords}` +
        (mirrorLog ? `; mirroring continues in group ${b.contents.mirror?.group} as server ${b.contents.mirror?.node} with a new change log ${mirrorLog}` : '');
      seq = s.audit.append({ time: now.toISOString(), identity: 'keyhaven', address: '-', operation: RESTORE_OPERATION, objectId: '', result: 'success', reason }).seq;
      s.audit.sealHead();
    })();
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    s.anchor.writeSync(currentState(s));
    return { auditSeq: seq, mirrorLog };
  } finally {
    s.db.close();
  }
}
