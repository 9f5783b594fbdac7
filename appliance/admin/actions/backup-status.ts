// What the menu's Backups entry and the status screen show: the settings, the backup key's
// generation, the SSH key, and the key server's scheduler status (last success, last failure, next run).
import { z } from 'zod';
import { defineAction, type ActionContext } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { BackupStatusResult } from '../../backup/backup-worker-ops.js';
import type { BackupSettings } from '../../backup/backup-settings.js';

export interface BackupOverview {
  host: string | null;
  settings: BackupSettings | null;
  key: { generation: number; threshold: number; count: number; created: string; check: string } | null;
  publicKey: string | null;
  status: BackupStatusResult | null;
}

export async function backupOverview(ctx: ActionContext): Promise<BackupOverview> {
  const s = ctx.settings.read();
  const state = await asDataOwner(ctx.paths, 'backup.state', {});
  return { host: s.network.backupHost ?? null, settings: s.backup ?? null, key: state.key, publicKey: state.publicKey, status: state.status };
}

export const backupStatus = defineAction({
  name: 'backup.status',
  title: 'Show Backup Status',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const o = await backupOverview(ctx);
    return { result: o, summary: 'showed the backup status', objectId: 'backup' };
  },
});
