// The appliance administration audit log: every request the privileged helper handles, in its own
// SQLite file with the key server's AuditLog machinery (HMAC chain, sealed head). It is separate
// because the running key server holds its log's head in memory: a second writer would fork the
// chain. The chain key is derived from the master key (HKDF, its own label), so verifying needs the
// master key exactly like the key server's log, and records cannot be spliced between the two.
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hkdfSync as hkdf } from 'node:crypto';
import { AuditLog, openDatabase, type AuditEntry, type AuditRecord, type Db, type VerifyResult } from '../../server/index.js';
import { readMasterKey } from './data-owner.js';
import type { AppliancePaths } from './paths.js';

export const LOG_CREATED = 'Administration Log Created';

/**
 * The chain key of the administration log. The master key is read without following a link (the
 * key server's account owns its directory); a missing one is made beforehand by ensureMasterKey.
 */
function chainKey(paths: AppliancePaths): Buffer {
  const key = readMasterKey(paths);
  const derived = Buffer.from(hkdf('sha256', key, Buffer.alloc(0), 'keyhaven/admin-audit/v1', 32));
  key.fill(0);
  return derived;
}

export class AdminAuditLog {
  private constructor(
    private readonly db: Db,
    private readonly log: AuditLog,
  ) {}

  /**
   * Opens (creating on first use) the log. `create: false` refuses a missing log. The master key must
   * exist (data-owner.ts ensureMasterKey makes it, as the key server's account).
   */
  static open(paths: AppliancePaths, options: { create: boolean } = { create: true }): AdminAuditLog {
    if (options.create) mkdirSync(paths.adminAuditDir, { recursive: true, mode: 0o755 });
    const key = chainKey(paths);
    const { db, created } = openDatabase(paths.adminAudit, { create: options.create });
    db.pragma('synchronous = FULL'); // each record is on disk before the helper answers
    db.pragma('busy_timeout = 5000');
    const self = new AdminAuditLog(db, new AuditLog(db, key));
    key.fill(0);
    // The first record is written with the file, so an emptied log never verifies as a new one.
    if (created) self.append({ identity: 'keyhaven-admin', address: '-', operation: LOG_CREATED, objectId: '', result: 'success', reason: '' });
    return self;
  }

  static exists(paths: AppliancePaths): boolean {
    return existsSync(paths.adminAudit);
  }

  append(entry: Omit<AuditEntry, 'time'> & { time?: string }): AuditRecord {
    const write = this.db.transaction(() => {
      const r = this.log.append({ ...entry, time: entry.time ?? new Date().toISOString() });
      this.log.sealHead();
      return r;
    });
    try {
      return write();
    } catch (err) {
      this.log.resync();
      throw err;
    }
  }

  /**
   * Replaces `file` with a consistent copy of the log (VACUUM INTO, then rename), readable by the key
   * server, whose backups carry it: the log itself is root's and is being written. Its records hold no
   * secret, and its chain is keyed from the master key, so a copy can be verified, not forged.
   */
  copyForBackup(file: string): void {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    chmodSync(dirname(file), 0o755); // the helper's and the wizard's UMask (0077) would leave it root's only
    const temp = join(dirname(file), `.${process.pid}.partial`);
    rmSync(temp, { force: true });
    try {
      this.db.prepare('VACUUM INTO ?').run(temp);
      chmodSync(temp, 0o644);
      renameSync(temp, file);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  verify(): VerifyResult {
    const r = this.log.verify();
    if (r.ok && r.records === 0) return { ok: false, records: 0, seq: 1, problem: `record 1 (${LOG_CREATED}) is missing: the log was emptied` };
    return r;
  }

  tail(n: number): AuditRecord[] {
    return this.log.tail(n);
  }

  close(): void {
    this.db.close();
  }
}
