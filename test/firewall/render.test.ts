import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyhavenError, ErrorCodes } from '../../firewall/errors.js';
import type { Chain, Match, NftSet, Rule, Ruleset, Statement } from '../../firewall/model.js';
import { renderRuleset } from '../../firewall/render.js';
import { sample } from './helpers/sample-ruleset.js';

const accept: Statement = { kind: 'verdict', verdict: 'accept' };

const EXPECTED = `#!/usr/sbin/nft -f
# first line
#

table inet sample
delete table inet sample

table inet sample {
\tset nets_v4 { type ipv4_addr; flags interval; comment "some networks"; elements = { 10.0.0.0/8, 192.0.2.7/32 }; }
\tset hosts_v6 { type ipv6_addr; elements = { 2001:db8::1, 2001:db8::2 }; }
\tset empty_v4 { type ipv4_addr; }

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\tip saddr @nets_v4 tcp dport 22 accept comment "ssh"
\t\ttcp dport { 6000, 6002 } accept
\t\ticmp type echo-request limit rate 5/second accept
\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept
\t\tlimit rate 1/minute burst 3 packets log prefix "x-in: " level info
\t\tcounter drop
\t}

\tchain output {
\t\ttype filter hook output priority -10; policy accept;
\t\tip6 daddr @hosts_v6 meta l4proto { tcp, udp } th dport 514 accept
\t\toif "lo" counter
\t}

\tchain helper {
\t}
}
`;

test('renders every model element to the expected nft text', () => {
  assert.equal(renderRuleset(sample()), EXPECTED);
});

// Mutations of the sample that must be refused, and what the error must say.
type Mutation = [string, (r: Ruleset) => Ruleset, RegExp];
const withRule = (rule: Rule) => (r: Ruleset): Ruleset => ({
  ...r,
  chains: r.chains.map((c, i) => (i === 0 ? { ...c, rules: [...c.rules, rule] } : c)),
});
const withMatch = (m: Match) => withRule({ matches: [m], statements: [accept] });
const withSet = (s: NftSet) => (r: Ruleset): Ruleset => ({ ...r, sets: [...r.sets, s] });
const withChain = (c: Chain) => (r: Ruleset): Ruleset => ({ ...r, chains: [...r.chains, c] });
const tcp = (ports: number[]): Match => ({ kind: 'port', protocols: ['tcp'], ports });

