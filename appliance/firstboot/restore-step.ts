// First boot restoring a backup, before the key server first starts: SFTP let out to the backup host,
// the appliance's SSH key made and shown (to install on the host), the backup chosen from the host's
// list, the custodians' shares typed, and the restore done by the data worker (as the key server's
// account) into the empty data directory. The backup's administration log comes back as this
// appliance's (its chain continues: the master key is the backup's), and its backup schedule with it.
// A failure — host unreachable, key not installed, wrong shares, a damaged file — says why and lets
// the administrator try again, change the host details, or set up a new appliance instead.
import { select } from '@inquirer/prompts';
import { KeyhavenError } from '../errors.js';
import { withPeers } from '../mirroring/peer-firewall.js';
import { parseApplianceSettings, type ApplianceSettings } from '../settings.js';
import type { PromptContext } from './prompt-context.js';
import { askBackupHost, askShares, type BackupHost } from './restore-form.js';
import type { FirstBootSystem, RestoredBackup } from './system.js';

export interface RestoreOutcome {
  readonly settings: ApplianceSettings;
  /** Undefined: the administrator gave up and chose a new appliance (its own CA). */
  readonly restored?: RestoredBackup;
}

const reason = (err: unknown) => (err instanceof KeyhavenError ? `${err.message} [${err.code}]` : (err as Error).message);

/** The backup schedule and count the backup's own settings had, for the host given now. */
function backupSettingsFrom(restored: RestoredBackup, host: BackupHost): ApplianceSettings['backup'] {
  let old: ApplianceSettings['backup'];
  try {
    old = restored.settings ? parseApplianceSettings(JSON.parse(restored.settings), 'the backup').backup : undefined;
  } catch {
    old = undefined; // another release's settings: the defaults below
  }
  return { username: host.username, directory: host.directory, hostKeySha256: host.hostKeySha256, schedule: old?.schedule ?? { every: 'day', at: '02:00' }, keep: old?.keep ?? 14 };
}

export async function restoreFromBackup(system: FirstBootSystem, settings: ApplianceSettings, ctx: PromptContext): Promise<RestoreOutcome> {
  const out = (s: string) => ctx.output.write(s);
  let host = await askBackupHost(ctx);
  for (;;) {
    try {
      const opened = withPeers({ ...settings, network: { ...settings.network, backupHost: host.host } }, []);
      await system.applySettings(opened);
      const publicKey = await system.backupSshKey();
      out(`\nThis appliance logs in to the backup host with this SSH key. Add the line to ${host.username}'s authorized_keys there:\n\n${publicKey}\n\n`);
      await select({ message: 'Installed on the backup host?', choices: [{ name: 'Yes, list the backups', value: true }] }, ctx);
      const backups = await system.listBackups(host);
      if (backups.length === 0) throw new KeyhavenError('KH_BACKUP_BAD_INPUT', `there are no backups in "${host.directory}" on ${host.host}`);
      const name = await select({ message: 'Backup to restore (newest first)', choices: backups.slice(0, 30).map((b) => ({ name: `${b.name}  ${(b.size / 1048576).toFixed(1)} MiB`, value: b.name })) }, ctx);
      const shares = await askShares(ctx);
      out(`  fetching, checking and restoring ${name}…\n`);
      const restored = await system.restoreBackup(host, name, shares);
      const final = { ...opened, backup: backupSettingsFrom(restored, host) };
      await system.applySettings(final);
      out(`  restored ${name} (made ${restored.made} on ${restored.host}): ${restored.contents.objects} objects, ${restored.contents.certificates} certificates\n`);
      out(restored.adminLog === 'restored' ? "  the backup's administration log continues here\n" : `  ${restored.adminLog}\n`);
      return { settings: final, restored };
    } catch (err) {
      out(`\n  Restoring failed: ${reason(err)}\n  Nothing was restored; this appliance is unchanged.\n\n`);
      const next = await select(
        {
          message: 'What now?',
          choices: [
            { name: 'Try again', value: 'again' as const },
            { name: 'Change the backup host details', value: 'host' as const },
            { name: 'Set up a new appliance instead (a new mirror group, no keys)', value: 'new' as const },
          ],
        },
        ctx,
      );
      if (next === 'new') {
        const alone = withPeers(settings, []);
        await system.resetData();
        await system.applySettings(alone);
        return { settings: alone };
      }
      if (next === 'host') host = await askBackupHost(ctx, host);
    }
  }
}
