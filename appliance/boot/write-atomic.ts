// Replacing a file so a reader sees the old or the new content, never half of one. Used as root for
// files in root's directories (/etc, /var/lib/keyhaven-appliance); never in the key server's.
import { closeSync, constants, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a temporary file in the same directory, then renames it over `path`. The temporary file is
 * new (O_EXCL, never a link left there) and gets exactly `mode`: the helper runs with umask 0077,
 * which would otherwise make e.g. the key server's configuration or the admin's authorized keys
 * unreadable to the accounts that read them.
 */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true }); // a leftover of a killed run with this pid
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
