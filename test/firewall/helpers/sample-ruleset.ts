// A ruleset that uses every kind of match and statement the model has (render and nft -c tests).
import type { Ruleset, Statement } from '../../../firewall/model.js';

const accept: Statement = { kind: 'verdict', verdict: 'accept' };

export function sample(): Ruleset {
  return {
    family: 'inet',
    table: 'sample',
    header: ['first line', ''],
    sets: [
      { name: 'nets_v4', type: 'ipv4_addr', interval: true, elements: ['10.0.0.0/8', '192.0.2.7'], comment: 'some networks' },
      { name: 'hosts_v6', type: 'ipv6_addr', interval: false, elements: ['2001:DB8::1', '2001:db8::2'] },
      { name: 'empty_v4', type: 'ipv4_addr', interval: false, elements: [] },
    ],
    chains: [
      {
        name: 'input',
        base: { type: 'filter', hook: 'input', priority: 'filter', policy: 'drop' },
        rules: [
          { matches: [{ kind: 'ct-state', states: ['established', 'related'] }], statements: [accept] },
          { matches: [{ kind: 'interface', direction: 'iif', name: 'lo' }], statements: [accept] },
          { matches: [{ kind: 'address', family: 'ip', field: 'saddr', set: 'nets_v4' }, { kind: 'port', protocols: ['tcp'], ports: [22] }], statements: [accept], comment: 'ssh' },
          { matches: [{ kind: 'port', protocols: ['tcp'], ports: [6000, 6002] }], statements: [accept] },
          { matches: [{ kind: 'icmp', types: ['echo-request'] }], statements: [{ kind: 'limit', rate: 5, per: 'second' }, accept] },
          { matches: [{ kind: 'icmpv6', types: ['nd-neighbor-solicit', 'nd-neighbor-advert'] }, { kind: 'hoplimit', value: 255 }], statements: [accept] },
          { matches: [], statements: [{ kind: 'limit', rate: 1, per: 'minute', burst: 3 }, { kind: 'log', prefix: 'x-in: ', level: 'info' }] },
          { matches: [], statements: [{ kind: 'counter' }, { kind: 'verdict', verdict: 'drop' }] },
        ],
      },
      {
        name: 'output',
        base: { type: 'filter', hook: 'output', priority: -10, policy: 'accept' },
        rules: [
          { matches: [{ kind: 'address', family: 'ip6', field: 'daddr', set: 'hosts_v6' }, { kind: 'port', protocols: ['tcp', 'udp'], ports: [514] }], statements: [accept] },
          { matches: [{ kind: 'interface', direction: 'oif', name: 'lo' }], statements: [{ kind: 'counter' }] },
        ],
      },
      { name: 'helper', rules: [] },
    ],
  };
}

