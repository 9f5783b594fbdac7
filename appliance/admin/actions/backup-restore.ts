// Restore over this appliance: destructive, so the request must repeat the backup's name. The key
// server is stopped, the backup restored over its store (the store that was there kept whole in the
// data directory's .replaced-<time>/), and the key server started again — also when the restore is
// refused, which changes nothing. The appliance's own settings and administration log stay (this log
// records the restore); the restored store's audit log records it too.
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { backupTarget } from '../../backup/backup-settings.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export const backupRestore = defineAction({
  name: 'backup.restore',
  title: 'Restore Backup',
  schema: z.object({ name: z.string().max(200), shares: z.array(z.string().max(200)).min(1).max(16), confirm: z.string().max(200) }).strict(),
  async run(p, ctx) {
    if (p.confirm !== p.name) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `confirm: type the backup's name (${p.name}) to replace this appliance's keys with it`);
    const target = backupTarget(ctx.settings.read());
    await ctx.system.run('/usr/bin/systemctl', ['stop', 'keyhaven.service'], { timeoutMs: 120_000 });
    let r;
    try {
      r = await asDataOwner(ctx.paths, 'backup.restore', { target, name: p.name, shares: p.shares, replace: true, anchorFile: ctx.paths.anchorFile, who: `${ctx.actor.user} at ${ctx.actor.address} (menu)` });
    } finally {
      await ctx.system.run('/usr/bin/systemctl', ['start', 'keyhaven.service'], { timeoutMs: 120_000 });
    }
    return {
      result: { name: r.name, made: r.made, host: r.host, generation: r.generation, contents: r.contents, auditSeq: r.auditSeq, replacedInto: r.replacedInto ?? null },
      summary: `restored ${p.name} (made ${r.made} on ${r.host}): ${r.contents.objects} objects; the store it replaced is kept in ${r.replacedInto ?? '(nothing was there)'}`,
      objectId: p.name,
    };
  },
});
