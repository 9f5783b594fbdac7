// The backups on the backup host (every appliance's that writes there), newest first.
import { z } from 'zod';
import { backupTarget } from '../../backup/backup-settings.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export const backupList = defineAction({
  name: 'backup.list',
  title: 'List Backups',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const t = backupTarget(ctx.settings.read());
    const list = await asDataOwner(ctx.paths, 'backup.list', { target: t });
    return { result: list, summary: `listed ${list.length} backups on ${t.host}`, objectId: t.host };
  },
});
