// Backups → Backup host and schedule: the SFTP host's IP address, the account and directory there,
// its SSH host key fingerprint (read on the host with ssh-keygen -lf: pinned, never learnt from the
// host), daily or weekly at a time of the appliance's clock, and how many to keep. Or backups off.
import { parseFingerprint } from '../../../server/index.js';
import { parseAddressFor } from '../../../firewall/address.js';
import { confirmChange } from '../confirm-change.js';
import { currentSettings, done } from '../forms.js';
import type { Ui } from '../ui.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export async function configureBackups(ui: Ui): Promise<void> {
  const s = await currentSettings(ui);
  const b = s.backup;
  if (b) {
    const what = await ui.select('Backup host and schedule', [
      { name: 'Change them', value: 'change' as const },
      { name: 'Turn scheduled backups off', value: 'off' as const },
      { name: 'Back', value: 'back' as const },
    ]);
    if (what === 'back') return;
    if (what === 'off') {
      if (!(await ui.confirm('Turn backups off (the firewall closes SFTP to the backup host)?', false))) return;
      return done(ui, (await ui.call('backup.configure', { off: true })).summary);
    }
  }
  const host = (await ui.input('Backup host (SFTP server) IP address', {
    default: s.network.backupHost ?? '',
    validate: (v) => {
      const p = parseAddressFor(v.trim(), 'backup host');
      return p.ok ? true : p.reason;
    },
  })).trim();
  const username = (await ui.input('Account on the backup host', { default: b?.username ?? 'keyhaven', validate: (v) => (/^[a-z_][a-z0-9_.-]{0,31}$/.test(v.trim()) ? true : 'an account name: lower-case letters, digits, ".", "_", "-"') })).trim();
  const directory = (await ui.input('Directory there (relative to the account\'s home or chroot)', { default: b?.directory ?? '.', validate: (v) => (/^[A-Za-z0-9._/-]+$/.test(v.trim()) && !v.trim().split('/').includes('..') ? true : 'a directory such as "backups" or ".", without ".."') })).trim();
  ui.print('On the backup host, print its host key fingerprint with: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
  const fingerprint = parseFingerprint(
    await ui.input('Backup host key fingerprint (SHA256:…)', {
      default: b?.hostKeySha256 ?? '',
      validate: (v) => {
        try {
          parseFingerprint(v);
          return true;
        } catch (err) {
          return (err as Error).message;
        }
      },
    }),
  );
  const every = await ui.select('How often', [{ name: 'Daily', value: 'day' as const }, { name: 'Weekly', value: 'week' as const }], { default: b?.schedule.every ?? 'day' });
  const day = every === 'week' ? await ui.select('On', DAYS.map((name, value) => ({ name, value })), { default: b?.schedule.every === 'week' ? b.schedule.day : 0 }) : 0;
  const at = (await ui.input("At (HH:MM, the appliance's time)", { default: b?.schedule.at ?? '02:00', validate: (v) => (TIME.test(v.trim()) ? true : 'a time from 00:00 to 23:59, as HH:MM') })).trim();
  const keepText = await ui.input('Backups to keep on the host', { default: String(b?.keep ?? 14), validate: (v) => (/^\d{1,4}$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 1000 ? true : 'a number from 1 to 1000') });
  const schedule = every === 'week' ? { every, day, at } : { every, at };
  const now = b ? [`${b.username}@${s.network.backupHost}:${b.directory}`, b.hostKeySha256, `${b.schedule.every === 'week' ? `weekly on ${DAYS[b.schedule.day]}` : 'daily'} at ${b.schedule.at}`, `keep ${b.keep}`] : [];
  const next = [`${username}@${host}:${directory}`, fingerprint, `${every === 'week' ? `weekly on ${DAYS[day]}` : 'daily'} at ${at}`, `keep ${Number(keepText)}`];
  if (!(await confirmChange(ui, 'Backups:', now, next, 'Apply (the firewall opens SFTP to this host only; the key server restarts)?'))) return;
  const { summary } = await ui.call('backup.configure', { host, username, directory, hostKeySha256: fingerprint, schedule, keep: Number(keepText) });
  done(ui, summary);
}
