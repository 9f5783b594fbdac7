// The CA certificate as text to copy: vCenter asks for it when it registers Keyhaven as its key
// provider, and clients that verify the key server need it too. It is public: no secret is shown.
import type { CaCertificate } from '../../admin/actions/pki-ca-certificate.js';
import { block } from '../forms.js';
import type { MenuOption } from '../option.js';

export const showCaCertificateOption: MenuOption = {
  label: 'Show the CA certificate',
  description: 'The appliance CA certificate (PEM) and its fingerprint, for vCenter and other clients to trust',
  async run(ui) {
    const { result: ca } = await ui.call<CaCertificate>('pki.ca-certificate');
    ui.print('\nCopy the block below into a file on your workstation, e.g. keyhaven-ca.crt (select the lines between the markers).');
    block(ui, 'keyhaven-ca.crt', ca.pem);
    ui.print(
      [
        '',
        `Subject      ${ca.subject}`,
        `SHA-256      ${ca.fingerprint}`,
        `Valid from   ${ca.notBefore.slice(0, 10)} until ${ca.notAfter.slice(0, 10)}`,
        'Compare the fingerprint with what vCenter shows before you trust it.',
        '',
      ].join('\n'),
    );
  },
};
