// Replacing a file so that a reader, or the file system after a crash, sees the old content or the
// new, never half of one. One implementation for the PKI files, the rollback anchor and the
// appliance's settings files.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A temporary file in the same directory, created new (O_EXCL: never a file or link left there) with
 * mode 0600 from the start (a private key is never readable by others, not even briefly), written,
 * fsynced, given exactly `mode` (whatever the umask), renamed over the target; then the directory is
 * fsynced so the rename itself survives a crash.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
      fs.fchmodSync(fd, mode);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  let dirFd: number | undefined;
  try {
    dirFd = fs.openSync(dir, 'r');
    fs.fsyncSync(dirFd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (dirFd !== undefined) fs.closeSync(dirFd);
  }
}
