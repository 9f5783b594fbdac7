// What the certificate options say before they hand out an identity: a client is the subject of its
// certificate, so a certificate with the subject of a valid client's certificate acts as that client
// and reaches every key it owns. Shown with the certificate in use; a re-issue needs an explicit yes.
import type { CertificateInUse } from '../admin/actions/pki-preview-client.js';
import { day } from './forms.js';
import type { Ui } from './ui.js';


/**
 * Tells the administrator about `existing` and asks; true when a second certificate for that
 * identity (a re-issue) may be made. A CA's or server's subject is never given to a client.
 */
export async function confirmReissue(ui: Ui, subject: string, existing: CertificateInUse, what: string): Promise<boolean> {
  if (existing.kind === 'reserved') {
    ui.print(`\nThe subject ${subject} is the ${existing.name === 'CA' ? "appliance CA's" : "server certificate's"} (serial ${existing.serial}): a client certificate can never carry it.\nNothing was ${what}; use another name.\n`);
    return false;
  }
  ui.print(
    [
      '',
      `WARNING: the client certificate '${existing.name}' (serial ${existing.serial}, valid until ${day(existing.notAfter)}) already has the subject`,
      `  ${subject}`,
      'The key server knows a client by its subject: a new certificate with it IS that client, and can read and use',
      'every key that client owns. Go on only to renew that client (a new key or a new expiry date), then revoke the',
      `old certificate (serial ${existing.serial}) once the client uses the new one.`,
    ].join('\n'),
  );
  const yes = await ui.confirm(`Make a second certificate for this identity (re-issue of serial ${existing.serial})?`, false);
  if (!yes) ui.print(`\nNothing was ${what}.\n`);
  return yes;
}
