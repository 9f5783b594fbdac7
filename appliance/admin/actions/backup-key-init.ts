// Makes the backup key, or its next generation, and hands out its M-of-N custodian shares once: they
// are in this answer only (never in the audit record or the journal, never on the appliance).
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export const backupKeyInit = defineAction({
  name: 'backup.key-init',
  title: 'Create Backup Key',
  schema: z.object({ count: z.number().int(), threshold: z.number().int(), rekey: z.boolean() }).strict(),
  async run(p, ctx) {
    if (!Number.isInteger(p.count) || p.count < 2 || p.count > 16) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `count: ${p.count} custodians; give 2 to 16`);
    if (p.threshold < 2 || p.threshold > p.count) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `threshold: ${p.threshold}; give 2 to ${p.count} (the number of custodians)`);
    const k = await asDataOwner(ctx.paths, 'backup.key-init', p);
    return {
      result: k,
      summary: `made backup-key generation ${k.generation} (check value ${k.check}), shown as ${k.count} shares, any ${k.threshold} of which rebuild it`,
      objectId: `backup-key/${k.generation}`,
    };
  },
});
