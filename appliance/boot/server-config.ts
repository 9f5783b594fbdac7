// The key server's configuration on the appliance (/etc/keyhaven/keyhaven.json, server/config.ts):
// data in /var/lib/keyhaven, KMIP key management on 6000, the encryption services on 6003 and
// mirroring on 6002 on every address (the firewall decides
// who reaches them), and its audit records sent to rsyslog for the SIEM when a SIEM host is
// configured (log-forwarding.ts). The rollback anchor lives in a directory of its own, so a copy of
// the data directory put back does not bring back the anchor that would give it away.
//
// Mirroring is always on: a lone appliance is a mirror group of one, and the firewall keeps 6002
// closed until the group has other members (appliance/mirroring/). The group reaches this server at
// its static address, or with DHCP at the address the interface has when the configuration is
// written — keyhaven.service rewrites it just before every start (`keyhaven appliance server-config
// --write`), and a changed address is passed on to the group then.
//
// Backups (backup/backup-settings.ts) are made by the key server's scheduler once the administrator
// has set them up in the menu.
import { Ports } from '../../firewall/ports.js';
import { joinAddress } from '../../server/index.js';
import { serverBackupConfig } from '../backup/backup-settings.js';
import type { ApplianceSettings } from '../settings.js';
import { AUDIT_SOCKET } from './log-forwarding.js';

export const SERVER_CONFIG = '/etc/keyhaven/keyhaven.json';
/** Made by appliance/provision/10-install-server.sh, writable by keyhaven.service (ReadWritePaths). */
export const ANCHOR_FILE = '/var/lib/keyhaven-anchor/keyhaven.anchor';

/**
 * Where the group reaches this appliance (host:port): the static address, or `dhcpAddress`, the one
 * the interface has now; undefined with DHCP and no address yet.
 */
export function mirrorAdvertise(settings: ApplianceSettings, dhcpAddress?: string): string | undefined {
  const host = settings.address.mode === 'static' ? settings.address.address : dhcpAddress;
  return host ? joinAddress(host, Ports.mirroring) : undefined;
}

/**
 * `settings` null: the image as built, before any settings exist. Without an address to advertise
 * (the image as built, DHCP before a lease) there is no mirror section: the group could not reach
 * this server, and keyhaven.service does not start until it has one (see above).
 */
export function renderServerConfig(settings: ApplianceSettings | null, dhcpAddress?: string): string {
  const forward = (settings?.network.siemHosts.length ?? 0) > 0;
  const advertise = settings ? mirrorAdvertise(settings, dhcpAddress) : undefined;
  const backup = settings ? serverBackupConfig(settings) : undefined;
  const config = {
    dataDir: '/var/lib/keyhaven',
    store: { anchorFile: ANCHOR_FILE },
    // 6000 serves key management and retrieval, 6003 the encryption services (server/ops/pipeline/port-roles.ts).
    listeners: {
      kmip: { host: '::', port: Ports.keyRetrieval, operations: 'key-management' },
      services: { host: '::', port: Ports.encryptionServices, operations: 'cryptographic-services' },
    },
    ...(advertise ? { mirror: { host: '::', port: Ports.mirroring, advertise } } : {}),
    ...(backup ? { backup } : {}),
    ...(forward ? { audit: { syslog: { transport: 'unix', path: AUDIT_SOCKET } } } : {}),
    log: { level: 'info' },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
