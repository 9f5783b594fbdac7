// First boot joining a mirror group, before the key server first starts (it would found a group of
// its own): 6002 opened to the member the token names, the join done by the data worker (as the key
// server's account), then 6002 opened to every member of the group. A join that fails — a bad or
// used token, a refusal, an unreachable member — leaves nothing behind (the worker removes the store
// it began), says why, and lets the administrator try again, paste another token, or found a new group.
import { select } from '@inquirer/prompts';
import { ServerCodes, splitAddress } from '../../server/index.js';
import { KeyhavenError } from '../errors.js';
import { groupPeers } from '../mirroring/group-peers.js';
import { withPeers } from '../mirroring/peer-firewall.js';
import { mirrorAdvertise } from '../boot/server-config.js';
import type { ApplianceSettings } from '../settings.js';
import { askToken, type GroupChoice } from './group-form.js';
import type { PromptContext } from './prompt-context.js';
import type { FirstBootSystem, JoinedGroup } from './system.js';

export interface GroupOutcome {
  /** The settings applied (mirroring peers included). */
  readonly settings: ApplianceSettings;
  /** Undefined: a new group (this appliance makes its own CA). */
  readonly joined?: JoinedGroup;
}

/** Applies `settings` with 6002 restricted to the group: nobody for a new group. */
export async function settleGroup(system: FirstBootSystem, settings: ApplianceSettings, first: GroupChoice, ctx: PromptContext): Promise<GroupOutcome> {
  const out = (s: string) => ctx.output.write(s);
  let choice: GroupChoice = first;
  for (;;) {
    if (choice.kind !== 'join') {
      const alone = withPeers(settings, []);
      await system.applySettings(alone);
      return { settings: alone };
    }
    const member = splitAddress(choice.parsed.address).host;
    const advertise = mirrorAdvertise(settings, settings.address.mode === 'dhcp' ? await system.ownAddress() : undefined);
    try {
      if (!advertise) throw new KeyhavenError(ServerCodes.MIRROR_JOIN_REFUSED, 'this appliance has no address yet (DHCP has not answered): check the network, then try again');
      // The member's address through the firewall first: nothing else reaches 6002.
      await system.applySettings(withPeers(settings, groupPeers(undefined, [{ address: member, until: Infinity }]).peers));
      out(`  joining the group through ${choice.parsed.address}…\n`);
      const joined = await system.joinGroup(choice.token, advertise);
      const peers = groupPeers({ address: advertise, peers: joined.members }, []).peers;
      const grouped = withPeers(settings, peers);
      await system.applySettings(grouped);
      return { settings: grouped, joined };
    } catch (err) {
      const message = err instanceof KeyhavenError ? `${err.message} [${err.code}]` : (err as Error).message;
      out(`\n  Joining failed: ${message}\n  Nothing was joined; this appliance is unchanged.\n\n`);
      choice = await afterFailure(choice, ctx);
    }
  }
}

/** Try again, another token (whose fingerprint is confirmed), or a new group. */
async function afterFailure(current: GroupChoice, ctx: PromptContext): Promise<GroupChoice> {
  for (;;) {
    const next = await select(
      {
        message: 'What now?',
        choices: [
          { name: 'Try again with the same token', value: 'again' as const },
          { name: 'Paste another token', value: 'token' as const },
          { name: 'Create a new mirror group instead', value: 'new' as const },
        ],
      },
      ctx,
    );
    if (next === 'again') return current;
    if (next === 'new') return { kind: 'new' };
    const other = await askToken(ctx);
    if (other) return other;
  }
}
