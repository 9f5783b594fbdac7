// The support bundle as text to copy (SSH runs only this menu: there is no file transfer), with its
// size and SHA-256 so the administrator can check the copy before sending it to support.
import type { SupportBundle } from '../../admin/actions/support-bundle.js';
import { block, done } from '../forms.js';
import type { MenuOption } from '../option.js';

const wrap = (b64: string): string => b64.replace(/(.{76})/g, '$1\n');

export const supportBundleOption: MenuOption = {
  label: 'Create a support bundle',
  description: 'Versions, services, recent logs, firewall, settings and certificate expiry for support; no keys, passwords or private keys',
  async run(ui) {
    ui.print('Collecting (this takes a few seconds)…');
    const { result: b, summary } = await ui.call<SupportBundle>('support.bundle');
    const name = `${b.directory}.tar.gz`;
    const text = wrap(b.base64);
    ui.print(
      `\nThe bundle holds no keys, master key, private keys, PKCS#12 bundles, password hashes or SSH keys; text that looked like a secret was removed (${b.redactions} places).` +
        `\nCopy the block below (${text.split('\n').length} lines: your terminal's scrollback must hold them) into a file named ${name}.b64.`,
    );
    block(ui, `${name}.b64`, text);
    ui.print(
      [
        '',
        `Size    ${b.bytes} bytes`,
        `SHA-256 ${b.sha256}`,
        ...(b.truncated.length ? ['Cut to fit:', ...b.truncated.map((t) => `  ${t}`)] : []),
        '',
        'On your workstation, decode it and compare the SHA-256 with the one above:',
        `  Linux:        base64 -d ${name}.b64 > ${name} && sha256sum ${name}`,
        `  macOS:        base64 -d -i ${name}.b64 -o ${name} && shasum -a 256 ${name}`,
        `  Windows:      certutil -decode ${name}.b64 ${name} && certutil -hashfile ${name} SHA256`,
      ].join('\n'),
    );
    done(ui, summary);
  },
};
