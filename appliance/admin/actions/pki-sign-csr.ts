// Signs a pasted certificate signing request as a client certificate (vCenter's "Make KMS trust
// vCenter" flow hands out such a CSR).
import { z } from 'zod';
import { signCsr } from '../../../server/pki/index.js';
import { defineAction } from '../action.js';
import { changingPki, handedOut, type HandedOutCertificate } from './pki-change.js';

export type SignedCsr = HandedOutCertificate;

export const pkiSignCsr = defineAction({
  name: 'pki.sign-csr',
  title: 'Sign CSR',
  schema: z
    .object({
      csr: z.string().max(64 * 1024),
      commonName: z.string().max(64).optional(),
      days: z.number().int().optional(),
    })
    .strict(),
  async run(p, ctx) {
    const signed = await changingPki(ctx, () =>
      signCsr(ctx.paths.dataDir, p.csr, {
        ...(p.commonName !== undefined ? { commonName: p.commonName } : {}),
        ...(p.days !== undefined ? { days: p.days } : {}),
      }),
    );
    const result: SignedCsr = handedOut(ctx, signed);
    return { result, summary: `signed a CSR for ${signed.subject}, serial ${signed.serial}, valid until ${result.notAfter}`, objectId: signed.serial };
  },
});
