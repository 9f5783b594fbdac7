// Rollback detection: the checks at start that compare the database with its anchor (anchor.ts) and
// with its sealed digest (store-digest.ts), and the keeper that moves the anchor forward while the
// server runs.
//
// At start the store is refused (STORE_ROLLBACK) when
//   - the anchor is missing and the store is not brand new (deleting it would otherwise disarm the
//     check), or it is not authentic, or it belongs to another store;
//   - the audit log ends before the anchored record, or its record at that seq carries another MAC
//     (a shorter or forked history: an older copy of the file or of its -wal, a removed -wal);
//   - the store generation is behind the anchored one (rows rolled back with the sealed digest);
//   - the rows do not add up to the sealed digest (rows spliced in from an older copy, or removed).
// Records after the anchored one that do not chain from it are tampering, not a rollback: they are
// recorded as an 'Audit Check' failure, as the audit log does for what it finds when opened.
//
// The anchor only ever names state that is already on disk: the keeper captures the head and the
// generation between transactions, waits until the WAL holding them is fsynced (WalDurability), and
// only then writes. So a crash never leaves an anchor ahead of the database (no false alarm), and
// the anchor lags the newest durable state by at most one period (1 s) plus one fsync and its own
// write. Writes happen on the thread pool, once per period and only when something changed.
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import { shortMac, type AnchorFile, type AnchorState } from './anchor.js';
import { neverHeldObjects, type Db } from './database.js';
import type { WalDurability } from './durability.js';
import type { KeyStore } from './key-store.js';
import { sameKey } from './master-key.js';
import type { DigestState } from './store-digest.js';

/** How often the anchor follows the store. */
export const ANCHOR_PERIOD_MS = 1000;

/** Records re-verified at start below the anchored one (the running server checks its tail too). */
const START_TAIL_RECORDS = 1000;

export interface Inspection {
  anchor: AnchorState | undefined;
  database: { auditSeq: number; auditMac: Buffer; digest: DigestState | undefined; rows: number };
  /** A store that never held an object nor wrote an audit record. */
  pristine: boolean;
  /** Why the store may not be served; empty when it agrees with its anchor and digest. */
  problems: string[];
  /** Tampering with records after the anchored one: recorded in the log, not a reason to refuse. */
  tampering: string | undefined;
}

export interface GuardedStore {
  db: Db;
  store: KeyStore;
  audit: AuditLog;
  anchor: AnchorFile;
}

/**
 * Compares the database with its anchor and its digest. Reads only; safe while a server runs on the
 * store (`keyhaven audit verify`): the anchor is read first — it only names state already on disk —
 * and the database in one read transaction, a snapshot at least as new.
 */
export function inspectStore(s: GuardedStore): Inspection {
  const problems: string[] = [];
  let anchor: AnchorState | undefined;
  let anchorInvalid = false;
  try {
    anchor = s.anchor.read();
  } catch (err) {
    if ((err as KeyhavenError).code !== ErrorCodes.STORE_ROLLBACK) throw err;
    problems.push((err as Error).message);
    anchorInvalid = true;
  }
  return s.db.transaction(() => inspectDatabase(s, anchor, anchorInvalid, problems))();
}

function inspectDatabase(s: GuardedStore, anchor: AnchorState | undefined, anchorInvalid: boolean, problems: string[]): Inspection {
  const head = s.audit.lastRecord();
  let digest: DigestState | undefined;
  try {
    digest = s.store.digest.read();
  } catch (err) {
    if ((err as KeyhavenError).code !== ErrorCodes.STORE_ROLLBACK) throw err;
    problems.push((err as Error).message);
  }
  const actual = s.store.digest.recompute();
  if (digest && (digest.rows !== actual.rows || !sameKey(digest.digest, actual.digest))) {
    problems.push(
      `the object rows do not match the store digest (${actual.rows} rows, the digest covers ${digest.rows}): rows were replaced or removed outside Keyhaven, e.g. an older version of an object put back from a copy`,
    );
  }
  const pristine = head.seq === 0 && actual.rows === 0 && neverHeldObjects(s.db) && (digest?.generation ?? 0) === 0;
  const storeId = s.store.digest.storeId()?.toString('hex');
  let tailFrom = Math.max(0, head.seq - START_TAIL_RECORDS);
  if (!anchor && !anchorInvalid && !pristine) {
    problems.push(
      `the anchor file ${s.anchor.path} is missing, but this key store is not new (${head.seq} audit records, ${actual.rows} objects): the anchor was deleted or the store was copied here without it` +
        (digest ? '' : '; or the store was last run by a Keyhaven without rollback detection'),
    );
  }
  if (anchor) {
    const anchorPristine = anchor.auditSeq === 0 && anchor.generation === 0;
    const at = `the anchor written at ${anchor.time}`;
    if (storeId && anchor.storeId !== storeId && !anchorPristine) {
      problems.push(`${at} belongs to another key store (store ${anchor.storeId}; this one is ${storeId})`);
    } else if (head.seq < anchor.auditSeq) {
      problems.push(
        `the audit log ends at record ${head.seq}, but ${at} vouches for record ${anchor.auditSeq}: the database is older than the state Keyhaven last had on disk (an older copy of it or of its -wal file was put back, or its -wal file was removed)`,
      );
    } else {
      const mac = s.audit.macAt(anchor.auditSeq);
      if (!mac || !sameKey(mac, anchor.auditMac)) {
        problems.push(
          `audit record ${anchor.auditSeq} (${mac ? shortMac(mac) : 'missing'}) is not the one ${at} vouches for (${shortMac(anchor.auditMac)}): the log was replaced by another history`,
        );
      } else {
        tailFrom = Math.min(tailFrom, anchor.auditSeq);
      }
    }
    if (digest && digest.generation < anchor.generation) {
      problems.push(
        `the store generation ${digest.generation} is behind the anchored generation ${anchor.generation}: object rows were rolled back together with the sealed digest`,
      );
    }
  }
  let tampering: string | undefined;
  if (problems.length === 0) {
    const fromMac = s.audit.macAt(tailFrom);
    tampering = fromMac ? s.audit.verifyAfter(tailFrom, fromMac) : `record ${tailFrom} is missing`;
  }
  return { anchor, database: { auditSeq: head.seq, auditMac: head.mac, digest, rows: actual.rows }, pristine, problems, tampering };
}

