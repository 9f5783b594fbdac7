// The ruleset for when the settings cannot be trusted: nothing in or out but loopback. The console is
// not a network path, so the administrator can still log in there and fix the settings.
// The image ships its rendering as /usr/lib/keyhaven/firewall-fail-closed.nft (keyhaven-firewall.service).
import type { Chain, Ruleset } from './model.js';
import { TABLE } from './policy.js';
import { renderRuleset } from './render.js';
import { acceptLoopback, logAndDrop } from './rules/common.js';

const drop = (name: 'input' | 'forward' | 'output', rules: Chain['rules']): Chain => ({
  name,
  base: { type: 'filter', hook: name, priority: 'filter', policy: 'drop' },
  rules,
});

export function failClosedRuleset(): Ruleset {
  return {
    family: 'inet',
    table: TABLE,
    header: [
      'Keyhaven FAIL-CLOSED firewall: loaded when the network settings are invalid or the generated',
      'ruleset is missing or refused. Only loopback is allowed, in both directions; even established',
      'flows are cut. Fix the settings on the console and apply them again.',
    ],
    sets: [],
    chains: [
      drop('input', [acceptLoopback('iif'), ...logAndDrop('keyhaven-closed-in: ')]),
      drop('forward', logAndDrop('keyhaven-closed-fwd: ')),
      drop('output', [acceptLoopback('oif'), ...logAndDrop('keyhaven-closed-out: ')]),
    ],
  };
}

export function renderFailClosed(): string {
  return renderRuleset(failClosedRuleset());
}
