// Replacing a file so a reader sees the old or the new content, never half of one. Used as root for
// files in root's directories (/etc, /var/lib/keyhaven-appliance); never in the key server's.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';

/**
 * Creates the directory if needed, then replaces `path` atomically with exactly `mode`: the helper
 * runs with umask 0077, which would otherwise make e.g. the key server's configuration or the
 * admin's authorized keys unreadable to the accounts that read them.
 */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text, mode);
}
