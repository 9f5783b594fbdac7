// Revokes one client certificate by serial and re-signs the CRL; the key server reloads the CRL and
// drops the client's connections within seconds. The server certificate cannot be revoked here.
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../../server/errors.js';
import { listIssued, revoke, REVOCATION_REASON_NAMES, type RevocationReason } from '../../../server/pki/index.js';
import { defineAction } from '../action.js';
import { changingPki } from './pki-change.js';

export interface RevokeOutcome {
  serial: string;
  subject: string;
  alreadyRevoked: boolean;
  crlNumber?: number;
}

const hexSerial = z.string().regex(/^[0-9A-Fa-f:]{1,128}$/, 'must be the certificate serial number in hexadecimal');

export const pkiRevoke = defineAction({
  name: 'pki.revoke',
  title: 'Revoke Certificate',
  schema: z.object({ serial: hexSerial, reason: z.enum(REVOCATION_REASON_NAMES as [RevocationReason, ...RevocationReason[]]) }).strict(),
  async run(p, ctx) {
    const norm = (s: string) => s.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
    const target = listIssued(ctx.paths.dataDir).find((c) => norm(c.serial) === norm(p.serial));
    if (!target) throw new KeyhavenError(ErrorCodes.PKI_UNKNOWN_CERTIFICATE, `no certificate with serial ${p.serial} was issued by this appliance: choose one from the list`);
    if (target.kind !== 'client') throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `serial ${p.serial} is the server certificate: it cannot be revoked from the menu (clients would lose the key server)`);
    const r = await changingPki(ctx, () => revoke(ctx.paths.dataDir, { serial: p.serial }, p.reason));
    const result: RevokeOutcome = { serial: target.serial, subject: target.subject, alreadyRevoked: r.revoked.length === 0, ...(r.crl ? { crlNumber: r.crl.crlNumber } : {}) };
    const summary = result.alreadyRevoked ? `certificate ${target.serial} (${target.subject}) was already revoked` : `revoked ${target.subject}, serial ${target.serial}, reason ${p.reason}; CRL number ${result.crlNumber}`;
    return { result, summary, objectId: target.serial };
  },
});
