// The certificates the appliance CA issued, with their status (to choose one to revoke).
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type IssuedSummary = WorkerResult<'pki.list'>[number];

export const pkiList = defineAction({
  name: 'pki.list',
  title: 'List Certificates',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result: IssuedSummary[] = await asDataOwner(ctx.paths, 'pki.list', {});
    return { result, summary: `listed ${result.length} certificates` };
  },
});
