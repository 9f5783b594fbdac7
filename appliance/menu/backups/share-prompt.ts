// The menu's share entry (backup/share-entry.ts): each share hidden as it is typed.
import { ShareEntry } from '../../backup/share-entry.js';
import type { Ui } from '../ui.js';

export async function askShares(ui: Ui, purpose: string): Promise<string[]> {
  ui.print(`\n${purpose} needs the backup key: each custodian types their share (KHS1-…). It is not shown as it is typed.`);
  const entry = new ShareEntry();
  while (!entry.complete) entry.add(await ui.password(entry.prompt, entry.check));
  return entry.lines;
}
