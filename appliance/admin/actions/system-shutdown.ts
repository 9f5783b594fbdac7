// Powers off: queued (--no-block) only after the helper has recorded and sent its answer, since the
// system's stop ends the helper (and the menu's connection) at once.
import { z } from 'zod';
import { defineAction } from '../action.js';

export const systemShutdown = defineAction({
  name: 'system.shutdown',
  title: 'Shut Down',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    return { result: {}, summary: 'shutdown requested', objectId: 'system', afterAnswer: async () => void (await ctx.system.run('/usr/bin/systemctl', ['--no-block', 'poweroff'])) };
  },
});
