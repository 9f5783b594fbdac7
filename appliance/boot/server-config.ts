// The key server's configuration on the appliance (/etc/keyhaven/keyhaven.json, server/config.ts):
// data in /var/lib/keyhaven, KMIP on 6000 on every address (the firewall decides who reaches it), and
// its audit records sent to rsyslog for the SIEM when a SIEM host is configured (log-forwarding.ts).
// The rollback anchor lives in a directory of its own, so a copy of the data directory put back
// does not bring back the anchor that would give it away.
import type { ApplianceSettings } from '../settings.js';
import { AUDIT_SOCKET } from './log-forwarding.js';

export const SERVER_CONFIG = '/etc/keyhaven/keyhaven.json';
/** Made by appliance/provision/10-install-server.sh, writable by keyhaven.service (ReadWritePaths). */
export const ANCHOR_FILE = '/var/lib/keyhaven-anchor/keyhaven.anchor';

/** `settings` null: the image as built, before any settings exist. */
export function renderServerConfig(settings: ApplianceSettings | null): string {
  const forward = (settings?.network.siemHosts.length ?? 0) > 0;
  const config = {
    dataDir: '/var/lib/keyhaven',
    store: { anchorFile: ANCHOR_FILE },
    listeners: { kmip: { host: '::', port: 6000 } },
    ...(forward ? { audit: { syslog: { transport: 'unix', path: AUDIT_SOCKET } } } : {}),
    log: { level: 'info' },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
