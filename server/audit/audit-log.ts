// The audit log: one record per operation, appended in the same SQLite transaction as the change it
// records. Each record carries an HMAC over the previous record's HMAC and its own fields, keyed
// with a key derived from the master key; the log's head (last sequence number and HMAC) is sealed
// the same way. Editing, removing, reordering or truncating records breaks the chain, and without
// the master key the chain cannot be recomputed. There is no setting that turns it off.
import { createHmac } from 'node:crypto';
import type { Db } from '../store/database.js';
import { sameKey } from '../store/master-key.js';

export interface AuditEntry {
  /** ISO 8601 UTC with milliseconds. */
  time: string;
  identity: string;
  address: string;
  operation: string;
  objectId: string;
  result: string;
  reason: string;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
}

export type VerifyResult =
  | { ok: true; records: number }
  | { ok: false; records: number; seq: number; problem: string };

const GENESIS = Buffer.alloc(32);

export class AuditLog {
  private lastSeq = 0;
  private lastMac: Buffer = GENESIS;
  private readonly insert;
  private readonly headRead;
  private readonly headWrite;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {
    this.insert = db.prepare(
      'INSERT INTO audit (seq, time, identity, address, operation, object_id, result, reason, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.headRead = db.prepare("SELECT value FROM meta WHERE key = 'audit_head'");
    this.headWrite = db.prepare("INSERT INTO meta (key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    this.resync();
  }

  /** Reloads the chain's head from the database (after a rolled-back transaction). */
  resync(): void {
    const row = this.db.prepare('SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; mac: Buffer } | undefined;
    this.lastSeq = row?.seq ?? 0;
    this.lastMac = row?.mac ?? GENESIS;
  }

  private mac(prev: Buffer, r: AuditRecord): Buffer {
    const fields = [r.seq, r.time, r.identity, r.address, r.operation, r.objectId, r.result, r.reason];
    return createHmac('sha256', this.key).update(prev).update(JSON.stringify(fields)).digest();
  }

  private headSeal(seq: number, mac: Buffer): Buffer {
    const seal = createHmac('sha256', this.key).update('audit-head').update(String(seq)).update(mac).digest();
    const out = Buffer.alloc(8 + 32 + 32);
    out.writeBigUInt64BE(BigInt(seq));
    mac.copy(out, 8);
    seal.copy(out, 40);
    return out;
  }

  /** Appends a record; must run inside the caller's transaction. */
  append(entry: AuditEntry): AuditRecord {
    const record = { seq: this.lastSeq + 1, ...entry };
    const mac = this.mac(this.lastMac, record);
    this.insert.run(record.seq, record.time, record.identity, record.address, record.operation, record.objectId, record.result, record.reason, mac);
    this.lastSeq = record.seq;
    this.lastMac = mac;
    return record;
  }

  /** Seals the current head; called once per transaction, after its appends. */
  sealHead(): void {
    this.headWrite.run(this.headSeal(this.lastSeq, this.lastMac));
  }

  /** Recomputes the whole chain and the sealed head. */
  verify(): VerifyResult {
    let prev: Buffer = GENESIS;
    let expected = 1;
    let count = 0;
    const rows = this.db
      .prepare('SELECT seq, time, identity, address, operation, object_id AS objectId, result, reason, mac FROM audit ORDER BY seq')
      .iterate() as IterableIterator<AuditRecord & { mac: Buffer }>;
    for (const row of rows) {
      if (row.seq !== expected) {
        return { ok: false, records: count, seq: expected, problem: `record ${expected} is missing (next is ${row.seq})` };
      }
      const { mac, ...record } = row;
      if (!sameKey(mac, this.mac(prev, record))) {
        return { ok: false, records: count, seq: row.seq, problem: `record ${row.seq} was altered, reordered, or its predecessor removed` };
      }
      prev = mac;
      expected++;
      count++;
    }
    const head = this.headRead.get() as { value: Buffer } | undefined;
    if (count > 0 || head) {
      if (!head || !sameKey(head.value, this.headSeal(count, prev))) {
        return { ok: false, records: count, seq: count, problem: `the log ends at record ${count} but its sealed head disagrees: records were removed from the end` };
      }
    }
    return { ok: true, records: count };
  }

  /** The most recent records, oldest first. */
  tail(n: number): AuditRecord[] {
    const rows = this.db
      .prepare('SELECT seq, time, identity, address, operation, object_id AS objectId, result, reason FROM audit ORDER BY seq DESC LIMIT ?')
      .all(n) as AuditRecord[];
    return rows.reverse();
  }
}
