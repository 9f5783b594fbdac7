// Making a backup file: snapshot (snapshot.ts), tar with its manifest (backup-archive.ts), encrypted
// under the backup key (sealed-stream.ts), written to a temporary name, synced, then renamed: a file
// under the backup's name is always a whole backup.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncDir } from '../../lib/atomic-file.js';
import { processAlive } from '../../lib/process-alive.js';
import { resolvePaths, type Config } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { packArchive, type Manifest } from './backup-archive.js';
import { loadBackupKey } from './backup-key.js';
import { newHeader, SealStream } from './sealed-stream.js';
import { takeSnapshot } from './snapshot.js';
import { journalPath } from './restore-journal.js';

export interface CreatedBackup {
  file: string;
  size: number;
  sha256: string;
  generation: number;
  manifest: Manifest;
}

/**
 * A private scratch directory inside the data directory (same file system, same protection), named
 * with our pid so that one left by a killed run is known as such.
 */
export function stagingDir(dataDir: string, purpose: 'backup' | 'restore'): string {
  return mkdtempSync(join(dataDir, `.${purpose}-${process.pid}-`));
}

/** Removes staging directories of runs that were killed (not one a restore journal still needs). */
export function removeStaleStaging(dataDir: string): void {
  const journal = journalPath(dataDir);
  const needed = existsSync(journal) ? readFileSync(journal, 'utf8') : '';
  for (const name of readdirSync(dataDir)) {
    const m = /^\.(backup|restore)-(\d+)-/.exec(name);
    if (!m || processAlive(Number(m[2])) || needed.includes(name)) continue;
    rmSync(join(dataDir, name), { recursive: true, force: true });
  }
}

export async function createBackup(o: { config: Config; out: string; now?: Date }): Promise<CreatedBackup> {
  const out = resolve(o.out);
  if (existsSync(out)) throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `${out} exists already: give a new file name (a backup never overwrites one)`);
  if (!existsSync(dirname(out))) throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `the directory ${dirname(out)} does not exist`);
  const paths = resolvePaths(o.config);
  const { key, info } = loadBackupKey(o.config.dataDir, paths.masterKey);
  removeStaleStaging(o.config.dataDir);
  const staging = stagingDir(o.config.dataDir, 'backup');
  const partial = join(dirname(out), `.${basename(out)}.partial-${randomBytes(6).toString('hex')}`);
  try {
    const snap = await takeSnapshot({ paths, dataDir: o.config.dataDir, staging, generation: info.generation, include: o.config.backup?.include ?? {}, ...(o.now ? { now: o.now } : {}) });
    const header = newHeader({ generation: info.generation, keyCheck: info.check, ...(o.now ? { created: o.now } : {}) });
    // The file's SHA-256 (the SFTP upload compares it) as it is written, not by reading it back.
    const hash = createHash('sha256');
    const digest = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(packArchive(snap.manifest, snap.files), new SealStream(key, header), digest, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    const fd = openSync(partial, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existsSync(out)) throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `${out} appeared while the backup was being written: nothing was overwritten`);
    renameSync(partial, out);
    fsyncDir(dirname(out));
    return { file: out, size: statSync(out).size, sha256: hash.digest('hex'), generation: info.generation, manifest: snap.manifest };
  } catch (err) {
    if (existsSync(partial)) unlinkSync(partial);
    throw err;
  } finally {
    key.fill(0);
    rmSync(staging, { recursive: true, force: true });
  }
}
