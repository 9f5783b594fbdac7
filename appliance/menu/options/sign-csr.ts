// Sign a certificate signing request pasted into the terminal (e.g. vCenter's "Make KMS trust
// vCenter" CSR) as a client certificate, and print it to copy back.
import type { SignedCsr } from '../../admin/actions/pki-sign-csr.js';
import { block, done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const signCsrOption: MenuOption = {
  label: 'Sign a certificate request (CSR)',
  description: 'Paste a CSR (PEM); get a client certificate signed by the appliance CA',
  async run(ui) {
    const csr = await ui.paste('Paste the CSR, from -----BEGIN CERTIFICATE REQUEST----- to the END line (Ctrl-C to cancel):', /-----END (NEW )?CERTIFICATE REQUEST-----/);
    const { result: c, summary } = await ui.call<SignedCsr>('pki.sign-csr', { csr });
    ui.print('\nCopy the certificate (and the CA, which the client must trust):');
    block(ui, `${c.name}.crt`, c.certPem);
    block(ui, 'keyhaven-ca.crt', c.caPem);
    ui.print(`\nSubject ${c.subject}, serial ${c.serial}\nSHA-256 ${c.fingerprint}\nValid until ${c.notAfter.slice(0, 10)}`);
    done(ui, summary);
  },
};
