// Issues a client certificate (clientAuth) for vCenter, MongoDB, MySQL or an application and hands
// back everything the client needs as text: certificate, private key and CA in PEM, and optionally a
// PKCS#12 bundle (base64). The private key and bundle are then deleted from the appliance: it keeps
// no client's private key; a lost one is replaced by revoking and issuing again. The work is done in
// the data directory by its owner (data-owner.ts). A name or subject that a valid certificate already
// has is refused unless `reissue` says the administrator confirmed a second certificate for it (the
// new one reads the keys the old one owns); the audit record then names the certificate it re-issues.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';
import { CLIENT_PURPOSES } from '../menu-shared.js';
import { reissueNote } from './pki-preview-client.js';

export type IssuedBundle = WorkerResult<'pki.issue-client'>;

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
      reissue: z.boolean().default(false),
    })
    .strict(),
  async run(p, ctx) {
    const b = await asDataOwner(ctx.paths, 'pki.issue-client', {
      name: p.name,
      dns: p.dns,
      ...(p.days !== undefined ? { days: p.days } : {}),
      ...(p.p12Password !== undefined ? { p12Password: p.p12Password } : {}),
      reissue: p.reissue,
    });
    const what = `client certificate '${b.name}' for ${CLIENT_PURPOSES[p.purpose]}: ${b.subject}, serial ${b.serial}, valid until ${b.notAfter}${b.p12Base64 ? ', with PKCS#12 bundle' : ''}`;
    return { result: b, summary: `${b.reissueOf.length ? 're-issued' : 'issued'} ${what}${reissueNote(b.reissueOf)}`, objectId: b.serial };
  },
});
