// Mirroring status: what the running key server last wrote about each peer (connected since when,
// queue, lag, last error, last digest comparison). Read by the data worker; null before the key
// server has run with mirroring.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type MirrorStatusOutcome = WorkerResult<'mirror.status'>;

export const mirrorStatus = defineAction({
  name: 'mirror.status',
  title: 'Show Mirroring Status',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result: MirrorStatusOutcome = await asDataOwner(ctx.paths, 'mirror.status', {});
    const summary = result ? `showed the mirroring status: ${result.peers.filter((p) => !p.removed).length} other members, ${result.peers.filter((p) => p.connected).length} connected` : 'showed the mirroring status: the key server has not run with mirroring yet';
    return { result, summary, ...(result ? { objectId: result.group } : {}) };
  },
});
