// Revokes one client certificate by serial and re-signs the CRL (in the data directory, as its
// owner); the key server reloads the CRL and drops the client's connections within seconds. The
// server certificate cannot be revoked here.
import { z } from 'zod';
import { REVOCATION_REASON_NAMES, type RevocationReason } from '../../../server/index.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type RevokeOutcome = WorkerResult<'pki.revoke'>;

const hexSerial = z.string().regex(/^[0-9A-Fa-f:]{1,128}$/, 'must be the certificate serial number in hexadecimal');

export const pkiRevoke = defineAction({
  name: 'pki.revoke',
  title: 'Revoke Certificate',
  schema: z.object({ serial: hexSerial, reason: z.enum(REVOCATION_REASON_NAMES as [RevocationReason, ...RevocationReason[]]) }).strict(),
  async run(p, ctx) {
    const result = await asDataOwner(ctx.paths, 'pki.revoke', { serial: p.serial, reason: p.reason });
    const summary = result.alreadyRevoked ? `certificate ${result.serial} (${result.subject}) was already revoked` : `revoked ${result.subject}, serial ${result.serial}, reason ${p.reason}; CRL number ${result.crlNumber}`;
    return { result, summary, objectId: result.serial };
  },
});
