// Read access to the key server's store (object count, its audit log) from the helper. SQLite may
// create the -wal/-shm files when it opens the store, as root: they are handed back to the owner.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { AuditLog } from '../../server/audit/audit-log.js';
import { openDatabase, type Db } from '../../server/store/database.js';
import { deriveKeys, loadMasterKey } from '../../server/store/master-key.js';
import { giveBackToOwner } from './data-dir.js';
import type { AppliancePaths } from './paths.js';

export const storePath = (paths: AppliancePaths): string => join(paths.dataDir, 'keyhaven.db');

export function withServerStore<T>(paths: AppliancePaths, fn: (db: Db, audit: AuditLog) => T): T {
  const file = storePath(paths);
  if (!existsSync(file)) throw new KeyhavenError(ErrorCodes.STORE_MISSING, `the key store ${file} does not exist yet: the key server creates it when it first starts`);
  const master = loadMasterKey(join(paths.dataDir, 'master.key'), { create: false });
  const keys = deriveKeys(master.key);
  master.key.fill(0);
  const { db } = openDatabase(file, { create: false });
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db, new AuditLog(db, keys.audit));
  } finally {
    db.close();
    giveBackToOwner(paths.dataDir);
  }
}
