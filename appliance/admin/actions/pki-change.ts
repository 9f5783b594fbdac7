// What the certificate actions share: the helper changes the PKI directory as root, so it is handed
// back to the key server's account afterwards — also when the change failed half-way; and a
// certificate handed out comes with the same description and the CA to trust.
import { readFileSync } from 'node:fs';
import { pkiPaths } from '../../../server/pki/index.js';
import type { ActionContext } from '../action.js';
import { giveBackToOwner } from '../data-dir.js';

export async function changingPki<T>(ctx: ActionContext, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } finally {
    giveBackToOwner(ctx.paths.dataDir, 'pki');
  }
}

export interface HandedOutCertificate {
  name: string;
  serial: string;
  subject: string;
  fingerprint: string;
  notAfter: string;
  certPem: string;
  caPem: string;
}

export function handedOut(ctx: ActionContext, c: { name: string; serial: string; subject: string; fingerprint: string; notAfter: Date; certPem: string }): HandedOutCertificate {
  return {
    name: c.name,
    serial: c.serial,
    subject: c.subject,
    fingerprint: c.fingerprint,
    notAfter: c.notAfter.toISOString(),
    certPem: c.certPem,
    caPem: readFileSync(pkiPaths(ctx.paths.dataDir).caCert, 'utf8'),
  };
}
