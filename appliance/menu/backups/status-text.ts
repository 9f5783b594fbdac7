// The backup status as the menu prints it: where backups go and when, the backup key, the last
// success and failure, and the next run.
import { describeSchedule } from '../../../server/index.js';
import type { BackupOverview } from '../../admin/actions/backup-status.js';

const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'none');
const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

export function backupStatusText(o: BackupOverview): string {
  const lines = ['Backups'];
  if (!o.settings || !o.host) lines.push('  backup host:    not set up (Backups → Backup host and schedule)');
  else {
    lines.push(`  backup host:    ${o.settings.username}@${o.host}, directory ${o.settings.directory}`);
    lines.push(`  host key:       ${o.settings.hostKeySha256}`);
    lines.push(`  schedule:       ${describeSchedule(o.settings.schedule)} (appliance time), keeping the last ${o.settings.keep}`);
  }
  lines.push(`  backup key:     ${o.key ? `generation ${o.key.generation}, ${o.key.threshold} of ${o.key.count} custodian shares, check value ${o.key.check}, made ${when(o.key.created)}` : 'none yet (Backups → Backup key and custodian shares)'}`);
  lines.push(`  SSH key:        ${o.publicKey ? o.publicKey.split(' ').slice(0, 2).join(' ').slice(0, 40) + '…' : 'none yet (Backups → SSH key for the backup host)'}`);
  const s = o.status;
  if (!s) lines.push('  scheduled runs: none yet (the key server starts them once the host and the key are set up)');
  else {
    lines.push(`  running now:    ${s.running ? 'yes' : 'no'}${s.retryAt ? ` (an attempt failed; retrying at ${when(s.retryAt)})` : ''}`);
    lines.push(`  next run:       ${when(s.nextRun)}`);
    lines.push(`  last success:   ${s.lastSuccess ? `${when(s.lastSuccess.at)}: ${s.lastSuccess.name}, ${mib(s.lastSuccess.size)}, ${s.lastSuccess.objects} objects, ${(s.lastSuccess.durationMs / 1000).toFixed(1)} s` : 'none yet'}`);
    lines.push(`  last failure:   ${s.lastFailure ? `${when(s.lastFailure.at)} (attempt ${s.lastFailure.attempt}): ${s.lastFailure.reason} [${s.lastFailure.code}]` : 'none'}`);
  }
  return lines.join('\n');
}
