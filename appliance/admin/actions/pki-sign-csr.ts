// Signs a pasted certificate signing request as a client certificate (vCenter's "Make KMS trust
// vCenter" flow hands out such a CSR).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { pkiPaths, signCsr } from '../../../server/pki/index.js';
import { defineAction } from '../action.js';
import { giveBackToOwner } from '../data-dir.js';

export interface SignedCsr {
  name: string;
  serial: string;
  subject: string;
  fingerprint: string;
  notAfter: string;
  certPem: string;
  caPem: string;
}

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
    let signed;
    try {
      signed = await signCsr(ctx.paths.dataDir, p.csr, {
        ...(p.commonName !== undefined ? { commonName: p.commonName } : {}),
        ...(p.days !== undefined ? { days: p.days } : {}),
      });
    } finally {
      giveBackToOwner(ctx.paths.dataDir, 'pki');
    }
    const result: SignedCsr = {
      name: signed.name,
      serial: signed.serial,
      subject: signed.subject,
      fingerprint: signed.fingerprint,
      notAfter: signed.notAfter.toISOString(),
      certPem: signed.certPem,
      caPem: readFileSync(pkiPaths(ctx.paths.dataDir).caCert, 'utf8'),
    };
    return { result, summary: `signed a CSR for ${signed.subject}, serial ${signed.serial}, valid until ${result.notAfter}`, objectId: signed.serial };
  },
});
