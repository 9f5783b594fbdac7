// Backups: status, back up now, the backup host and schedule, the appliance's SSH key, the backup key
// and its custodian shares, verifying a backup and restoring one over this appliance.
import type { BackupOverview } from '../../admin/actions/backup-status.js';
import type { BackupNowOutcome } from '../../admin/actions/backup-now.js';
import { configureBackups } from '../backups/configure.js';
import { makeBackupKey } from '../backups/key-shares.js';
import { backupStatusText } from '../backups/status-text.js';
import { restoreBackup, verifyBackup } from '../backups/verify-restore.js';
import { block, done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const backupsOption: MenuOption = {
  label: 'Backups',
  description: 'Encrypted backups to an SFTP host: status, back up now, host and schedule, keys, verify, restore',
  async run(ui) {
    const { result: o } = await ui.call<BackupOverview>('backup.status');
    ui.print(`\n${backupStatusText(o)}\n`);
    const what = await ui.select('Backups', [
      { name: 'Back up now', value: 'now' as const },
      { name: 'Backup host and schedule', value: 'configure' as const },
      { name: 'SSH key for the backup host', value: 'ssh-key' as const },
      { name: 'Backup key and custodian shares', value: 'key' as const },
      { name: 'Verify a backup', value: 'verify' as const },
      { name: 'Restore a backup over this appliance', value: 'restore' as const },
      { name: 'Back to the menu', value: 'back' as const },
    ]);
    if (what === 'now') {
      ui.print('\nBacking up (the key server makes the backup and sends it to the backup host)…');
      const { result, summary } = await ui.call<BackupNowOutcome>('backup.now');
      return result.outcome === 'failed' ? ui.print(`\nFailed: ${summary}.\n`) : done(ui, summary);
    }
    if (what === 'configure') return configureBackups(ui);
    if (what === 'ssh-key') {
      const { result, summary } = await ui.call<{ publicKey: string }>('backup.ssh-key');
      ui.print("\nAdd this line to the backup account's authorized_keys on the backup host:");
      block(ui, 'SSH public key', result.publicKey);
      return done(ui, summary);
    }
    if (what === 'key') return makeBackupKey(ui, o.key);
    if (what === 'verify') return verifyBackup(ui);
    if (what === 'restore') return restoreBackup(ui);
  },
};
