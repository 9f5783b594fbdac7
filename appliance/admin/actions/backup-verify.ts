// Verify a backup: fetched from the backup host and checked whole with the custodians' shares
// (digests, decryption, the audit chain, the sealed store digest), touching no live store.
import { z } from 'zod';
import { backupTarget } from '../../backup/backup-settings.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export const backupVerify = defineAction({
  name: 'backup.verify',
  title: 'Verify Backup',
  schema: z.object({ name: z.string().max(200), shares: z.array(z.string().max(200)).min(1).max(16) }).strict(),
  async run(p, ctx) {
    const r = await asDataOwner(ctx.paths, 'backup.verify', { target: backupTarget(ctx.settings.read()), name: p.name, shares: p.shares });
    return { result: r, summary: `verified ${p.name}: intact, ${r.contents.objects} objects, ${r.auditVerified} audit records, generation ${r.generation}`, objectId: p.name };
  },
});