const mutations: Mutation[] = [
  ['port 70000', withMatch(tcp([70000])), /chain "input", rule 9: port 70000 is out of range 1–65535/],
  ['port 0', withMatch(tcp([0])), /port 0 is out of range/],
  ['fractional port', withMatch(tcp([22.5])), /port 22\.5 is out of range/],
  ['no ports', withMatch(tcp([])), /port list is empty/],
  ['duplicate port', withMatch(tcp([22, 22])), /port 22 is listed twice/],
  ['bad protocol', withMatch({ kind: 'port', protocols: ['sctp' as 'tcp'], ports: [22] }), /"sctp" is not a known protocol/],
  ['bad CIDR in a set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: true, elements: ['10.0.0.300/24'] }), /set "bad_v4", element \[0\]: "10\.0\.0\.300\/24" is not an IPv4 or IPv6 network/],
  ['host bits in a set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: true, elements: ['10.0.0.1/24'] }), /host bits set/],
  ['IPv6 in an IPv4 set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: false, elements: ['2001:db8::1'] }), /"2001:db8::1" is not an IPv4 address \(set type ipv4_addr\)/],
  ['network in an address set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: false, elements: ['10.0.0.0/8'] }), /is a network/],
  ['overlap in a set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: true, elements: ['10.0.0.0/8', '10.2.0.0/16'] }), /"10\.2\.0\.0\/16" overlaps "10\.0\.0\.0\/8"/],
  ['repeat in a set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: false, elements: ['10.0.0.1', '10.0.0.1'] }), /listed twice/],
  ['hostname in a set', withSet({ name: 'bad_v4', type: 'ipv4_addr', interval: false, elements: ['siem.example'] }), /is a hostname/],
  ['set name with spaces', withSet({ name: 'x; flush ruleset', type: 'ipv4_addr', interval: false, elements: [] }), /"x; flush ruleset" is not a valid name/],
  ['duplicate set', withSet({ name: 'nets_v4', type: 'ipv4_addr', interval: false, elements: [] }), /set "nets_v4": is defined twice/],
  ['bad set type', withSet({ name: 'odd', type: 'ether_addr' as 'ipv4_addr', interval: false, elements: [] }), /"ether_addr" is not a known set type/],
  ['undefined set', withMatch({ kind: 'address', family: 'ip', field: 'saddr', set: 'nope' }), /set @nope is not defined/],
  ['set of the wrong family', withMatch({ kind: 'address', family: 'ip', field: 'daddr', set: 'hosts_v6' }), /ip daddr cannot match set @hosts_v6 of type ipv6_addr/],
  ['quote in a comment', withRule({ matches: [], statements: [accept], comment: 'a" drop; "b' }), /rule 9 .*comment: .* may only contain printable ASCII without "/],
  ['newline in a comment', withRule({ matches: [], statements: [accept], comment: 'a\nflush ruleset' }), /may only contain printable ASCII/],
  ['backslash in a log prefix', withRule({ matches: [], statements: [{ kind: 'log', prefix: 'a\\' }] }), /log prefix: .* without " or \\/],
  ['log prefix too long', withRule({ matches: [], statements: [{ kind: 'log', prefix: 'x'.repeat(128) }] }), /longer than 127 characters/],
  ['empty log prefix', withRule({ matches: [], statements: [{ kind: 'log', prefix: '' }] }), /must be a non-empty string/],
  ['bad log level', withRule({ matches: [], statements: [{ kind: 'log', prefix: 'p', level: 'loud' as 'info' }] }), /"loud" is not a known log level/],
  ['zero rate', withRule({ matches: [], statements: [{ kind: 'limit', rate: 0, per: 'second' }, accept] }), /limit rate 0 is out of range/],
  ['bad rate unit', withRule({ matches: [], statements: [{ kind: 'limit', rate: 1, per: 'week' as 'hour' }, accept] }), /"week" is not a known limit unit/],
  ['verdict not last', withRule({ matches: [], statements: [accept, { kind: 'counter' }] }), /the verdict must be the last statement/],
  ['no statement', withRule({ matches: [tcp([22])], statements: [] }), /a rule needs at least one statement/],
  ['bad verdict', withRule({ matches: [], statements: [{ kind: 'verdict', verdict: 'jump x' as 'accept' }] }), /"jump x" is not a known verdict/],
  ['interface name injection', withMatch({ kind: 'interface', direction: 'iif', name: 'lo" accept' }), /"lo\\" accept" is not an interface name/],
  ['bad ct state', withMatch({ kind: 'ct-state', states: ['weird' as 'new'] }), /"weird" is not a known ct state/],
  ['bad icmp type', withMatch({ kind: 'icmp', types: ['redirect' as 'echo-request'] }), /"redirect" is not a known icmp type/],
  ['bad hop limit', withMatch({ kind: 'hoplimit', value: 256 }), /hop limit 256 is out of range 0–255/],
  ['unknown match', withMatch({ kind: 'meta-mark' } as unknown as Match), /unknown match "meta-mark"/],
  ['duplicate chain', withChain({ name: 'input', rules: [] }), /chain "input": is defined twice/],
  ['bad hook', withChain({ name: 'pre', base: { type: 'filter', hook: 'prerouting' as 'input', priority: 0, policy: 'drop' }, rules: [] }), /"prerouting" is not a known hook/],
  ['bad priority', withChain({ name: 'pre', base: { type: 'filter', hook: 'input', priority: 1.5, policy: 'drop' }, rules: [] }), /priority 1\.5 is out of range/],
  ['bad policy', withChain({ name: 'pre', base: { type: 'filter', hook: 'input', priority: 0, policy: 'reject' as 'drop' }, rules: [] }), /"reject" is not a known policy/],
  ['bad table name', (r) => ({ ...r, table: 'Keyhaven' }), /^table: "Keyhaven" is not a valid name/],
  ['bad family', (r) => ({ ...r, family: 'ip' as 'inet' }), /family "ip" is not supported/],
  ['control character in the header', (r) => ({ ...r, header: ['ok', 'bad\n table inet x'] }), /header line 2: may only contain printable ASCII/],
];

for (const [name, mutate, expected] of mutations) {
  test(`refuses: ${name}`, () => {
    assert.throws(
      () => renderRuleset(mutate(sample())),
      (err: unknown) => {
        assert.ok(err instanceof KeyhavenError, String(err));
        assert.equal(err.code, ErrorCodes.FIREWALL_INVALID);
        assert.match(err.message, expected);
        return true;
      },
    );
  });
}
