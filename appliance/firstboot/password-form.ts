// The admin password, entered twice; the policy's reasons are shown inline while typing is refused.
import { password } from '@inquirer/prompts';
import { checkPassword, MIN_LENGTH } from '../accounts/password-policy.js';
import type { PromptContext } from './prompt-context.js';

export async function askNewPassword(hostname: string, ctx: PromptContext): Promise<string> {
  ctx.output.write(`\nChoose the password of the "admin" account (console and SSH). There is no default password.\nAt least ${MIN_LENGTH} characters; a passphrase of several words is good.\n`);
  for (;;) {
    const first = await password(
      {
        message: 'New admin password',
        mask: '*',
        validate: (v) => {
          const verdict = checkPassword(v, { username: 'admin', hostname });
          return verdict.ok || verdict.reasons.join(' ');
        },
      },
      ctx,
    );
    const second = await password({ message: 'Repeat the password', mask: '*' }, ctx);
    if (first === second) return first;
    ctx.output.write('The two passwords differ. Enter the password again.\n');
  }
}
