// The audit log: one record per operation, appended in the same SQLite transaction as the change it
// records. Each record carries an HMAC over the previous record's HMAC and its own fields, keyed
// with a key derived from the master key; the log's head (last sequence number and HMAC) is sealed
// the same way. Editing, removing, reordering or truncating records breaks the chain, and without
// the master key the chain cannot be recomputed. There is no setting that turns it off.
//
// Tampering must stay evident after the server starts again on the tampered store: otherwise it
// would append to the shortened chain and reseal the head over the evidence. So on opening, the
// sealed head is checked against the last record; if they disagree (records removed from the end,
// the head removed or replaced, or the whole log emptied on a store that holds objects), the next
// transaction first appends an "Audit Check" failure record describing it, chained and sealed like
// any other, and `verify` reports every such record.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { neverHeldObjects, type Db } from '../store/database.js';
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

/** Operation name of the record that reports tampering found when the log was opened. */
export const AUDIT_CHECK_OPERATION = 'Audit Check';

export class AuditLog {
  private lastSeq = 0;
  private lastMac: Buffer = GENESIS;
  private readonly insert;
  private readonly headRead;
  private readonly headWrite;
  /** Tampering found when the log was opened, not yet recorded in the chain. */
  private pendingProblem: string | undefined;
  /** The chain key, imported once rather than on every record's HMAC. */
  private readonly key: KeyObject;

