// The policy's meaning, checked without a kernel: the model is interpreted (helpers/evaluate.ts) and
// compared with what the settings imply, computed independently here (node:net BlockList for
// network membership). The netns test checks the same against the real kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlockList, isIPv6 } from 'node:net';
import { KeyhavenError, ErrorCodes } from '../../firewall/errors.js';
import { failClosedRuleset } from '../../firewall/fail-closed.js';
import type { Ruleset } from '../../firewall/model.js';
import { buildPolicy, renderPolicy } from '../../firewall/policy.js';
import { parseNetworkPolicySettings, type NetworkPolicySettings } from '../../firewall/settings.js';
import { evaluate, type Packet } from './helpers/evaluate.js';
import { randomSettings } from './helpers/random-settings.js';
import { drawFrom, runParameters, type Draw } from '../support/property.js';

const APPLIANCE4 = '192.0.2.1';
const APPLIANCE6 = '2001:db8:1::1';
const self = (peer: string) => (isIPv6(peer) ? APPLIANCE6 : APPLIANCE4);

const inbound = (saddr: string, proto: 'tcp' | 'udp', dport: number, ct: Packet['ct'] = 'new'): Packet => ({ hook: 'input', saddr, daddr: self(saddr), proto, dport, ct, iif: 'eth0' });
const outbound = (daddr: string, proto: 'tcp' | 'udp', dport: number, ct: Packet['ct'] = 'new'): Packet => ({ hook: 'output', saddr: self(daddr), daddr, proto, dport, ct, oif: 'eth0' });

