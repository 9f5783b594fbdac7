// Restarts the key server (keyhaven.service) and reports whether it came back.
import { z } from 'zod';
import { defineAction } from '../action.js';

export const keyServerRestart = defineAction({
  name: 'keyserver.restart',
  title: 'Restart Key Server',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    await ctx.system.run('/usr/bin/systemctl', ['restart', 'keyhaven.service'], { timeoutMs: 120_000 });
    const state = await ctx.system.run('/usr/bin/systemctl', ['is-active', 'keyhaven.service'], { allowFailure: true });
    const active = state.stdout.trim() || 'unknown';
    return { result: { active }, summary: `restarted the key server (now ${active})`, objectId: 'keyhaven.service' };
  },
});
