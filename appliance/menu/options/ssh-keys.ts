// SSH keys for admin: list, add (ssh-ed25519, ECDSA, or RSA of 3072 bits and more), remove.
import type { KeySummary } from '../../admin/authorized-keys.js';
import { parseSshPublicKey } from '../../admin/ssh-keys.js';
import { done } from '../forms.js';
import type { MenuOption } from '../option.js';

const describe = (k: KeySummary) => `${k.type} ${k.bits} bits ${k.fingerprint}${k.comment ? `  ${k.comment}` : ''}`;

export const sshKeysOption: MenuOption = {
  label: 'SSH keys for admin',
  description: 'Log in with a key instead of the password: add (ed25519, ECDSA, RSA ≥ 3072) or remove public keys',
  async run(ui) {
    const { result: keys } = await ui.call<KeySummary[]>('ssh-key.list');
    ui.print(keys.length ? `\nAuthorised keys:\n${keys.map((k) => `  ${describe(k)}`).join('\n')}` : '\nNo SSH keys are authorised: admin logs in with the password.');
    const what = await ui.select('What do you want to do?', [
      { name: 'Add a key', value: 'add' as const },
      ...(keys.length ? [{ name: 'Remove a key', value: 'remove' as const }] : []),
      { name: 'Back to the menu', value: 'back' as const },
    ]);
    if (what === 'back') return;
    if (what === 'add') {
      const key = await ui.input('Public key (the one line of e.g. ~/.ssh/id_ed25519.pub)', {
        validate: (v) => {
          try {
            parseSshPublicKey(v);
            return true;
          } catch (err) {
            return (err as Error).message;
          }
        },
      });
      const { summary } = await ui.call('ssh-key.add', { key });
      return done(ui, summary);
    }
    const fingerprint = await ui.select('Remove which key?', keys.map((k) => ({ name: describe(k), value: k.fingerprint })));
    if (!(await ui.confirm('Remove this key?', false))) return;
    const { summary } = await ui.call('ssh-key.remove', { fingerprint });
    done(ui, summary);
  },
};
