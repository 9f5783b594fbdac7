// Mirroring → Add a server: the new server's address (this member's firewall must let it in to
// join), then a one-time join token and the group's CA fingerprint to paste and compare in the new
// appliance's first-boot wizard.
import type { MirrorAddOutcome } from '../../admin/actions/mirror-add.js';
import { parseAddressFor } from '../../../firewall/address.js';
import { block, done } from '../forms.js';
import type { Ui } from '../ui.js';

export async function addServer(ui: Ui): Promise<void> {
  ui.print('\nThe new server joins from its first-boot wizard (Join an existing mirror group). Its address is let\nthrough this firewall on 6002 while the token is valid.');
  const address = await ui.input("New server's IP address", {
    validate: (v) => {
      const parsed = parseAddressFor(v.trim(), 'mirroring peer');
      return parsed.ok ? true : parsed.reason;
    },
  });
  const { result, summary } = await ui.call<MirrorAddOutcome>('mirror.add', { address: address.trim() });
  ui.print(`\nPaste this join token into the new server's first-boot wizard. It works once, until ${result.expiresAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}.`);
  block(ui, 'join token', result.token);
  ui.print(['', "The group's CA fingerprint (the wizard shows it from the token: it must be this one):", `  ${result.caFingerprint}`, `The new server connects to this server at ${result.memberAddress}.`].join('\n'));
  done(ui, summary);
}
