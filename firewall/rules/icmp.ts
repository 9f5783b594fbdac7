// Essential ICMP and ICMPv6. Errors that belong to a flow are already `related` (common.ts); these rules
// add what a host needs on its own: ping, path-MTU discovery, neighbour discovery and MLD
// (RFC 4890 §4.4.1, "Traffic that must not be dropped"). Everything here is rate-limited.
// Conntrack marks ND and MLD messages untracked, not invalid (nf_conntrack_proto_icmpv6.c,
// noct_valid_new), so the earlier `ct state invalid drop` does not touch them.
import type { Rule } from '../model.js';

const accept = { kind: 'verdict', verdict: 'accept' } as const;

export const inboundIcmp: Rule[] = [
  // Ping has its own budget, so a ping flood cannot use up the one of the errors (path MTU).
  { matches: [{ kind: 'icmp', types: ['echo-request'] }], statements: [{ kind: 'limit', rate: 10, per: 'second', burst: 20 }, accept] },
  { matches: [{ kind: 'icmpv6', types: ['echo-request'] }], statements: [{ kind: 'limit', rate: 10, per: 'second', burst: 20 }, accept] },
  {
    matches: [{ kind: 'icmp', types: ['destination-unreachable', 'time-exceeded', 'parameter-problem'] }],
    statements: [{ kind: 'limit', rate: 50, per: 'second', burst: 100 }, accept],
  },
  {
    matches: [{ kind: 'icmpv6', types: ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'] }],
    statements: [{ kind: 'limit', rate: 50, per: 'second', burst: 100 }, accept],
  },
  {
    // Hop limit 255 proves the sender is on the link (RFC 4861 §7.1.1): ND cannot be routed in.
    matches: [
      { kind: 'icmpv6', types: ['nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert'] },
      { kind: 'hoplimit', value: 255 },
    ],
    statements: [{ kind: 'limit', rate: 100, per: 'second', burst: 200 }, accept],
  },
  {
    // MLD queries keep multicast-snooping switches delivering neighbour solicitations to us (RFC 3810).
    matches: [{ kind: 'icmpv6', types: ['mld-listener-query'] }, { kind: 'hoplimit', value: 1 }],
    statements: [{ kind: 'limit', rate: 10, per: 'second', burst: 20 }, accept],
  },
];

export const outboundIcmp: Rule[] = [
  {
    matches: [
      { kind: 'icmpv6', types: ['nd-router-solicit', 'nd-neighbor-solicit', 'nd-neighbor-advert'] },
      { kind: 'hoplimit', value: 255 },
    ],
    statements: [{ kind: 'limit', rate: 100, per: 'second', burst: 200 }, accept],
  },
  {
    matches: [{ kind: 'icmpv6', types: ['mld-listener-report', 'mld2-listener-report'] }, { kind: 'hoplimit', value: 1 }],
    statements: [{ kind: 'limit', rate: 10, per: 'second', burst: 20 }, accept],
  },
];
