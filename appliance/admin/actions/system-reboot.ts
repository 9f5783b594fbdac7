// Reboots: queued (--no-block) only after the helper has recorded and sent its answer, since the
// system's stop ends the helper (and the menu's connection) at once.
import { z } from 'zod';
import { defineAction } from '../action.js';

export const systemReboot = defineAction({
  name: 'system.reboot',
  title: 'Reboot',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    return { result: {}, summary: 'reboot requested', objectId: 'system', afterAnswer: async () => void (await ctx.system.run('/usr/bin/systemctl', ['--no-block', 'reboot'])) };
  },
});
