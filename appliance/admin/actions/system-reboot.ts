// Reboots. Queued (--no-block) so the helper still answers and records before the system goes down.
import { z } from 'zod';
import { defineAction } from '../action.js';

export const systemReboot = defineAction({
  name: 'system.reboot',
  title: 'Reboot',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    await ctx.system.run('/usr/bin/systemctl', ['--no-block', 'reboot']);
    return { result: {}, summary: 'reboot requested', objectId: 'system' };
  },
});
