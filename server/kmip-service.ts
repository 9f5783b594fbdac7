// The transport-independent key service: runs each request inside a group-commit transaction with
// its audit records, and releases the response only once the change it acknowledges is durable.
//
// All requests arriving in one turn of the event loop share one SQLite transaction (an "epoch");
// each request is a savepoint within it. At the end of the turn the epoch commits (WAL, no fsync),
// then WalDurability fsyncs the WAL on the thread pool. A response that acknowledges a change waits
// for that fsync; a read-only response waits only for earlier changes it may have observed.
import type { AuditEntry, AuditLog, AuditRecord } from './audit/audit-log.js';
import type { Credential } from './kmip/message.js';
import { handleRequest, type RequestResult } from './ops/handle-request.js';
import type { OperationLimits, ServerIdentity } from './ops/context.js';
import type { OperationOutcome } from './ops/execute-batch.js';
import type { WalDurability } from './store/durability.js';
import type { KeyStore } from './store/key-store.js';

export interface Session {
  identity: string;
  address: string;
}

export type Reply = (result: Buffer | Error) => void;

export interface ServiceOptions {
  store: KeyStore;
  audit: AuditLog;
  durability: WalDurability;
  server: ServerIdentity;
  limits: OperationLimits;
  maxResponseSize: number;
  authenticate: (identity: string, credentials: Credential[]) => string | undefined;
  onInternalError: (err: unknown) => void;
  /** Called for every audit record once its transaction has committed (e.g. to forward it to
   * syslog); records of a rolled-back transaction never existed and are not passed. Must not throw. */
  onAudit?: (record: AuditRecord) => void;
  /** Clock (milliseconds) of KMIP semantics: dates set, lifecycle dates reached. Audit records
   * always carry the wall-clock time. Conformance runs replay a recorded run's clock. */
  clock?: () => number;
}

let isoMs = -1;
let isoText = '';

/** Wall-clock time as ISO 8601; formatted once per millisecond (requests of one turn share it). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

interface Epoch {
  pending: { reply: Reply; response: Buffer }[];
  wrote: boolean;
}

export class KmipService {
  private epoch: Epoch | undefined;
  private lastWrite = 0;
  private readonly begin;
  private readonly commitStmt;
  private readonly rollbackStmt;
  private readonly clock: () => number;
  /** Seconds of the KMIP clock; one function for every request rather than a closure each. */
  private readonly nowSeconds = () => Math.floor(this.clock() / 1000);
  /** Audit records of the open epoch, passed to onAudit once it commits; only when onAudit is set. */
  private readonly epochRecords: AuditRecord[] | undefined;

  constructor(private readonly o: ServiceOptions) {
    this.begin = o.store.db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = o.store.db.prepare('COMMIT');
    this.rollbackStmt = o.store.db.prepare('ROLLBACK');
    this.clock = o.clock ?? Date.now;
    this.epochRecords = o.onAudit ? [] : undefined;
  }

  /** Handles one framed request; `reply` receives the response, or an Error when none can be sent. */
  handle(raw: Buffer, session: Session, reply: Reply): void {
    const epoch = this.openEpoch();
    const store = this.o.store;
    let result: RequestResult;
    store.savepoint('kh_msg');
    try {
      result = handleRequest(raw, {
        identity: session.identity,
        store,
        server: this.o.server,
        limits: this.o.limits,
        maxResponseSize: this.o.maxResponseSize,
        authenticate: this.o.authenticate,
        onInternalError: this.o.onInternalError,
        now: this.nowSeconds,
      });
      store.release('kh_msg');
    } catch (err) {
      store.rollbackTo('kh_msg');
      this.o.onInternalError(err);
      this.audit(session, [{ operation: '-', objectIds: [], result: 'failure', reason: 'General Failure' }]);
      epoch.pending.push({ reply: () => reply(err instanceof Error ? err : new Error(String(err))), response: Buffer.alloc(0) });
      return;
    }
    this.audit(session, result.outcomes);
    epoch.wrote ||= result.wrote;
    epoch.pending.push({ reply, response: result.response });
  }

  /** Records an event that is not a request (a refused connection, a server start). */
  auditEvent(session: Session, operation: string, reason: string, result: 'success' | 'failure' = 'failure'): void {
    this.openEpoch();
    this.audit(session, [{ operation, objectIds: [], result, reason }]);
  }

  private audit(session: Session, outcomes: OperationOutcome[]): void {
    const time = isoNow();
    for (const o of outcomes) {
      const entry: AuditEntry = {
        time,
        identity: session.identity,
        address: session.address,
        operation: o.operation,
        objectId: o.objectIds.join(','),
        result: o.result,
        reason: o.reason,
      };
      this.o.audit.append(entry, this.epochRecords);
    }
  }

  private forwardAudit(records: AuditRecord[]): void {
    try {
      for (const r of records) this.o.onAudit!(r);
    } catch (err) {
      this.o.onInternalError(err);
    }
    records.length = 0;
  }

  private openEpoch(): Epoch {
    if (this.epoch) return this.epoch;
    this.begin.run();
    const epoch: Epoch = { pending: [], wrote: false };
    this.epoch = epoch;
    setImmediate(() => this.commit());
    return epoch;
  }

  /** Commits the current epoch now (also used at shutdown). */
  commit(): void {
    const epoch = this.epoch;
    if (!epoch) return;
    this.epoch = undefined;
    try {
      this.o.audit.sealHead();
      this.commitStmt.run();
    } catch (err) {
      // Nothing of this epoch is stored, so nothing of it may be acknowledged.
      try {
        this.rollbackStmt.run();
      } catch {
        /* already rolled back by SQLite */
      }
      this.o.audit.resync();
      if (this.epochRecords) this.epochRecords.length = 0;
      this.o.onInternalError(err);
      for (const p of epoch.pending) p.reply(err as Error);
      return;
    }
    if (this.epochRecords && this.epochRecords.length > 0) this.forwardAudit(this.epochRecords);
    const n = this.o.durability.noteCommit();
    if (epoch.wrote) this.lastWrite = n;
    this.o.durability.whenDurable(this.lastWrite, (err) => {
      for (const p of epoch.pending) p.reply(err ?? p.response);
    });
  }
}
