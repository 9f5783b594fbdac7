// Rules every chain of the appliance shares: replies to allowed flows, loopback, and the logged drop.
import type { Rule } from '../model.js';

/** Replies and related ICMP errors of flows a rule already allowed (nftables wiki, "Matching connection tracking stateful metainformation"). */
export const acceptEstablished: Rule = {
  matches: [{ kind: 'ct-state', states: ['established', 'related'] }],
  statements: [{ kind: 'verdict', verdict: 'accept' }],
};

/** Packets conntrack cannot place in any flow (e.g. a stray ACK): never allowed by a port rule below. */
export const dropInvalid: Rule = {
  matches: [{ kind: 'ct-state', states: ['invalid'] }],
  statements: [{ kind: 'verdict', verdict: 'drop' }],
};

/** The appliance talks to itself over loopback (local services, health checks). */
export function acceptLoopback(direction: 'iif' | 'oif'): Rule {
  return { matches: [{ kind: 'interface', direction, name: 'lo' }], statements: [{ kind: 'verdict', verdict: 'accept' }] };
}

/**
 * The end of a chain: log what is refused, rate-limited so a scan or flood cannot fill the kernel log,
 * then count and drop. Over the rate the log rule simply does not match and the drop still happens.
 */
export function logAndDrop(prefix: string): Rule[] {
  return [
    { matches: [], statements: [{ kind: 'limit', rate: 10, per: 'minute', burst: 20 }, { kind: 'log', prefix }] },
    { matches: [], statements: [{ kind: 'counter' }, { kind: 'verdict', verdict: 'drop' }] },
  ];
}
