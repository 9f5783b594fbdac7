// The appliance CA's certificate (public), for vCenter's key provider trust ("Make KMS trust
// vCenter" / "Upload the KMS certificate") without issuing a client bundle. Read by the data worker.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type CaCertificate = WorkerResult<'pki.ca-certificate'>;

export const pkiCaCertificate = defineAction({
  name: 'pki.ca-certificate',
  title: 'Show CA Certificate',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result: CaCertificate = await asDataOwner(ctx.paths, 'pki.ca-certificate', {});
    return { result, summary: `showed the CA certificate ${result.subject}, SHA-256 ${result.fingerprint}`, objectId: result.fingerprint };
  },
});
