// Backups → Backup key and custodian shares: makes the backup key (or, once one exists, its next
// generation: backups made from then on need the new shares, older ones their own) and prints each
// custodian's share once, one at a time, so each custodian sees only their own.
import type { Ui } from '../ui.js';
import { done } from '../forms.js';

interface KeyInit {
  generation: number;
  check: string;
  count: number;
  threshold: number;
  shares: string[];
}

export async function makeBackupKey(ui: Ui, existing: { generation: number } | null): Promise<void> {
  if (existing) {
    ui.print(`\nThe backup key is at generation ${existing.generation}. A new generation is for when a custodian leaves or a share may be known:\nbackups made from now on need the new shares; the older backups still need the shares of their own generation.`);
    if (!(await ui.confirm(`Make backup-key generation ${existing.generation + 1}?`, false))) return;
  }
  const count = Number(await ui.input('Number of custodians (shares)', { default: '3', validate: (v) => (/^\d{1,2}$/.test(v.trim()) && Number(v) >= 2 && Number(v) <= 16 ? true : 'from 2 to 16') }));
  const threshold = Number(await ui.input('Shares needed to rebuild the key', { default: String(Math.min(2, count)), validate: (v) => (/^\d{1,2}$/.test(v.trim()) && Number(v) >= 2 && Number(v) <= count ? true : `from 2 to ${count}`) }));
  const { result, summary } = await ui.call<KeyInit>('backup.key-init', { count, threshold, rekey: existing !== null });
  ui.print(`\nBackup-key generation ${result.generation} (check value ${result.check}). Its ${result.count} shares follow, one custodian at a time;\nany ${result.threshold} of them rebuild the key. They are not stored anywhere and are never shown again.`);
  for (const [i, share] of result.shares.entries()) {
    await ui.confirm(`Custodian ${i + 1} of ${result.count}: ready to write down your share?`, true);
    ui.print(`\n  Share ${i + 1} of ${result.count}:  ${share}\n`);
    await ui.confirm(`Custodian ${i + 1}: written down (and checked)? The screen scrolls it away next`, true);
    ui.print('\n'.repeat(40));
  }
  done(ui, summary);
}
