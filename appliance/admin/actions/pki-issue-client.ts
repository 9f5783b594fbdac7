// Issues a client certificate (clientAuth) for vCenter, MongoDB, MySQL or an application and hands
// back everything the client needs as text: certificate, private key and CA in PEM, and optionally a
// PKCS#12 bundle (base64). The private key and bundle are then deleted from the appliance: it keeps
// no client's private key; a lost one is replaced by revoking and issuing again.
import { readFileSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { issueClient } from '../../../server/pki/index.js';
import { defineAction } from '../action.js';
import { changingPki, handedOut, type HandedOutCertificate } from './pki-change.js';

export const CLIENT_PURPOSES = {
  vcenter: 'vCenter / vSAN key provider',
  mongodb: 'MongoDB Enterprise',
  mysql: 'MySQL Enterprise',
  application: 'an application',
} as const;

export interface IssuedBundle extends HandedOutCertificate {
  keyPem: string;
  /** DER of the PKCS#12 bundle in base64, when a bundle password was given. */
  p12Base64?: string;
}

export const pkiIssueClient = defineAction({
  name: 'pki.issue-client',
  title: 'Issue Client Certificate',
  schema: z
    .object({
      name: z.string().max(64),
      purpose: z.enum(['vcenter', 'mongodb', 'mysql', 'application']),
      dns: z.array(z.string().max(253)).max(16).default([]),
      days: z.number().int().optional(),
      p12Password: z.string().min(10, 'the bundle password needs at least 10 characters').max(128).optional(),
    })
    .strict(),
  async run(p, ctx) {
    const issued = await changingPki(ctx, () =>
      issueClient(ctx.paths.dataDir, {
        name: p.name,
        organization: 'Keyhaven',
        dns: p.dns,
        ...(p.days !== undefined ? { days: p.days } : {}),
        ...(p.p12Password !== undefined ? { p12Password: p.p12Password } : {}),
      }),
    );
    const result: IssuedBundle = {
      ...handedOut(ctx, { ...issued, name: p.name, certPem: readFileSync(issued.certPath, 'utf8') }),
      keyPem: readFileSync(issued.keyPath, 'utf8'),
      ...(issued.p12Path ? { p12Base64: readFileSync(issued.p12Path).toString('base64') } : {}),
    };
    rmSync(issued.keyPath, { force: true });
    if (issued.p12Path) rmSync(issued.p12Path, { force: true });
    return {
      result,
      summary: `issued client certificate '${p.name}' for ${CLIENT_PURPOSES[p.purpose]}: ${issued.subject}, serial ${issued.serial}, valid until ${result.notAfter}${result.p12Base64 ? ', with PKCS#12 bundle' : ''}`,
      objectId: issued.serial,
    };
  },
});
