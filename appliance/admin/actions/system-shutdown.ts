// Powers off. Queued (--no-block) so the helper still answers and records before the system goes down.
import { z } from 'zod';
import { defineAction } from '../action.js';

export const systemShutdown = defineAction({
  name: 'system.shutdown',
  title: 'Shut Down',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    await ctx.system.run('/usr/bin/systemctl', ['--no-block', 'poweroff']);
    return { result: {}, summary: 'shutdown requested', objectId: 'system' };
  },
});
