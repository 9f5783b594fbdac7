// Which mirror group this appliance belongs to: a new one (its own CA; other servers join it later
// from its menu), an existing one it joins with a token from a member's menu (Mirroring → Add a
// server), or the one of the backup it is restored from (restore-step.ts). The token carries the group's CA fingerprint: the administrator compares it with what the
// member's menu showed before anything is sent, so a token altered on the way is not trusted.
import { confirm, input, select } from '@inquirer/prompts';
import { parseJoinToken, type JoinToken } from '../../server/index.js';
import type { PromptContext } from './prompt-context.js';

export type GroupChoice = { readonly kind: 'new' } | { readonly kind: 'restore' } | { readonly kind: 'join'; readonly token: string; readonly parsed: JoinToken };

const tokenProblem = (v: string): string | true => {
  try {
    parseJoinToken(v);
    return true;
  } catch (err) {
    return (err as Error).message;
  }
};

export async function chooseGroup(ctx: PromptContext): Promise<GroupChoice> {
  for (;;) {
    const kind = await select(
      {
        message: 'Mirror group',
        choices: [
          { name: 'Create a new mirror group (a new CA; add other servers later from the menu)', value: 'new' as const },
          { name: "Join an existing mirror group (a join token from a member's menu)", value: 'join' as const },
          { name: 'Restore from a backup (the backup host, the backup, the custodians\' shares)', value: 'restore' as const },
        ],
      },
      ctx,
    );
    if (kind === 'new' || kind === 'restore') return { kind };
    const joined = await askToken(ctx);
    if (joined) return joined;
  }
}

/** A token whose CA fingerprint the administrator confirmed; undefined to choose again. */
export async function askToken(ctx: PromptContext): Promise<GroupChoice | undefined> {
  const token = (await input({ message: 'Join token (Mirroring → Add a server on a member; starts with KHJ1.)', validate: tokenProblem }, ctx)).trim();
  const parsed = parseJoinToken(token);
  ctx.output.write(
    [
      '',
      `  The token names the member at ${parsed.address} and the group's CA with SHA-256 fingerprint`,
      `    ${parsed.caFingerprint}`,
      '',
    ].join('\n'),
  );
  const same = await confirm({ message: "Is this the CA fingerprint the member's menu showed?", default: false }, ctx);
  if (same) return { kind: 'join', token, parsed };
  ctx.output.write('  Not joined: ask for a new token, or create a new group.\n');
  return undefined;
}
