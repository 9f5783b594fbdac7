// The helper runs as root but the key server's data directory belongs to its account: whatever the
// helper creates there (PKI files, SQLite -wal/-shm of a store it read) is handed back to that owner,
// or the key server could no longer read or write it.
import { chownSync, existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function giveBackToOwner(dataDir: string, sub?: string): void {
  if (!existsSync(dataDir)) return;
  const { uid, gid } = statSync(dataDir);
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.uid !== uid || st.gid !== gid) chownSync(p, uid, gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(sub ? join(dataDir, sub) : dataDir);
}
