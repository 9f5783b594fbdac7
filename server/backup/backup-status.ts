// The scheduled backups' status file (written by backup-scheduler.ts), read by `keyhaven backup
// status` and the appliance menu without a connection to the server.
import { readFileSync } from 'node:fs';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { backupStatusPath, type BackupStatus } from './backup-scheduler.js';

export function readBackupStatus(dataDir: string): BackupStatus | undefined {
  let text: string;
  try {
    text = readFileSync(backupStatusPath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as BackupStatus;
  } catch {
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `${backupStatusPath(dataDir)} is unreadable (a crash while it was written?); the running server rewrites it at its next backup event and start`);
  }
}

export function describeBackupStatus(s: BackupStatus): string {
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return [
    `schedule:      ${s.schedule} (backups named keyhaven-${s.series}-…)`,
    `running now:   ${s.running ? 'yes' : 'no'}${s.retryAt ? ` (an attempt failed; retrying at ${s.retryAt})` : ''}`,
    `next run:      ${s.nextRun ?? 'none'}`,
    `last success:  ${s.lastSuccess ? `${s.lastSuccess.at}: ${s.lastSuccess.name}, ${mb(s.lastSuccess.size)}, ${s.lastSuccess.objects} objects, ${(s.lastSuccess.durationMs / 1000).toFixed(1)} s` : 'none yet'}`,
    `last failure:  ${s.lastFailure ? `${s.lastFailure.at} (attempt ${s.lastFailure.attempt}): ${s.lastFailure.reason} [${s.lastFailure.code}]` : 'none'}`,
    '',
  ].join('\n');
}
