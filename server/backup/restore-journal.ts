// The journal of a restore moving files into place (restore.ts): while it exists the data directory
// holds a restore that is not finished, and the server refuses to start on it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RESTORE_JOURNAL = '.restore-journal.json';

export const journalPath = (dataDir: string) => join(dataDir, RESTORE_JOURNAL);

/** Why the server must not start on `dataDir` (undefined: no interrupted restore). */
export function interruptedRestore(dataDir: string): string | undefined {
  const p = journalPath(dataDir);
  if (!existsSync(p)) return undefined;
  let file = 'the backup';
  try {
    file = (JSON.parse(readFileSync(p, 'utf8')) as { file: string }).file;
  } catch {
    /* unreadable: the message still says what to do */
  }
  return `a restore of ${file} into ${dataDir} was interrupted (${p} exists): run \`keyhaven backup restore --file ${file}\` on the same data directory again to finish it`;
}
