// Restoring a backup onto a data directory that holds no key store, so that a crash at any moment
// leaves either nothing restored or a restore that the next run finishes — never a store that is
// half there and served:
//   1. the backup is decrypted, unpacked and checked in a staging directory (backup-open.ts);
//   2. still there, the store is finished: a 'Backup Restore' audit record continues its chain, its
//      store generation moves on, it starts a new mirroring change log (group-state.ts), its rollback
//      anchor and the backup key the shares rebuilt are written beside it;
//   3. a journal naming every move is written, then the files are moved into place (master key first,
//      anchor last), then the journal is removed.
// The server refuses to start while the journal exists; running the same restore again finishes it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../../lib/atomic-file.js';
import { parseConfig, resolvePaths, type Config } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { GroupState } from '../mirror/group-state.js';
import { pkiPaths } from '../pki/store.js';
import { currentState } from '../store/rollback-guard.js';
import type { BackupContents, Manifest } from './backup-archive.js';
import { backupKeyPath, BACKUP_KEY_FILE, installBackupKey } from './backup-key.js';
import { keyFromShares, openBackup, readHeader, type OpenedBackup } from './backup-open.js';
import { removeStaleStaging, stagingDir } from './backup-create.js';
import { ENTRY, EXTRA_PREFIX } from './snapshot.js';
import { journalPath } from './restore-journal.js';

export const RESTORE_OPERATION = 'Backup Restore';

export interface RestoreResult {
  manifest: Manifest;
  contents: BackupContents;
  auditSeq: number;
  mirrorLog: string | undefined;
  /** True when this run finished a restore an earlier run had begun moving into place. */
  resumed: boolean;
  /** With replace: where the store that was there now is. */
  replacedInto?: string;
  /** Where the backup's other files (configuration backup.include) were put: DATA/backup/restored-<time>/. */
  extrasInto?: string;
}

interface Journal {
  file: string;
  staging: string;
  /** [from, to], in order. */
  moves: [string, string][];
  result: Omit<RestoreResult, 'resumed'>;
}

function refused(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.BACKUP_RESTORE_REFUSED, message);
}

/** What must not exist in the target for a restore to go ahead (unless replaced). */
function occupied(config: Config): string[] {
  const paths = resolvePaths(config);
  const pki = pkiPaths(config.dataDir);
  return [paths.database, `${paths.database}-wal`, `${paths.database}-shm`, paths.masterKey, paths.anchor, pki.root, backupKeyPath(config.dataDir)].filter((p) => existsSync(p));
}

/** A path's name in the aside directory: relative to the data directory, or its base name with a marker when outside it. */
function relativeName(dataDir: string, file: string): string {
  const rel = relative(dataDir, file);
  return rel.startsWith('..') || isAbsolute(rel) ? `outside-${basename(file)}` : rel;
}

/** Processes that have any of `files` open (Linux /proc; none found elsewhere). */
function processesUsing(files: string[]): number[] {
  const wanted = new Set(files.map((f) => resolve(f)));
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  } catch {
    return [];
  }
  for (const pid of entries) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          pids.push(Number(pid));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return pids;
}

function move(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV' || statSync(from).isDirectory()) throw err;
    copyFileSync(from, to); // another file system (e.g. store.masterKeyFile elsewhere)
    fsyncDir(dirname(to));
    unlinkSync(from);
  }
  fsyncDir(dirname(to));
}

/** Moves what is still to move (a rerun finds the first moves done), then forgets the journal. */
function rollForward(dataDir: string, j: Journal): void {
  for (const [from, to] of j.moves) {
    if (existsSync(from)) move(from, to);
    else if (!existsSync(to)) throw refused(`the interrupted restore cannot be finished: ${from} and ${to} are both missing; remove ${journalPath(dataDir)} and what was restored, and restore again`);
  }
  unlinkSync(journalPath(dataDir));
  fsyncDir(dataDir);
  rmSync(j.staging, { recursive: true, force: true });
}

/**
 * `replace`: the data directory may hold a store (no process may have it open): it is moved aside
 * into DATA/.replaced-<time>/, whole, as the journal's first moves.
 */
