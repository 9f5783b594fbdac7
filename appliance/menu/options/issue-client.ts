// Issue a client certificate for vCenter, MongoDB, MySQL or an application, and hand it over as
// text: there is no file transfer into or out of the appliance (SSH runs only this menu), so the
// PEM files and the PKCS#12 bundle (base64) are printed between markers to copy from the terminal.
// A name or subject that a valid certificate already has is said so, and needs an explicit yes.
// Each answer is checked as it is entered, with the PKI's own rules.
import { checkClientName, checkDnsName } from '../../../server/index.js';
import type { IssuedBundle } from '../../admin/actions/pki-issue-client.js';
import { CLIENT_PURPOSES } from '../../admin/menu-shared.js';
import type { ClientPreview } from '../../admin/actions/pki-preview-client.js';
import { block, done, parseList } from '../forms.js';
import type { MenuOption } from '../option.js';
import { confirmReissue } from '../reissue.js';
import type { Validate } from '../ui.js';

/** A PKI check (server/pki/validate.ts, the rule the helper applies) as a prompt validator. */
const verdict =
  (check: (v: string) => unknown): Validate =>
  (v) => {
    try {
      check(v);
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  };

function wrap76(b64: string): string {
  return b64.replace(/(.{76})/g, '$1\n');
}

export const issueClientOption: MenuOption = {
  label: 'Issue a client certificate',
  description: 'A certificate and key for vCenter, MongoDB, MySQL or an application, shown as text to copy',
  async run(ui) {
    const purpose = await ui.select(
      'For which client?',
      (Object.keys(CLIENT_PURPOSES) as (keyof typeof CLIENT_PURPOSES)[]).map((k) => ({ name: CLIENT_PURPOSES[k], value: k })),
    );
    const name = await ui.input('Name (becomes the certificate subject CN and the file names)', {
      default: purpose === 'application' ? '' : purpose,
      validate: verdict(checkClientName),
    });
    // A name or subject a valid certificate has: the new one would be that client (menu/reissue.ts).
    const { result: preview } = await ui.call<ClientPreview>('pki.preview-client', { name });
    const reissue = preview.existing !== undefined;
    if (preview.existing && !(await confirmReissue(ui, preview.subject, preview.existing, 'issued'))) return;
    const dns = parseList(await ui.input('DNS names of the client for the certificate (optional, comma-separated)', { default: '', validate: verdict((v) => parseList(v).forEach(checkDnsName)) }));
    const format = await ui.select('How do you want to copy it?', [
      { name: 'PEM: certificate, private key and CA (vCenter, MongoDB, MySQL)', value: 'pem' as const },
      { name: 'PKCS#12 bundle (base64), protected by a password', value: 'p12' as const },
      { name: 'Both', value: 'both' as const },
    ]);
    let p12Password: string | undefined;
    if (format !== 'pem') {
      p12Password = await ui.password('Password for the PKCS#12 bundle (at least 10 printable ASCII characters)', (v) =>
        v.length < 10 ? 'use at least 10 characters' : /^[\x20-\x7e]+$/.test(v) ? true : 'use printable ASCII characters only',
      );
      const again = await ui.password('Repeat the bundle password');
      if (again !== p12Password) return ui.print('\nThe two bundle passwords differ: nothing was issued.\n');
    }
    ui.print('Generating the key and certificate…');
    const { result: b, summary } = await ui.call<IssuedBundle>('pki.issue-client', { name, purpose, dns, reissue, ...(p12Password ? { p12Password } : {}) });
    ui.print(`\nCopy the blocks below into files on your workstation (select the lines between the markers).\nThe appliance does not keep the private key: if it is lost, revoke this certificate and issue a new one.`);
    if (format !== 'p12') {
      block(ui, `${b.name}.crt`, b.certPem);
      block(ui, `${b.name}.key`, b.keyPem);
      block(ui, 'keyhaven-ca.crt', b.caPem);
    }
    if (b.p12Base64) {
      block(ui, `${b.name}.p12.b64`, wrap76(b.p12Base64));
      ui.print(`\nOn your workstation, save that block as ${b.name}.p12.b64, then decode it:\n  Linux/macOS:  base64 -d ${b.name}.p12.b64 > ${b.name}.p12\n  Windows:      certutil -decode ${b.name}.p12.b64 ${b.name}.p12`);
    }
    ui.print(`\nSubject ${b.subject}, serial ${b.serial}\nSHA-256 ${b.fingerprint}\nValid until ${b.notAfter.slice(0, 10)}`);
    if (b.reissueOf.length) ui.print(`Re-issue of serial ${b.reissueOf.map((r) => r.serial).join(', ')}: revoke it once the client uses this certificate.`);
    done(ui, summary);
  },
};
