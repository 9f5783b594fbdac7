// Change the admin password (console and SSH): the current password first (the helper verifies it),
// then the new one twice, checked against the password policy while typing and again by the helper.
import { checkPassword, MIN_LENGTH } from '../../accounts/password-policy.js';
import { hostname } from 'node:os';
import { done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const passwordOption: MenuOption = {
  label: 'Change the admin password',
  description: `The password of "admin" on the console and over SSH (at least ${MIN_LENGTH} characters)`,
  async run(ui) {
    ui.print(`\nAt least ${MIN_LENGTH} characters; a passphrase of several words is good.`);
    const current = await ui.password('Current admin password', (v) => v.length > 0 || 'type the password you use now');
    const first = await ui.password('New admin password', (v) => {
      if (v === current) return 'This is the same as the current password: choose another.';
      const verdict = checkPassword(v, { username: 'admin', hostname: hostname() });
      return verdict.ok || verdict.reasons.join(' ');
    });
    const second = await ui.password('Repeat the new password');
    if (first !== second) return ui.print('\nThe two passwords differ: the password was not changed.\n');
    const { summary } = await ui.call('account.set-password', { current, password: first });
    done(ui, summary);
  },
};