export async function restoreBackup(o: { file: string; shares: () => Promise<string[]>; config: Config; who: string; now?: Date; replace?: boolean }): Promise<RestoreResult> {
  const file = resolve(o.file);
  const dataDir = o.config.dataDir;
  if (existsSync(journalPath(dataDir))) {
    let j: Journal;
    try {
      j = JSON.parse(readFileSync(journalPath(dataDir), 'utf8')) as Journal;
    } catch (err) {
      throw refused(`the restore journal ${journalPath(dataDir)} is unreadable (${(err as Error).message}): the interrupted restore cannot be finished; move ${dataDir} aside and restore into a new directory`);
    }
    if (j.file !== file) throw refused(`a restore of ${j.file} into ${dataDir} was interrupted: run it again with --file ${j.file} to finish it, before restoring anything else`);
    rollForward(dataDir, j);
    return { ...j.result, resumed: true };
  }
  const found = occupied(o.config);
  if (found.length > 0 && !o.replace) {
    throw refused(`${dataDir} holds a key store already (${found.join(', ')}): restore onto a new data directory, or replace it with --replace (the server stopped); nothing was changed`);
  }
  const busy = found.length > 0 ? processesUsing(found) : [];
  if (busy.length > 0) {
    throw refused(`the key store in ${dataDir} is in use by process ${busy.join(', ')} (the key server?): stop it before replacing its store; nothing was changed`);
  }
  const header = readHeader(file);
  const { key, set } = await keyFromShares(header, await o.shares());
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  removeStaleStaging(dataDir);
  const staging = stagingDir(dataDir, 'restore');
  const paths = resolvePaths(o.config);
  let journaled = false;
  try {
    const opened = await openBackup(file, key, staging);
    const storeDir = join(staging, 'store');
    const stamp = (o.now ?? new Date()).toISOString().replace(/[:.]/g, '');
    const aside = join(dataDir, `.replaced-${stamp}`);
    const extras = existsSync(join(staging, EXTRA_PREFIX)) ? join(dataDir, 'backup', `restored-${stamp}`) : undefined;
    const { auditSeq, mirrorLog } = await finishStagedStore(storeDir, opened, file, o.who, o.now ?? new Date(), found.length > 0 ? aside : undefined);
    installBackupKey({ dataDir: storeDir, masterKeyFile: join(storeDir, 'master.key'), key, set });
    // The master key first (a store without its key is useless, a key without its store harmless),
    // the anchor last (it vouches for the store, which must be in place before it).
    // Replacing: what is there now is moved aside first, whole, never deleted.
    const moves: [string, string][] = [
      ...found.map((f) => [f, join(aside, relativeName(dataDir, f))] as [string, string]),
      [join(staging, ENTRY.masterKey), paths.masterKey],
      [join(staging, ENTRY.store), paths.database],
      ...(existsSync(join(staging, 'pki')) ? [[join(staging, 'pki'), pkiPaths(dataDir).root] as [string, string]] : []),
      [join(storeDir, BACKUP_KEY_FILE), backupKeyPath(dataDir)],
      ...(extras ? [[join(staging, EXTRA_PREFIX), extras] as [string, string]] : []),
      [join(storeDir, 'keyhaven.anchor'), paths.anchor],
    ];
    const result = { manifest: opened.manifest, contents: opened.contents, auditSeq, mirrorLog, ...(found.length > 0 ? { replacedInto: aside } : {}), ...(extras ? { extrasInto: extras } : {}) };
    writeFileAtomic(journalPath(dataDir), `${JSON.stringify({ file, staging, moves, result } satisfies Journal)}\n`, 0o600);
    journaled = true;
    rollForward(dataDir, { file, staging, moves, result });
    return { ...result, resumed: false };
  } finally {
    key.fill(0);
    // Once journaled, the staging directory holds what the journal moves: a rerun needs it.
    if (!journaled || !existsSync(journalPath(dataDir))) rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * In the staging directory: the restore's audit record, a new store generation and mirroring log,
 * the WAL folded into the database file, and the anchor written beside it.
 */
async function finishStagedStore(storeDir: string, b: OpenedBackup, file: string, who: string, now: Date, replacedInto?: string): Promise<{ auditSeq: number; mirrorLog: string | undefined }> {
  const { openStore } = await import('../server.js');
  const s = openStore(parseConfig({ dataDir: storeDir }, 'the restore'), { create: false });
  let mirrorLog: string | undefined;
  let seq = 0;
  try {
    const rows = s.store.digest.recompute();
    const generation = s.store.digest.read().generation + 1;
    const m = b.manifest;
    s.db.pragma('synchronous = FULL');
    s.db.transaction(() => {
      s.store.digest.reset({ generation, rows: rows.rows, digest: rows.digest });
      mirrorLog = new GroupState(s.db, s.store).restarted();
      const reason =
        `${who} restored the backup ${file} made ${m.created} on ${m.source.host} by Keyhaven ${m.keyhaven} (backup-key generation ${m.generation}): ` +
        `${b.contents.objects} objects, audit records 1-${b.contents.auditRecords}` +
        (mirrorLog ? `; mirroring continues in group ${b.contents.mirror?.group} as server ${b.contents.mirror?.node} with a new change log ${mirrorLog}` : '') +
        (replacedInto ? `; the store it replaced was moved to ${replacedInto}` : '');
      seq = s.audit.append({ time: now.toISOString(), identity: 'keyhaven', address: '-', operation: RESTORE_OPERATION, objectId: '', result: 'success', reason }).seq;
      s.audit.sealHead();
    })();
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    s.anchor.writeSync(currentState(s));
  } finally {
    s.db.close();
  }
  for (const side of ['-wal', '-shm']) {
    const f = join(storeDir, `keyhaven.db${side}`);
    if (existsSync(f) && side === '-wal' && statSync(f).size > 0) throw new Error(`bug: ${f} still holds ${statSync(f).size} bytes after the checkpoint`);
    rmSync(f, { force: true });
  }
  return { auditSeq: seq, mirrorLog };
}
