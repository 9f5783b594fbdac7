// The administration helper runs with no IP network (keyhaven-admin@.service: IPAddressDeny=any) but
// for the backup host: its data worker lists, fetches, verifies and restores backups there. This
// drop-in, written from the settings like every other system file, lets exactly that address through
// (systemd's per-unit IP filter; the nftables output policy still allows port 22 to it only).
import type { ApplianceSettings } from '../settings.js';

export const ADMIN_BACKUP_DROPIN = '/etc/systemd/system/keyhaven-admin@.service.d/50-backup-host.conf';

export function renderAdminBackupAccess(s: ApplianceSettings): string {
  const host = s.network.backupHost;
  return [
    '# Written from the appliance settings (appliance/backup/helper-network.ts): the administration helper and',
    '# its data worker reach the backup host only (the unit denies every other address).',
    '[Service]',
    ...(host ? [`IPAddressAllow=${host}`] : []),
    '',
  ].join('\n');
}
