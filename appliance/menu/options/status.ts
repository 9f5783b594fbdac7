// Status: date and time, uptime, services, key count, certificate expiry, time synchronisation, disk.
import type { StatusReport } from '../../admin/actions/status.js';
import { SERVER_CERTIFICATE_WARNING_DAYS } from '../../../server/index.js';
import type { MenuOption } from '../option.js';
import { renewServerCertificateOption } from './renew-server-certificate.js';

const GiB = 1024 ** 3;

/** "2026-03-04 05:06:07 UTC"; in `timeZone`, "2026-03-04 06:06:07 CET (Europe/Paris)". */
export function formatTime(iso: string, timeZone?: string): string {
  const d = new Date(iso);
  if (!timeZone) return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' })
        .formatToParts(d)
        .map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName} (${timeZone})`;
  } catch {
    return `(time zone ${timeZone} unknown)`;
  }
}

/** "3 days, 4 hours, 12 minutes"; under a minute, seconds. */
export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), 'day'],
    [Math.floor((seconds % 86_400) / 3600), 'hour'],
    [Math.floor((seconds % 3600) / 60), 'minute'],
  ];
  return units
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n} ${u}${n === 1 ? '' : 's'}`)
    .join(', ');
}

/** The warning after a certificate's expiry line; the server's names the menu entry that renews it. */
export function expiryNote(name: string, daysLeft: number): string {
  if (daysLeft > SERVER_CERTIFICATE_WARNING_DAYS) return '';
  const entry = `use "${renewServerCertificateOption.label}" in this menu`;
  if (name === 'server') return daysLeft < 0 ? `  EXPIRED: clients refuse the key server; ${entry}` : `  RENEW SOON: ${entry}`;
  return daysLeft < 0 ? '  EXPIRED: no certificate it issued is accepted' : '  EXPIRES SOON: certificates it issued stop working with it';
}

const stamp = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'none');

/** The scheduled backups' last success, last failure and next run (the Backups entry has the rest). */
export function backupLines(b: StatusReport['backups']): string[] {
  if (b === null) return ['    not set up (Backups in this menu)'];
  if ('error' in b) return [`    not available: ${b.error}`];
  if (b.keyGeneration === null) return ['    no backup key yet: none can be made (Backups → Backup key and custodian shares)'];
  const s = b.status;
  if (!s) return ['    no scheduled run yet (the key server starts them)'];
  return [
    `    last success ${s.lastSuccess ? `${stamp(s.lastSuccess.at)}: ${s.lastSuccess.name}, ${(s.lastSuccess.size / 1048576).toFixed(1)} MiB, ${(s.lastSuccess.durationMs / 1000).toFixed(1)} s` : 'none yet'}`,
    `    last failure ${s.lastFailure ? `${stamp(s.lastFailure.at)}: ${s.lastFailure.reason} [${s.lastFailure.code}]` : 'none'}${s.retryAt ? ` (retrying at ${stamp(s.retryAt)})` : ''}`,
    `    next run     ${stamp(s.nextRun)}${s.running ? ' (one is running now)' : ''}`,
  ];
}

export const statusOption: MenuOption = {
  label: 'Status',
  description: 'Date and time, uptime, services, number of keys, certificate expiry, time synchronisation, backups and disk space',
  async run(ui) {
    const { result: s } = await ui.call<StatusReport>('status');
    const lines = [`\nStatus of ${s.hostname}`, '  Date and time'];
    lines.push(`    ${formatTime(s.clock.now)}`);
    if (s.clock.timeZone) lines.push(`    ${formatTime(s.clock.now, s.clock.timeZone)}`);
    lines.push(`    up ${formatUptime(s.clock.uptimeSeconds)}`);
    lines.push('  Time synchronisation (NTP)');
    lines.push(`    ${s.time.text}`);
    lines.push('  Services');
    for (const u of s.services) lines.push(`    ${u.unit.padEnd(28)} ${u.state}`);
    lines.push('  Keys');
    lines.push('error' in s.keys ? `    not available: ${s.keys.error}` : `    ${s.keys.objects} managed objects, ${s.keys.withMaterial} holding key material`);
    lines.push('  Certificates');
    for (const c of s.certificates) lines.push(`    ${c.name.padEnd(8)} expires ${c.notAfter.slice(0, 10)} (${c.daysLeft} days)${expiryNote(c.name, c.daysLeft)}`);
    if (s.certificates.length === 0) lines.push('    none yet (first boot creates them)');
    if (s.clientsExpiringSoon > 0) lines.push(`    ${s.clientsExpiringSoon} client certificate(s) expire within 30 days`);
    lines.push('  Backups');
    lines.push(...backupLines(s.backups));
    lines.push('  Disk');
    for (const d of s.disks) lines.push(`    ${d.path.padEnd(28)} ${d.usedPercent}% used, ${(d.freeBytes / GiB).toFixed(1)} GiB free of ${(d.sizeBytes / GiB).toFixed(1)} GiB`);
    ui.print(`${lines.join('\n')}\n`);
  },
};