  constructor(
    private readonly db: Db,
    key: Buffer,
  ) {
    this.key = createSecretKey(key);
    this.insert = db.prepare(
      'INSERT INTO audit (seq, time, identity, address, operation, object_id, result, reason, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.headRead = db.prepare("SELECT value FROM meta WHERE key = 'audit_head'");
    this.headWrite = db.prepare("INSERT INTO meta (key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    this.resync();
  }

  /** Reloads the chain's head from the database (on opening, and after a rolled-back transaction). */
  resync(): void {
    const row = this.db.prepare('SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; mac: Buffer } | undefined;
    this.lastSeq = row?.seq ?? 0;
    this.lastMac = row?.mac ?? GENESIS;
    // Records and head are committed together, so they agree unless someone edited the database.
    this.pendingProblem = this.headProblem(this.lastSeq, this.lastMac);
  }

  /** Tampering found when the log was opened that the next transaction will record, if any. */
  get startProblem(): string | undefined {
    return this.pendingProblem;
  }

  /** Adds tampering found by a check at start (rollback-guard.ts) to what the next transaction records. */
  noteStartProblem(problem: string): void {
    this.pendingProblem = this.pendingProblem === undefined ? problem : `${this.pendingProblem}; ${problem}`;
  }

  /** The chain's head as this process wrote it: committed unless a transaction is open. */
  get head(): { seq: number; mac: Buffer } {
    return { seq: this.lastSeq, mac: this.lastMac };
  }

  /** The MAC stored with record `seq` (the genesis value for 0); undefined when there is none. */
  macAt(seq: number): Buffer | undefined {
    if (seq === 0) return GENESIS;
    const row = this.db.prepare('SELECT mac FROM audit WHERE seq = ?').get(seq) as { mac: unknown } | undefined;
    return row ? (Buffer.isBuffer(row.mac) ? row.mac : Buffer.from(String(row.mac))) : undefined;
  }

  /** The last record in the database (seq 0 and the genesis value when there is none). */
  lastRecord(): { seq: number; mac: Buffer } {
    const row = this.db.prepare('SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; mac: unknown } | undefined;
    if (!row) return { seq: 0, mac: GENESIS };
    return { seq: row.seq, mac: Buffer.isBuffer(row.mac) ? row.mac : Buffer.from(String(row.mac)) };
  }

  /**
   * Re-verifies every record after `fromSeq` against `fromMac` (the MAC of record `fromSeq`, which
   * the caller trusts), to the end of the log. Returns what is wrong, or undefined.
   */
  verifyAfter(fromSeq: number, fromMac: Buffer): string | undefined {
    return this.walk(fromSeq, fromMac).problem?.text;
  }

  /**
   * Follows the chain from record `fromSeq` (whose MAC is `fromMac`) to the end: each record must
   * come next in sequence and carry the MAC of its fields chained to its predecessor's. `also` may
   * stop the walk at an authentic record (returning why). Gives the first problem, the number of
   * records verified and the last MAC.
   */
  private walk(fromSeq: number, fromMac: Buffer, also?: (record: AuditRecord) => string | undefined): {
    problem?: { seq: number; text: string };
    count: number;
    lastMac: Buffer;
  } {
    let prev = fromMac;
    let expected = fromSeq + 1;
    let count = 0;
    const rows = this.db
      .prepare('SELECT seq, time, identity, address, operation, object_id AS objectId, result, reason, mac FROM audit WHERE seq > ? ORDER BY seq')
      .iterate(fromSeq) as IterableIterator<AuditRecord & { mac: Buffer }>;
    for (const row of rows) {
      if (row.seq !== expected) return { problem: { seq: expected, text: `record ${expected} is missing (next is ${row.seq})` }, count, lastMac: prev };
      const { mac, ...record } = row;
      if (!sameKey(mac, this.mac(prev, record))) {
        return { problem: { seq: row.seq, text: `record ${row.seq} was altered, reordered, or its predecessor removed` }, count, lastMac: prev };
      }
      prev = mac;
      expected++;
      count++;
      const stop = also?.(record);
      if (stop) return { problem: { seq: row.seq, text: stop }, count, lastMac: prev };
    }
    return { count, lastMac: prev };
  }

  /**
   * The periodic check of a running log (audit-watch.ts): the last `records` records chain from
   * their predecessor, the last one is the head this process wrote, and the sealed head vouches for
   * it. Call between transactions (the head in memory is then the committed one). Returns what is
   * wrong, or undefined.
   */
  checkTail(records: number): string | undefined {
    return this.db.transaction(() => {
      const from = Math.max(0, this.lastSeq - records);
      const fromMac = this.macAt(from);
      if (!fromMac) return `record ${from} is missing`;
      const problem = this.verifyAfter(from, fromMac);
      if (problem) return problem;
      const last = this.lastRecord();
      if (last.seq !== this.lastSeq || !sameKey(last.mac, this.lastMac)) {
        return `the log ends at record ${last.seq}, but the last record this server wrote is ${this.lastSeq}: records were added or removed`;
      }
      const head = this.headRead.get() as { value: Buffer } | undefined;
      if (this.lastSeq > 0 && (!head || !sameKey(head.value, this.headSeal(this.lastSeq, this.lastMac)))) {
        return `the sealed head of the log does not vouch for record ${this.lastSeq}, the last one this server wrote`;
      }
      return undefined;
    })();
  }


  /** Why the sealed head does not vouch for a log ending at (seq, mac); undefined when it does. */
  private headProblem(seq: number, mac: Buffer): string | undefined {
    const head = this.headRead.get() as { value: Buffer } | undefined;
    if (!head) {
      if (seq === 0) {
        return neverHeldObjects(this.db) ? undefined : 'record 1 is missing: the log is empty and its sealed head is gone, but this key store holds or held objects';
      }
      return `the sealed head of the log (ending at record ${seq}) is missing`;
    }
    if (sameKey(head.value, this.headSeal(seq, mac))) return undefined;
    const sealed = Buffer.isBuffer(head.value) && head.value.length === 72 && sameKey(head.value, this.headSeal(Number(head.value.readBigUInt64BE(0)), head.value.subarray(8, 40)));
    if (sealed) {
      const headSeq = Number(head.value.readBigUInt64BE(0));
      return `the log ends at record ${seq} but its sealed head is for record ${headSeq}: records were removed from the end`;
    }
    return `the log ends at record ${seq} but its sealed head is not authentic`;
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

  /**
   * Appends a record; must run inside the caller's transaction. When `written` is given, every
   * record written is also pushed onto it (the "Audit Check" record first, when there is one).
   */
  append(entry: AuditEntry, written?: AuditRecord[]): AuditRecord {
    if (this.pendingProblem !== undefined) {
      const problem = this.pendingProblem;
      this.pendingProblem = undefined;
      const check = this.write({
        time: entry.time,
        identity: 'keyhaven',
        address: '-',
        operation: AUDIT_CHECK_OPERATION,
        objectId: '',
        result: 'failure',
        reason: `tampering found when the audit log was opened: ${problem}`,
      });
      written?.push(check);
    }
    const record = this.write(entry);
    written?.push(record);
    return record;
  }

  private write(entry: AuditEntry): AuditRecord {
    const record: AuditRecord = {
      seq: this.lastSeq + 1,
      time: entry.time,
      identity: entry.identity,
      address: entry.address,
      operation: entry.operation,
      objectId: entry.objectId,
      result: entry.result,
      reason: entry.reason,
    };
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

  /**
   * Recomputes the whole chain and the sealed head, in one read transaction: a server running on
   * the store may commit meanwhile, and records and head must come from the same snapshot.
   */
  verify(): VerifyResult {
    return this.db.transaction(() => this.verifySnapshot())();
  }

  private verifySnapshot(): VerifyResult {
    // An 'Audit Check' failure is authentic (it is chained), so the tampering it reports happened.
    const walked = this.walk(0, GENESIS, (r) =>
      r.operation === AUDIT_CHECK_OPERATION && r.result === 'failure' ? `record ${r.seq} reports ${r.reason}` : undefined,
    );
    const { count, lastMac: prev } = walked;
    if (walked.problem) return { ok: false, records: count, seq: walked.problem.seq, problem: walked.problem.text };
    const head = this.headRead.get() as { value: Buffer } | undefined;
    if (count === 0 && !head) {
      if (neverHeldObjects(this.db)) return { ok: true, records: 0 };
      return { ok: false, records: 0, seq: 1, problem: 'record 1 is missing: the log is empty and its sealed head is gone, but this key store holds or held objects' };
    }
    if (!head || !sameKey(head.value, this.headSeal(count, prev))) {
      return { ok: false, records: count, seq: count, problem: `the log ends at record ${count} but its sealed head disagrees: records were removed from the end` };
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
