import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { formatAddress, networkContains, parseIpAddress, parseIpNetwork, type IpNetwork } from '../../firewall/address.js';
import fc from 'fast-check';
import { drawFrom, runParameters } from '../support/property.js';

function network(text: string): IpNetwork {
  const p = parseIpNetwork(text);
  if (!p.ok) throw new Error(p.reason);
  return p.value;
}
function reason(r: { ok: boolean; reason?: string }): string {
  assert.equal(r.ok, false, 'expected a rejection');
  return r.reason ?? '';
}

test('networks are normalised to canonical CIDR text; a bare address is one host', () => {
  const cases: [string, string][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8:0:0::/32', '2001:db8::/32'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'],
    ['::/0', '::/0'],
    ['fe80::/10', 'fe80::/10'],
  ];
  for (const [input, expected] of cases) assert.equal(network(input).text, expected, input);
});

test('bad networks are refused with a reason that quotes the value', () => {
  assert.match(reason(parseIpNetwork('10.0.0.300/24')), /^"10\.0\.0\.300\/24" is not an IPv4 or IPv6 network$/);
  assert.match(reason(parseIpNetwork('10.0.0.0/33')), /prefix \/33 is longer than 32 bits/);
  assert.match(reason(parseIpNetwork('2001:db8::/129')), /prefix \/129 is longer than 128 bits/);
  assert.match(reason(parseIpNetwork('10.0.0.0/024')), /is not an IPv4 or IPv6 network/);
  assert.match(reason(parseIpNetwork('10.0.0.0/')), /is not an IPv4 or IPv6 network/);
  assert.match(reason(parseIpNetwork('010.0.0.0/8')), /is not an IPv4 or IPv6 network/);
  assert.match(reason(parseIpNetwork(' 10.0.0.0/8')), /surrounding spaces/);
  assert.match(reason(parseIpNetwork('10.0.0.5/24')), /host bits set; write 10\.0\.0\.0\/24 for the network or 10\.0\.0\.5\/32 for the one host/);
  assert.match(reason(parseIpNetwork('2001:db8::1/64')), /host bits set; write 2001:db8::\/64/);
  assert.match(reason(parseIpNetwork('admin.example.com')), /is a hostname; .* IPv4 or IPv6 address is needed/);
  assert.match(reason(parseIpNetwork('fe80::1%eth0')), /zone index/);
  assert.match(reason(parseIpNetwork('::ffff:192.0.2.1/128')), /IPv4-mapped .* write the IPv4 form 192\.0\.2\.1/);
  assert.match(reason(parseIpNetwork('10.0.0.0/8; flush ruleset')), /is not an IPv4 or IPv6 network/);
});

test('addresses: single hosts only, never names, networks or the unspecified address', () => {
  assert.equal((parseIpAddress('2001:DB8::0:1') as { value: { text: string } }).value.text, '2001:db8::1');
  assert.match(reason(parseIpAddress('siem.example.com')), /"siem\.example\.com" is a hostname/);
  assert.match(reason(parseIpAddress('localhost')), /is a hostname/);
  assert.match(reason(parseIpAddress('192.0.2.0/24')), /is a network; a single IPv4 or IPv6 address is needed/);
  assert.match(reason(parseIpAddress('0.0.0.0')), /unspecified address/);
  assert.match(reason(parseIpAddress('::')), /unspecified address/);
  assert.match(reason(parseIpAddress('1.2.3')), /is not an IPv4 or IPv6 address/);
  assert.match(reason(parseIpAddress('')), /is not an IPv4 or IPv6 address/);
});

test('IPv6 text matches the WHATWG URL serialiser (RFC 5952 form) for random and edge addresses (fast-check, 2000 runs)', (t) => {
  // Each group zero half of the time, so that compression is exercised.
  const group = fc.oneof(fc.constant(0n), fc.integer({ min: 0, max: 0xffff }).map(BigInt));
  const address = fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => gs.reduce((v, g) => (v << 16n) | g, 0n));
  const edges = [0n, 1n, (1n << 128n) - 1n, 0x20010db8000000000001000000000001n, 0x00010000000200000000000000000003n, 0xffff00000000n, 0xffffc0000201n];
  fc.assert(fc.property(address, (v) => {
    const text = formatAddress(6, v);
    const oracle = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    assert.equal(text, oracle);
    const back = parseIpNetwork(`${text}/128`);
    // IPv4-mapped addresses (::ffff:0:0/96, RFC 4291 §2.5.5.2) are refused by design: the IPv4 form is asked for.
    if (v >> 32n === 0xffffn) assert.ok(!back.ok && /IPv4-mapped IPv6 address; write the IPv4 form/.test(back.reason), `${text} is refused`);
    else assert.ok(back.ok && back.value.value === v, `round trip of ${text}`);
  }), runParameters(t, 2000, { examples: edges.map((v) => [v]) }));
});

test('embedded IPv4 forms parse to the same value as their hex form', () => {
  assert.equal(network('64:ff9b::192.0.2.1').text, '64:ff9b::c000:201/128');
  assert.equal(network('1:2:3:4:5:6:1.2.3.4').text, '1:2:3:4:5:6:102:304/128');
});

test('containment agrees with node:net BlockList for random networks and addresses (fast-check, 3000 runs)', (t) => {
  fc.assert(fc.property(fc.gen(), (g) => {
    const r = drawFrom(g);
    const v6 = r.bool();
    const bits = v6 ? 128 : 32;
    const randomValue = () => {
      let v = 0n;
      for (let b = 0; b < bits; b += 16) v = (v << 16n) | BigInt(r.int(0x10000));
      return v;
    };
    const prefix = r.int(bits + 1);
    const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
    const base = randomValue() & mask;
    const outer = network(`${formatAddress(v6 ? 6 : 4, base)}/${prefix}`);
    // Half the probes are inside the network by construction, half are random.
    const probe = r.bool() ? base | (randomValue() & ~mask & ((1n << BigInt(bits)) - 1n)) : randomValue();
    const probeText = formatAddress(v6 ? 6 : 4, probe);
    const list = new BlockList();
    list.addSubnet(formatAddress(v6 ? 6 : 4, base), prefix, v6 ? 'ipv6' : 'ipv4');
    const inner = network(`${probeText}/${bits}`);
    assert.equal(networkContains(outer, inner), list.check(probeText, v6 ? 'ipv6' : 'ipv4'), `${outer.text} ∋ ${probeText}`);
  }), runParameters(t, 3000));
});

test('containment between networks, and never across families', () => {
  assert.equal(networkContains(network('10.0.0.0/8'), network('10.1.0.0/16')), true);
  assert.equal(networkContains(network('10.1.0.0/16'), network('10.0.0.0/8')), false);
  assert.equal(networkContains(network('10.0.0.0/8'), network('11.0.0.0/16')), false);
  assert.equal(networkContains(network('::/0'), network('10.0.0.0/8')), false);
  assert.equal(networkContains(network('0.0.0.0/0'), network('2001:db8::/32')), false);
});
