// Renew the server certificate before it expires (it lasts at most 825 days, and vCenter loses its
// key provider when it lapses): same names and addresses, a new key. The key server switches to it
// without dropping a connection.
import type { RenewedServerCertificate, ServerCertificate } from '../../admin/actions/pki-server-certificate.js';
import { block, day, done } from '../forms.js';
import type { MenuOption } from '../option.js';

const DAY_MS = 86_400_000;
const daysLeft = (iso: string): number => Math.floor((Date.parse(iso) - Date.now()) / DAY_MS);

export const renewServerCertificateOption: MenuOption = {
  label: 'Renew the server certificate',
  description: 'A new key and certificate for the same names and addresses; clients stay connected',
  async run(ui) {
    const { result: c } = await ui.call<ServerCertificate>('pki.server-certificate');
    const left = daysLeft(c.notAfter);
    ui.print(
      [
        '',
        'The server certificate (what clients see on port 6000):',
        `  Subject      ${c.subject}`,
        `  Names        ${[...c.dns, ...c.ip].join(', ')}`,
        `  Serial       ${c.serial}`,
        `  SHA-256      ${c.fingerprint}`,
        `  Valid until  ${day(c.notAfter)} (${left < 0 ? 'EXPIRED' : `${left} days`})`,
        '',
        'Renewing makes a new key and a certificate for the same names and addresses, signed by the appliance CA.',
        'Clients that trust the appliance CA (as vCenter does once given keyhaven-ca.crt) keep working; a client',
        'that was given this server certificate itself must be given the new one, shown after renewing.',
      ].join('\n'),
    );
    if (!(await ui.confirm('Renew the server certificate now?', false))) return ui.print('\nNothing was changed.\n');
    ui.print('Generating the key and certificate…');
    const { result: r, summary } = await ui.call<RenewedServerCertificate>('pki.renew-server');
    block(ui, 'keyhaven-server.crt', r.certPem);
    ui.print(
      [
        '',
        'New server certificate:',
        `  Serial       ${r.serial}`,
        `  SHA-256      ${r.fingerprint}`,
        `  Valid until  ${day(r.notAfter)} (${r.days} days)${r.limitedByCa ? ' — no later than the appliance CA, which expires soon after: plan a new CA' : ''}`,
        `  Key server   ${r.keyServer}`,
      ].join('\n'),
    );
    done(ui, summary);
  },
};
