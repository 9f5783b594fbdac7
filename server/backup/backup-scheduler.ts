// Scheduled backups inside the running key server: the next run from the schedule (schedule.ts),
// one job at a time (backup-job.ts), `runNow` for "Back up now" (SIGUSR2 to `keyhaven serve`), each
// outcome in the audit log (and so at the SIEM) and in DATA/backup/status.json for the menu and
// `keyhaven backup status`. Each server of a mirror group backs up its own store (README, Backups).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import type { Config } from '../config.js';
import { backupDir, defaultSeries, runBackupJob, type BackupEvent } from './backup-job.js';
import { describeSchedule, nextRun } from './schedule.js';

export interface BackupStatus {
  schedule: string;
  series: string;
  running: boolean;
  nextRun: string | null;
  lastSuccess?: { at: string; name: string; size: number; sha256: string; durationMs: number; objects: number };
  lastFailure?: { at: string; code: string; reason: string; attempt: number };
  /** Set while a failed attempt waits for its retry. */
  retryAt?: string;
  updatedAt: string;
}

export const backupStatusPath = (dataDir: string) => join(backupDir(dataDir), 'status.json');

/** Longest single wait: the schedule is looked at again at least this often (clock changes, suspends). */
const MAX_WAIT_MS = 3_600_000;

export interface SchedulerOptions {
  config: Config;
  audit: (operation: string, detail: string, result: 'success' | 'failure') => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
  delays?: readonly number[];
}

export class BackupScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BackupEvent> | undefined;
  private stopped = false;
  private next: Date | null = null;
  private status: BackupStatus;
  private readonly now: () => Date;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? (() => new Date());
    const b = o.config.backup!;
    this.status = { schedule: describeSchedule(b.schedule), series: b.series ?? defaultSeries(), running: false, nextRun: null, updatedAt: this.now().toISOString() };
  }

  start(): void {
    mkdirSync(backupDir(this.o.config.dataDir), { recursive: true, mode: 0o700 });
    this.plan();
  }

  /** Starts a backup now, unless one runs already (then that one's outcome). */
  runNow(): Promise<BackupEvent> {
    if (this.running) return this.running;
    const run = runBackupJob({
      config: this.o.config,
      now: this.now,
      ...(this.o.delays ? { delays: this.o.delays } : {}),
      sleep: (ms) => new Promise<void>((r) => {
        this.update({ retryAt: new Date(this.now().getTime() + ms).toISOString() });
        const t = setTimeout(r, ms);
        t.unref();
      }),
      onEvent: (e) => this.onEvent(e),
    }).finally(() => {
      this.running = undefined;
      this.update({ running: false });
      this.plan();
    });
    this.running = run;
    this.update({ running: true });
    return run;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private plan(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = this.now();
    this.next = nextRun(this.o.config.backup!.schedule, now);
    this.update({ nextRun: this.next.toISOString() });
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, this.next.getTime() - now.getTime()));
    this.timer = setTimeout(() => this.tick(), wait);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.next && this.now().getTime() >= this.next.getTime() && !this.running) void this.runNow();
    else this.plan();
  }

  private onEvent(e: BackupEvent): void {
    const at = this.now().toISOString();
    // After stop() the server's audit log is closed: the outcome goes to the status file and the log only.
    const audit = this.stopped ? () => undefined : this.o.audit;
    if (e.kind === 'success') {
      const pruned = e.pruned.length > 0 ? `; deleted ${e.pruned.length} older (${e.pruned.join(', ')})` : '';
      audit('Backup Created', `${e.name} stored on the backup host and read back: ${e.size} bytes, SHA-256 ${e.sha256}, ${e.objects} objects, attempt ${e.attempt}, ${e.durationMs} ms${pruned}`, 'success');
      this.o.log('info', 'backup stored', { name: e.name, size: e.size, attempt: e.attempt });
      this.status.retryAt = undefined;
      this.update({ lastSuccess: { at, name: e.name, size: e.size, sha256: e.sha256, durationMs: e.durationMs, objects: e.objects } });
      return;
    }
    const when = e.kind === 'retry' ? `; retrying in ${Math.round(e.retryInMs! / 1000)} s` : '; not retried until the next scheduled run';
    audit(e.kind === 'retry' ? 'Backup Retry' : 'Backup Failed', `attempt ${e.attempt}: ${e.reason} [${e.code}]${when}`, 'failure');
    this.o.log(e.kind === 'retry' ? 'warn' : 'error', `backup attempt ${e.attempt} failed`, { code: e.code, reason: e.reason });
    if (e.kind === 'failure') this.status.retryAt = undefined;
    this.update({ lastFailure: { at, code: e.code, reason: e.reason, attempt: e.attempt } });
  }

  private update(change: Partial<BackupStatus>): void {
    this.status = { ...this.status, ...change, updatedAt: this.now().toISOString() };
    if (this.status.retryAt === undefined) delete this.status.retryAt;
    try {
      writeFileAtomic(backupStatusPath(this.o.config.dataDir), `${JSON.stringify(this.status, null, 2)}\n`, 0o600);
    } catch (err) {
      this.o.log('error', 'cannot write the backup status file', { err: (err as Error).message });
    }
  }
}