/** "audit record 12 0a1b2c3d4e5f, store generation 7": one side of a comparison. */
export function describeHead(seq: number, mac: Buffer, generation: number | undefined): string {
  return `audit record ${seq} ${shortMac(mac)}, store generation ${generation ?? 'unknown (no sealed digest)'}`;
}

/** Both heads, one per line, for messages and the command line. */
export function describeHeads(i: Inspection): string {
  const anchor = i.anchor
    ? `${describeHead(i.anchor.auditSeq, i.anchor.auditMac, i.anchor.generation)} (written ${i.anchor.time})`
    : 'none (no authentic anchor file)';
  const db = `${describeHead(i.database.auditSeq, i.database.auditMac, i.database.digest?.generation)}, ${i.database.rows} objects`;
  return `  anchor:   ${anchor}\n  database: ${db}`;
}

/** Refuses a rolled-back store (STORE_ROLLBACK, naming what disagrees and what to do). */
export function checkRollback(s: GuardedStore, databasePath: string): Inspection {
  const i = inspectStore(s);
  if (i.problems.length > 0) {
    throw new KeyhavenError(
      ErrorCodes.STORE_ROLLBACK,
      [
        `the key store ${databasePath} is older than its rollback anchor ${s.anchor.path}, or was changed outside Keyhaven; it is not served:`,
        ...i.problems.map((p) => `  - ${p}`),
        describeHeads(i),
        `If nobody restored it on purpose, put the current ${databasePath} (with its -wal file) back, e.g. from the newest backup, and start again.`,
        'If you restored an older store on purpose, run `keyhaven store accept-rollback (--config FILE | --data-dir DIR) --yes`: its keys become current as they are in this copy (a key revoked since may be active again), and the acceptance is recorded in the audit log.',
      ].join('\n'),
    );
  }
  if (i.tampering) s.audit.noteStartProblem(i.tampering);
  return i;
}

/** The state to anchor: the store as committed now. Call between transactions. */
export function currentState(s: GuardedStore, generation = s.store.digest.read().generation): AnchorState {
  const head = s.audit.head;
  const id = s.store.digest.storeId();
  if (!id) throw new KeyhavenError(ErrorCodes.STORE_ROLLBACK, 'the store identifier is missing from the database: it was removed outside Keyhaven');
  return { storeId: id.toString('hex'), auditSeq: head.seq, auditMac: head.mac, generation, time: new Date().toISOString() };
}

/**
 * A store just created (no anchor file yet) gets its first anchor at once, so that a store filled
 * offline (test/bench/fill.ts) is not taken for one whose anchor was deleted. The new database is
 * checkpointed (synced) first: the anchor must never name a store that is not on disk.
 */
export function anchorNewStore(s: GuardedStore): void {
  try {
    if (s.anchor.read() !== undefined) return; // an anchor of an earlier store: the start check decides
  } catch {
    return; // not readable or not authentic: the start check reports it
  }
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  s.anchor.writeSync(currentState(s));
}

export interface KeeperOptions extends GuardedStore {
  durability: WalDurability;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Tampering seen in the live database (reported once by the caller, in the audit log). */
  onProblem: (problem: string) => void;
  periodMs?: number;
}

/** Moves the anchor forward while the server runs (see the top of this file). */
export class AnchorKeeper {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private last: { seq: number; generation: number };