function member(networks: readonly string[], address: string): boolean {
  const list = new BlockList();
  for (const n of networks) {
    const [base, prefix] = n.split('/');
    list.addSubnet(base ?? '', Number(prefix), isIPv6(base ?? '') ? 'ipv6' : 'ipv4');
  }
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** What the settings say about a new inbound connection, straight from the list. */
function oracleIn(s: NetworkPolicySettings, src: string, proto: 'tcp' | 'udp', port: number): boolean {
  if (proto !== 'tcp') return false;
  if (port === 6000 || port === 6003) return true;
  if (port === 6002) return !s.mirroring.restrictInbound || s.mirroring.peers.includes(src);
  if (port === 22) return s.ssh.enabled && member(s.adminNetworks, src);
  if (port === 6001) return s.keyManagement.enabled && member(s.keyManagement.networks, src);
  if (port === 3886) return s.webManagement.enabled && member(s.webManagement.networks, src);
  return false;
}

/** What the settings say about a new outbound connection. */
function oracleOut(s: NetworkPolicySettings, dst: string, proto: 'tcp' | 'udp', port: number): boolean {
  if (port === 514) return s.siemHosts.includes(dst);
  if (port === 6002) return proto === 'tcp' && s.mirroring.peers.includes(dst);
  if (port === 22) return proto === 'tcp' && s.backupHost === dst;
  if (port === 123) return proto === 'udp' && s.ntpServers.includes(dst);
  if (port === 53) return s.dnsServers.includes(dst);
  return false;
}

const PORTS = [1, 22, 25, 53, 80, 123, 443, 514, 3886, 6000, 6001, 6002, 6003, 8080, 65535];

function candidates(s: NetworkPolicySettings, r: Draw): string[] {
  const hex = () => r.int(0x10000).toString(16);
  const networks = [...s.adminNetworks, ...s.keyManagement.networks, ...s.webManagement.networks];
  return [
    ...networks.map((n) => n.split('/')[0] ?? ''),
    ...s.mirroring.peers,
    ...s.siemHosts,
    ...s.ntpServers,
    ...s.dnsServers,
    ...(s.backupHost ? [s.backupHost] : []),
    `10.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}`,
    `2001:db8:${hex()}:${hex()}::${hex()}`,
    '198.51.100.77',
    '2001:db8:ffff::77',
  ];
}

function checkAgainstOracle(s: NetworkPolicySettings, ruleset: Ruleset, r: Draw): number {
  let checked = 0;
  for (const addr of candidates(s, r)) {
    for (const port of PORTS) {
      for (const proto of ['tcp', 'udp'] as const) {
        const wantIn = oracleIn(s, addr, proto, port) ? 'accept' : 'drop';
        assert.equal(evaluate(ruleset, inbound(addr, proto, port)), wantIn, `inbound ${proto} ${addr} -> ${port}`);
        const wantOut = oracleOut(s, addr, proto, port) ? 'accept' : 'drop';
        assert.equal(evaluate(ruleset, outbound(addr, proto, port)), wantOut, `outbound ${proto} -> ${addr}:${port}`);
        checked += 2;
      }
    }
  }
  return checked;
}

test('default settings: of all 65535 TCP and UDP ports, inbound accepts exactly TCP 6000, 6002, 6003; outbound nothing', () => {
  const ruleset = buildPolicy(undefined);
  for (const src of ['203.0.113.9', '2001:db8:9::9']) {
    const open: string[] = [];
    for (let port = 1; port <= 65535; port++) {
      for (const proto of ['tcp', 'udp'] as const) {
        if (evaluate(ruleset, inbound(src, proto, port)) === 'accept') open.push(`${proto}/${port}`);
        assert.equal(evaluate(ruleset, outbound(src, proto, port)), 'drop', `outbound ${proto}/${port} to ${src}`);
      }
    }
    assert.deepEqual(open, ['tcp/6000', 'tcp/6002', 'tcp/6003'], src);
  }
});

test('random settings (fast-check, 300 runs): every verdict matches what the settings imply', (t) => {
  let checked = 0;
  fc.assert(
    fc.property(fc.gen(), (g) => {
      const r = drawFrom(g);
      const settings = parseNetworkPolicySettings(randomSettings(r));
      checked += checkAgainstOracle(settings, buildPolicy(settings), r);
    }),
    runParameters(t, 300),
  );
  t.diagnostic(`${checked} packet verdicts compared with the settings oracle`);
});

test('replies, loopback and invalid packets', () => {
  const ruleset = buildPolicy({ siemHosts: ['203.0.113.10'] });
  for (const ct of ['established', 'related'] as const) {
    assert.equal(evaluate(ruleset, inbound('198.51.100.1', 'tcp', 40000, ct)), 'accept');
    assert.equal(evaluate(ruleset, outbound('198.51.100.1', 'udp', 40000, ct)), 'accept');
  }
  assert.equal(evaluate(ruleset, { ...inbound('127.0.0.1', 'tcp', 12345), iif: 'lo', daddr: '127.0.0.1' }), 'accept');
  assert.equal(evaluate(ruleset, { ...outbound('::1', 'udp', 53), oif: 'lo', saddr: '::1' }), 'accept');
  // A stray packet that conntrack cannot place is dropped even on an open port.
  assert.equal(evaluate(ruleset, inbound('198.51.100.1', 'tcp', 6000, 'invalid')), 'drop');
  assert.equal(evaluate(ruleset, outbound('203.0.113.10', 'tcp', 514, 'invalid')), 'drop');
  // Nothing is forwarded, whatever its state.
  assert.equal(evaluate(ruleset, { ...inbound('198.51.100.1', 'tcp', 6000, 'established'), hook: 'forward' }), 'drop');
});

test('ICMP: ping and errors in, neighbour discovery only from the link (hop limit 255)', () => {
  const ruleset = buildPolicy(undefined);
  const icmp = (hook: 'input' | 'output', peer: string, icmpType: string, hoplimit?: number): Packet => ({
    hook,
    saddr: hook === 'input' ? peer : self(peer),
    daddr: hook === 'input' ? self(peer) : peer,
    proto: isIPv6(peer) ? 'icmpv6' : 'icmp',
    icmpType,
    ct: 'new',
    ...(hoplimit === undefined ? {} : { hoplimit }),
  });
  const v4 = '198.51.100.1';
  const v6 = 'fe80::1';
  assert.equal(evaluate(ruleset, icmp('input', v4, 'echo-request')), 'accept');
  assert.equal(evaluate(ruleset, icmp('input', v4, 'destination-unreachable')), 'accept');
  assert.equal(evaluate(ruleset, icmp('input', v4, 'echo-reply')), 'drop');
  assert.equal(evaluate(ruleset, icmp('input', v6, 'echo-request')), 'accept');
  assert.equal(evaluate(ruleset, icmp('input', v6, 'packet-too-big')), 'accept');
  for (const t of ['nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-advert']) {
    assert.equal(evaluate(ruleset, icmp('input', v6, t, 255)), 'accept', t);
    assert.equal(evaluate(ruleset, icmp('input', v6, t, 64)), 'drop', `${t} routed from afar`);
  }
  assert.equal(evaluate(ruleset, icmp('input', v6, 'mld-listener-query', 1)), 'accept');
  assert.equal(evaluate(ruleset, icmp('output', v6, 'nd-neighbor-solicit', 255)), 'accept');
  assert.equal(evaluate(ruleset, icmp('output', v6, 'nd-router-solicit', 255)), 'accept');
  assert.equal(evaluate(ruleset, icmp('output', v6, 'mld2-listener-report', 1)), 'accept');
  // The appliance does not start pings of its own.
  assert.equal(evaluate(ruleset, icmp('output', v4, 'echo-request')), 'drop');
  assert.equal(evaluate(ruleset, icmp('output', v6, 'echo-request')), 'drop');
});

test('every outbound accept is pinned to a destination address; every optional inbound port to sources (fast-check, 100 runs)', (t) => {
  fc.assert(fc.property(fc.gen(), (g) => {
    const ruleset = buildPolicy(randomSettings(drawFrom(g)));
    for (const chain of ruleset.chains) {
      for (const rule of chain.rules) {
        const port = rule.matches.find((m) => m.kind === 'port');
        if (!port || port.kind !== 'port') continue;
        if (chain.name === 'output') {
          assert.ok(rule.matches.some((m) => m.kind === 'address' && m.field === 'daddr'), 'unpinned outbound rule');
        }
        if (chain.name === 'input' && port.ports.some((p) => p !== 6000 && p !== 6002 && p !== 6003)) {
          assert.ok(rule.matches.some((m) => m.kind === 'address' && m.field === 'saddr'), 'unrestricted inbound rule');
        }
      }
    }
    for (const set of ruleset.sets) assert.ok(set.elements.length > 0, `empty set ${set.name}`);
  }), runParameters(t, 100));
});

test('each chain drops by policy and ends with a rate-limited log and a counted drop', () => {
  for (const ruleset of [buildPolicy(undefined), failClosedRuleset()]) {
    for (const chain of ruleset.chains) {
      assert.equal(chain.base?.policy, 'drop', chain.name);
      const [log, drop] = chain.rules.slice(-2);
      assert.deepEqual(log?.statements.map((s) => s.kind), ['limit', 'log'], chain.name);
      assert.deepEqual(drop?.statements, [{ kind: 'counter' }, { kind: 'verdict', verdict: 'drop' }]);
    }
  }
  const text = renderPolicy(undefined);
  assert.match(text, /limit rate \d+\/minute burst \d+ packets log prefix "keyhaven-drop-in: "/);
  assert.match(text, /limit rate \d+\/minute burst \d+ packets log prefix "keyhaven-drop-out: "/);
});

test('openings that are off leave no trace, even with networks configured', () => {
  const text = renderPolicy({
    adminNetworks: ['192.0.2.0/24'],
    keyManagement: { enabled: false, networks: ['198.51.100.0/24'] },
    webManagement: { enabled: false, networks: ['2001:db8::/32'] },
  });
  assert.equal(text, renderPolicy(undefined));
});

test('fail-closed: only loopback, in both directions; even replies are cut', () => {
  const ruleset = failClosedRuleset();
  assert.equal(evaluate(ruleset, inbound('198.51.100.1', 'tcp', 6000)), 'drop');
  assert.equal(evaluate(ruleset, inbound('198.51.100.1', 'tcp', 6000, 'established')), 'drop');
  assert.equal(evaluate(ruleset, outbound('198.51.100.1', 'udp', 514, 'established')), 'drop');
  assert.equal(evaluate(ruleset, { ...inbound('127.0.0.1', 'tcp', 6000), iif: 'lo' }), 'accept');
  assert.equal(evaluate(ruleset, { ...outbound('::1', 'tcp', 6000), oif: 'lo' }), 'accept');
});

test('invalid settings never produce a ruleset', () => {
  for (const bad of [{ siemHosts: ['siem.example.com'] }, { ssh: { enabled: true } }, { adminNetworks: ['10.0.0.300/24'] }, { extra: 1 }]) {
    assert.throws(
      () => renderPolicy(bad as never),
      (err: unknown) => err instanceof KeyhavenError && err.code === ErrorCodes.FIREWALL_INVALID,
    );
  }
});
