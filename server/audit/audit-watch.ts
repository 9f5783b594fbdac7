// The running server's watch over its own audit log.
//
// Tail check: the full chain is verified when the store is opened, but someone with access to the
// live database file could edit a record (with the triggers dropped) while the server runs. Every
// audit.tailCheckSeconds the last audit.tailCheckRecords records are re-verified from their
// predecessor up to the head this process holds, and the sealed head must vouch for that head. A
// problem is logged at error level and recorded once as an 'Audit Check' failure record, which
// `keyhaven audit verify` reports and syslog forwards at severity alert.
//
// Checkpoints: a rollback of the database together with its anchor (a whole-disk or VM snapshot
// revert) cannot be seen from inside the machine. Every audit.checkpointMinutes, while the log has
// grown, an 'Audit Checkpoint' record names the head (seq and the start of its MAC), and 'Server
// Start' names the head it starts from; both are forwarded to syslog like every record, so the SIEM
// sees the sequence numbers go backwards (or a known seq reappear with another MAC) after a revert.
import type { AuditLog } from './audit-log.js';
import { AUDIT_CHECK_OPERATION } from './audit-log.js';
import type { Db } from '../store/database.js';
import { shortMac } from '../store/anchor.js';

export const CHECKPOINT_OPERATION = 'Audit Checkpoint';

/** "audit head 1234 0a1b2c3d4e5f": the reason of checkpoints and the end of Server Start's. */
export const headSummary = (head: { seq: number; mac: Buffer }): string => `audit head ${head.seq} ${shortMac(head.mac)}`;

export interface AuditWatchOptions {
  audit: AuditLog;
  db: Db;
  /** Appends a record through the service's transaction path (KmipService.auditEvent). */
  record: (operation: string, reason: string, result: 'success' | 'failure') => void;
  log: (level: 'error' | 'warn' | 'info', msg: string, fields?: Record<string, unknown>) => void;
  checkpointMs: number;
  tailCheckMs: number;
  tailRecords: number;
}

export class AuditWatch {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly reported = new Set<string>();
  private lastCheckpoint = 0;
  private stopped = false;

  constructor(private readonly o: AuditWatchOptions) {}

  start(): void {
    this.lastCheckpoint = this.o.audit.head.seq;
    this.timers.push(setInterval(() => this.betweenTransactions(() => this.checkpoint()), this.o.checkpointMs));
    this.timers.push(setInterval(() => this.betweenTransactions(() => this.checkTail()), this.o.tailCheckMs));
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  /** Tampering seen while running: logged and recorded, each distinct problem once. */
  report(problem: string): void {
    if (this.reported.has(problem)) return;
    this.reported.add(problem);
    this.o.log('error', 'the audit log or key store was changed outside Keyhaven while the server was running; recorded in the log', { problem });
    this.o.record(AUDIT_CHECK_OPERATION, `tampering found while the server was running: ${problem}`, 'failure');
  }

  /** Runs `fn` when no transaction is open (the in-memory head is then the committed one). */
  private betweenTransactions(fn: () => void): void {
    if (this.stopped) return;
    if (this.o.db.inTransaction) {
      setTimeout(() => this.betweenTransactions(fn), 10).unref();
      return;
    }
    fn();
  }

  private checkpoint(): void {
    const head = this.o.audit.head;
    if (head.seq === this.lastCheckpoint) return; // nothing since the last checkpoint: the log is idle
    this.o.record(CHECKPOINT_OPERATION, headSummary(head), 'success');
    this.lastCheckpoint = this.o.audit.head.seq;
  }

  private checkTail(): void {
    let problem: string | undefined;
    try {
      problem = this.o.audit.checkTail(this.o.tailRecords);
    } catch (err) {
      problem = `the audit log could not be read: ${(err as Error).message}`;
    }
    if (problem) this.report(problem);
  }
}
