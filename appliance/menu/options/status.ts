// Status: services, key count, certificate expiry, time synchronisation, disk.
import type { StatusReport } from '../../admin/actions/status.js';
import type { MenuOption } from '../option.js';

const GiB = 1024 ** 3;

export const statusOption: MenuOption = {
  label: 'Status',
  description: 'Services, number of keys, certificate expiry, time synchronisation and disk space',
  async run(ui) {
    const { result: s } = await ui.call<StatusReport>('status');
    const lines = [`\nStatus of ${s.hostname}`, '  Services'];
    for (const u of s.services) lines.push(`    ${u.unit.padEnd(28)} ${u.state}`);
    lines.push('  Keys');
    lines.push('error' in s.keys ? `    not available: ${s.keys.error}` : `    ${s.keys.objects} managed objects, ${s.keys.withMaterial} holding key material`);
    lines.push('  Certificates');
    for (const c of s.certificates) lines.push(`    ${c.name.padEnd(8)} expires ${c.notAfter.slice(0, 10)} (${c.daysLeft} days)${c.daysLeft < 30 ? '  RENEW SOON' : ''}`);
    if (s.certificates.length === 0) lines.push('    none yet (first boot creates them)');
    if (s.clientsExpiringSoon > 0) lines.push(`    ${s.clientsExpiringSoon} client certificate(s) expire within 30 days`);
    lines.push('  Time');
    lines.push(`    ${s.time.synchronized === undefined ? 'unknown' : s.time.synchronized ? 'synchronised' : 'NOT synchronised'}${s.time.detail ? ` — ${s.time.detail}` : ''}`);
    lines.push('  Disk');
    for (const d of s.disks) lines.push(`    ${d.path.padEnd(28)} ${d.usedPercent}% used, ${(d.freeBytes / GiB).toFixed(1)} GiB free of ${(d.sizeBytes / GiB).toFixed(1)} GiB`);
    ui.print(`${lines.join('\n')}\n`);
  },
};
