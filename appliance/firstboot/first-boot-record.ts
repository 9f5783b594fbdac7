// First boot in the administration audit log (admin/admin-audit.ts) and the system log, as every
// later change made through the menu is: the admin password set on the console, and what the
// appliance was configured with. Written once completion is recorded, so an interrupted run (whose
// master key and certificates are discarded) never leaves records under a key that no longer exists.
import { AdminAuditLog } from '../admin/admin-audit.js';
import { ensureMasterKey } from '../admin/data-owner.js';
import type { AppliancePaths } from '../admin/paths.js';
import type { ApplianceSettings } from '../settings.js';

export function firstBootSummary(s: ApplianceSettings): string {
  const a = s.address;
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  return [
    `host ${s.hostname}`,
    a.mode === 'static' ? `${a.address}/${a.prefix} via ${a.gateway}` : 'DHCP',
    `SSH ${s.network.ssh.enabled ? `open to ${list(s.network.adminNetworks)}` : 'closed'}`,
    `NTP ${list(s.network.ntpServers)}`,
    `SIEM ${list(s.network.siemHosts)}`,
  ].join('; ');
}

/** `journal` gets one line with a syslog priority prefix (journald reads the wizard's stderr). */
export async function recordFirstBoot(paths: AppliancePaths, s: ApplianceSettings, journal: (line: string) => void): Promise<void> {
  const summary = firstBootSummary(s);
  await ensureMasterKey(paths); // made by the key server's account, before the key server first runs
  const audit = AdminAuditLog.open(paths, { create: true });
  try {
    const by = { identity: 'admin', address: 'console', result: 'success' };
    audit.append({ ...by, operation: 'Change Admin Password', objectId: 'admin', reason: 'set on the console at first boot' });
    audit.append({ ...by, operation: 'Complete First Boot', objectId: 'appliance', reason: summary });
    audit.copyForBackup(paths.adminAuditCopy);
  } finally {
    audit.close();
  }
  journal(`<5>${JSON.stringify({ event: 'keyhaven-first-boot', result: 'success', user: 'admin', address: 'console', reason: `admin password set; ${summary}` })}`);
}
