// Sign a certificate signing request pasted into the terminal (e.g. vCenter's "Make KMS trust
// vCenter" CSR) as a client certificate, and print it to copy back. First the administrator sees what
// the certificate will carry — subject, subjectAltNames, those left out — and confirms; a subject
// that a valid client certificate already has needs a second, explicit yes (menu/reissue.ts).
import type { CsrPreview } from '../../admin/actions/pki-preview-csr.js';
import type { SignedCsr } from '../../admin/actions/pki-sign-csr.js';
import { block, done } from '../forms.js';
import type { MenuOption } from '../option.js';
import { confirmReissue } from '../reissue.js';

export const signCsrOption: MenuOption = {
  label: 'Sign a certificate request (CSR)',
  description: 'Paste a CSR (PEM); get a client certificate signed by the appliance CA',
  async run(ui) {
    const csr = await ui.paste('Paste the CSR, from -----BEGIN CERTIFICATE REQUEST----- to the END line (Ctrl-C to cancel):', /-----END (NEW )?CERTIFICATE REQUEST-----/);
    const { result: p } = await ui.call<CsrPreview>('pki.preview-csr', { csr });
    ui.print(
      [
        '\nThe certificate will carry:',
        `  Subject        ${p.subject}`,
        `  Names (SANs)   ${p.altNames.length ? p.altNames.join(', ') : '(none)'}`,
        ...(p.dropped.length ? ['  Left out       (the CSR asked for them; the certificate will not carry them)', ...p.dropped.map((d) => `                 ${d}`)] : []),
        `  Key            RSA ${p.keyBits} bits; the CSR is signed with ${p.signatureHash}`,
        '  Use            TLS client (clientAuth), signed by the appliance CA',
      ].join('\n'),
    );
    let reissue = false;
    if (p.existing) {
      if (!(await confirmReissue(ui, p.subject, p.existing, 'signed'))) return;
      reissue = true;
    } else if (!(await ui.confirm('Sign this certificate request?', true))) {
      return ui.print('\nNothing was signed.\n');
    }
    const { result: c, summary } = await ui.call<SignedCsr>('pki.sign-csr', { csr, reissue });
    ui.print('\nCopy the certificate (and the CA, which the client must trust):');
    block(ui, `${c.name}.crt`, c.certPem);
    block(ui, 'keyhaven-ca.crt', c.caPem);
    ui.print(`\nSubject ${c.subject}, serial ${c.serial}\nSHA-256 ${c.fingerprint}\nValid until ${c.notAfter.slice(0, 10)}`);
    if (c.reissueOf.length) ui.print(`Re-issue of serial ${c.reissueOf.map((r) => r.serial).join(', ')}: revoke it once the client uses this certificate.`);
    done(ui, summary);
  },
};
