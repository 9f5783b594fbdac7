// One backup to the SFTP host: made into a private spool directory (backup-create.ts), uploaded and
// checked (sftp-target.ts), old ones pruned, the local copy removed. A failure the next attempt may
// not repeat (the host unreachable, a transfer cut) is retried after 1, 2, 4 and 8 minutes; one it
// would (the host key, the login, no backup key) is reported at once. Every attempt's outcome is
// told to `onEvent` (the scheduler audits it).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Config } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { createBackup } from './backup-create.js';
import { RETRY_DELAYS_MS } from './schedule.js';
import { uploadBackup, type SftpTarget } from './sftp-target.js';

export type BackupConfig = NonNullable<Config['backup']>;

export type BackupEvent =
  | { kind: 'success'; name: string; size: number; sha256: string; durationMs: number; attempt: number; objects: number; pruned: string[] }
  | { kind: 'retry' | 'failure'; attempt: number; code: string; reason: string; retryInMs?: number };

export interface JobOptions {
  config: Config;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  delays?: readonly number[];
  onEvent: (e: BackupEvent) => void;
}

/** Codes a later attempt would meet again: told at once, not retried. */
const FINAL = new Set<string>([ErrorCodes.BACKUP_HOST_KEY, ErrorCodes.BACKUP_AUTH, ErrorCodes.BACKUP_BAD_INPUT, ErrorCodes.BACKUP_NO_KEY, ErrorCodes.STORE_MASTER_KEY]);

export function backupDir(dataDir: string): string {
  return join(dataDir, 'backup');
}

/** keyhaven-<series>-<UTC time>.khbak: sorts by time within a series; one series per server. */
export function backupName(series: string, at: Date): string {
  return `keyhaven-${series}-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.khbak`;
}

export function defaultSeries(): string {
  return hostname().replace(/[^0-9A-Za-z.]/g, '').slice(0, 40) || 'keyhaven';
}

export function sftpTarget(config: Config, backup: BackupConfig): SftpTarget {
  const s = backup.sftp;
  const keyFile = isAbsolute(s.privateKeyFile) ? s.privateKeyFile : join(config.dataDir, s.privateKeyFile);
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(keyFile);
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `cannot read the backup SSH key ${keyFile}: ${(err as Error).message}; create it (the menu's Backups → SSH key) and install its public key on the backup host`);
  }
  return { host: s.host, port: s.port, username: s.username, directory: s.directory, hostKeySha256: s.hostKeySha256, privateKey, timeoutMs: s.timeoutMs };
}

const describe = (err: unknown): { code: string; reason: string } =>
  err instanceof KeyhavenError ? { code: err.code, reason: err.message } : { code: 'KH_INTERNAL', reason: (err as Error).message ?? String(err) };

/** Runs one backup with its retries; resolves with the last event (success or failure), never rejects. */
export async function runBackupJob(o: JobOptions): Promise<BackupEvent> {
  const backup = o.config.backup;
  if (!backup) throw new Error('bug: runBackupJob without a backup configuration');
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const delays = o.delays ?? RETRY_DELAYS_MS;
  const series = backup.series ?? defaultSeries();
  const spool = join(backupDir(o.config.dataDir), 'spool');
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  const started = now();
  const name = backupName(series, started);
  const local = join(spool, name);
  let made: Awaited<ReturnType<typeof createBackup>> | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        // Made once: a retry sends the same backup again (a consistent state, and the same name).
        made ??= await createBackup({ config: o.config, out: local, now: started });
        const up = await uploadBackup(sftpTarget(o.config, backup), local, name, { keep: backup.keep, series });
        if (up.sha256 !== made.sha256) throw new KeyhavenError(ErrorCodes.BACKUP_TRANSFER, `the host holds ${name} with SHA-256 ${up.sha256}, not ${made.sha256}`);
        const e: BackupEvent = { kind: 'success', name, size: up.size, sha256: up.sha256, durationMs: now().getTime() - started.getTime(), attempt, objects: made.manifest.contents.objects, pruned: up.pruned };
        o.onEvent(e);
        return e;
      } catch (err) {
        const { code, reason } = describe(err);
        const retryInMs = delays[attempt - 1];
        if (FINAL.has(code) || retryInMs === undefined) {
          const e: BackupEvent = { kind: 'failure', attempt, code, reason };
          o.onEvent(e);
          return e;
        }
        o.onEvent({ kind: 'retry', attempt, code, reason, retryInMs });
        await sleep(retryInMs);
      }
    }
  } finally {
    if (existsSync(local)) rmSync(local, { force: true });
  }
}
