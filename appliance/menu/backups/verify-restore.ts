// Backups → Verify a backup / Restore over this appliance: pick one of the backups on the backup
// host, the custodians type their shares, and the helper fetches and checks it (verify) or restores
// it over this appliance's keys (the current store kept aside), which needs its name typed again.
import type { Ui } from '../ui.js';
import { done } from '../forms.js';
import { askShares } from './share-prompt.js';

interface Listed {
  name: string;
  size: number;
  modified: string;
}

interface Opened {
  name: string;
  made: string;
  host: string;
  generation: number;
  contents: { objects: number; auditRecords: number; certificates: number; byType: Record<string, number>; byState: Record<string, number> };
  auditVerified?: number;
}

const by = (r: Record<string, number>): string => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

export function openedText(o: Opened): string {
  return [
    `  made:           ${o.made} on ${o.host}`,
    `  generation:     ${o.generation}`,
    `  objects:        ${o.contents.objects} (${by(o.contents.byType)}; ${by(o.contents.byState)})`,
    `  audit records:  ${o.contents.auditRecords}${o.auditVerified !== undefined ? `, chain verified (${o.auditVerified})` : ''}`,
    `  certificates:   ${o.contents.certificates} issued`,
  ].join('\n');
}

async function pickBackup(ui: Ui): Promise<string | undefined> {
  const { result } = await ui.call<Listed[]>('backup.list');
  if (result.length === 0) {
    ui.print('\nThere are no backups on the backup host yet.');
    return undefined;
  }
  const shown = result.slice(0, 30);
  return ui.select<string | undefined>('Which backup', [
    ...shown.map((b) => ({ name: `${b.name}  ${(b.size / 1048576).toFixed(1)} MiB  ${b.modified.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`, value: b.name })),
    { name: 'Back', value: undefined },
  ]);
}

export async function verifyBackup(ui: Ui): Promise<void> {
  const name = await pickBackup(ui);
  if (!name) return;
  const shares = await askShares(ui, 'Verifying');
  ui.print('\nFetching and checking the backup…');
  const { result, summary } = await ui.call<Opened>('backup.verify', { name, shares });
  ui.print(`\n${name} is intact:\n${openedText(result)}`);
  done(ui, summary);
}

export async function restoreBackup(ui: Ui): Promise<void> {
  ui.print('\nRestoring replaces every key on this appliance with the backup\'s: keys made since the backup are gone from this\nappliance (the current store is kept aside in the data directory, not deleted). The key server stops meanwhile.');
  const name = await pickBackup(ui);
  if (!name) return;
  const confirm = (await ui.input(`To restore it, type its name (${name})`, { validate: (v) => (v.trim() === name || v.trim() === '' ? true : 'that is not the name: type it exactly, or leave it empty to cancel') })).trim();
  if (confirm !== name) return ui.print('\nNothing was restored.');
  const shares = await askShares(ui, 'Restoring');
  ui.print('\nStopping the key server, fetching, checking and restoring…');
  const { result, summary } = await ui.call<Opened & { replacedInto: string | null }>('backup.restore', { name, shares, confirm });
  ui.print(`\nRestored ${name}:\n${openedText(result)}`);
  done(ui, summary);
}
