// Signs a pasted certificate signing request as a client certificate (vCenter's "Make KMS trust
// vCenter" flow hands out such a CSR), in the data directory as its owner (data-owner.ts). A subject
// that a valid certificate already has is refused unless `reissue` says the administrator confirmed
// it (after pki.preview-csr); the audit record then names the certificate it re-issues.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';
import { reissueNote } from './pki-preview-client.js';

export type SignedCsr = WorkerResult<'pki.sign-csr'>;

export const pkiSignCsr = defineAction({
  name: 'pki.sign-csr',
  title: 'Sign CSR',
  schema: z
    .object({
      csr: z.string().max(64 * 1024),
      commonName: z.string().max(64).optional(),
      days: z.number().int().optional(),
      reissue: z.boolean().default(false),
    })
    .strict(),
  async run(p, ctx) {
    const c = await asDataOwner(ctx.paths, 'pki.sign-csr', {
      csr: p.csr,
      ...(p.commonName !== undefined ? { commonName: p.commonName } : {}),
      ...(p.days !== undefined ? { days: p.days } : {}),
      reissue: p.reissue,
    });
    return { result: c, summary: `${c.reissueOf.length ? 're-issued' : 'signed'} a CSR for ${c.subject}, serial ${c.serial}, valid until ${c.notAfter}${reissueNote(c.reissueOf)}`, objectId: c.serial };
  },
});