  constructor(
    private readonly o: KeeperOptions,
    anchored: AnchorState,
  ) {
    this.last = { seq: anchored.auditSeq, generation: anchored.generation };
  }

  /**
   * At start, once the checks passed: anchors the state found (after an fsync of everything written
   * so far), then follows the store.
   */
  static async start(o: KeeperOptions): Promise<AnchorKeeper> {
    await new Promise<void>((resolve, reject) => o.durability.whenDurable(o.durability.noteCommit(), (err) => (err ? reject(err) : resolve())));
    const state = currentState(o);
    o.anchor.writeSync(state);
    const keeper = new AnchorKeeper(o, state);
    keeper.timer = setInterval(() => keeper.tick(), o.periodMs ?? ANCHOR_PERIOD_MS);
    keeper.timer.unref();
    return keeper;
  }

  /** The state committed now, or undefined inside a transaction (its records are not committed). */
  private capture(): AnchorState | undefined {
    if (this.o.db.inTransaction) return undefined;
    let generation = this.last.generation;
    try {
      const g = this.o.store.digest.read().generation;
      if (g < generation) {
        this.o.onProblem(`the store generation in the database went back from ${generation} to ${g}: the sealed store digest was replaced`);
      } else {
        generation = g;
      }
    } catch (err) {
      this.o.onProblem((err as Error).message);
    }
    return currentState(this.o, generation);
  }

  private tick(): void {
    if (this.writing || this.stopped) return;
    const state = this.capture();
    if (!state) {
      // An epoch is open (timers rarely run inside one): try again shortly.
      setTimeout(() => this.tick(), 10).unref();
      return;
    }
    if (state.auditSeq === this.last.seq && state.generation === this.last.generation) return;
    const need = this.o.durability.latest;
    const done = new Promise<void>((resolve) => {
      this.o.durability.whenDurable(need, (err) => {
        if (err || this.stopped) {
          if (err) this.o.log('error', 'the key store could not be synced; the rollback anchor was not moved', { err: err.message });
          resolve();
          return;
        }
        this.o.anchor.write(state).then(
          () => {
            this.last = { seq: state.auditSeq, generation: state.generation };
            if (this.failing) this.o.log('info', 'the rollback anchor is written again', { file: this.o.anchor.path });
            this.failing = false;
          },
          (e: Error) => {
            // Once per failure streak, not once a second.
            if (!this.failing) this.o.log('error', 'could not write the rollback anchor; trying again every second', { err: e.message });
            this.failing = true;
          },
        ).finally(resolve);
      });
    });
    this.writing = done.finally(() => {
      this.writing = undefined;
    });
  }

  /** Stops following; waits for a write in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.writing;
  }

  /** At a clean stop, once everything written is durable: the final head. */
  writeFinal(): void {
    const state = this.capture();
    if (state) this.o.anchor.writeSync(state);
  }
}

/** Operation name of the record `keyhaven store accept-rollback` appends. */
export const ACCEPT_ROLLBACK_OPERATION = 'Accept Rollback';

/**
 * `keyhaven store accept-rollback --yes`: the operator takes the store as it is. The digest is
 * recomputed from the rows, the generation moves past both sides (so it never repeats one the
 * anchor or a lost copy named), an 'Accept Rollback' record naming both heads is appended (result
 * failure: syslog forwards it as a warning), and the store is synced before it is anchored. Run it
 * with the server stopped: the server holds the head of the log in memory.
 */
export function acceptRollback(s: GuardedStore, i: Inspection, who: string): { seq: number } {
  s.audit.resync(); // the head as it is in the file now
  const generation = Math.max(i.database.digest?.generation ?? 0, i.anchor?.generation ?? 0) + 1;
  const rows = s.store.digest.recompute();
  const anchorSide = i.anchor
    ? `the anchor (written ${i.anchor.time}) named ${describeHead(i.anchor.auditSeq, i.anchor.auditMac, i.anchor.generation)}`
    : 'there was no authentic anchor';
  const reason =
    `${who} accepted the key store as it is with keyhaven store accept-rollback: ${anchorSide}; ` +
    `the database holds ${describeHead(i.database.auditSeq, i.database.auditMac, i.database.digest?.generation)}; ` +
    `found: ${i.problems.join('; ')}`;
  s.db.pragma('synchronous = FULL'); // the commit below is on disk before the anchor names it
  let seq = 0;
  try {
    s.db.transaction(() => {
      s.store.digest.reset({ generation, rows: rows.rows, digest: rows.digest });
      seq = s.audit.append({
        time: new Date().toISOString(), identity: 'keyhaven', address: '-', operation: ACCEPT_ROLLBACK_OPERATION, objectId: '', result: 'failure', reason,
      }).seq;
      s.audit.sealHead();
    })();
  } catch (err) {
    s.audit.resync();
    throw err;
  }
  s.anchor.writeSync(currentState(s));
  return { seq };
}
