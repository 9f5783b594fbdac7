// Replacing a file so that a reader, or the file system after a crash, sees the old content or the
// new, never half of one. One implementation for the PKI files, the rollback anchor and the
// appliance's settings files.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * The temporary file is created new: O_EXCL refuses any file or link already there (a planted
 * symlink included), O_NOFOLLOW says so outright. Mode 0600 from the start: a private key is never
 * readable by others, not even briefly.
 */
const TEMP_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

const tempName = (file: string) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

/**
 * A temporary file in the same directory (TEMP_FLAGS), written, given exactly `mode` (whatever the
 * umask), fsynced (the mode with the data), renamed over the target; then the directory is fsynced
 * so the rename itself survives a crash.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, TEMP_FLAGS, 0o600);
  try {
    try {
      fs.writeFileSync(fd, data);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    fsyncDir(path.dirname(file));
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}

/** The same on libuv's thread pool: the event loop never waits for the disk. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = tempName(file);
  const f = await fsp.open(tmp, TEMP_FLAGS, 0o600);
  try {
    try {
      await f.writeFile(data);
      await f.chmod(mode);
      await f.sync();
    } finally {
      await f.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  try {
    const d = await fsp.open(path.dirname(file), fs.constants.O_RDONLY);
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // As writeFileAtomic: the rename is atomic even where a directory cannot be fsynced.
  }
}

/** Makes a directory's entries (a file created or renamed in it) durable; throws when it cannot. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
