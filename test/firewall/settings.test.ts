import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { KeyhavenError, ErrorCodes } from '../../firewall/errors.js';
import { networkPolicySettingsSchema, parseNetworkPolicySettings, type NetworkPolicySettings } from '../../firewall/settings.js';

/** The error message parseNetworkPolicySettings gives for `input` (fails the test if it accepts it). */
function problems(input: unknown, prefix = ''): string {
  try {
    parseNetworkPolicySettings(input, prefix);
  } catch (err) {
    assert.ok(err instanceof KeyhavenError);
    assert.equal(err.code, ErrorCodes.FIREWALL_INVALID);
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

test('defaults: everything off and empty', () => {
  const expected: NetworkPolicySettings = {
    adminNetworks: [],
    ssh: { enabled: false },
    keyManagement: { enabled: false, networks: [] },
    webManagement: { enabled: false, networks: [] },
    mirroring: { peers: [], restrictInbound: false },
    siemHosts: [],
    ntpServers: [],
    dnsServers: [],
  };
  assert.deepEqual(parseNetworkPolicySettings(undefined), expected);
  assert.deepEqual(parseNetworkPolicySettings({}), expected);
  assert.deepEqual(networkPolicySettingsSchema.parse({}), expected);
});

test('values are normalised: canonical text, bare addresses become host networks', () => {
  const s = parseNetworkPolicySettings({
    adminNetworks: ['192.0.2.7', '2001:DB8:0::/48'],
    ssh: { enabled: true },
    siemHosts: ['2001:db8:0:0::10'],
    backupHost: '198.51.100.30',
  });
  assert.deepEqual(s.adminNetworks, ['192.0.2.7/32', '2001:db8::/48']);
  assert.deepEqual(s.siemHosts, ['2001:db8::10']);
  assert.equal(s.backupHost, '198.51.100.30');
  // Normalised output parses to itself.
  assert.deepEqual(parseNetworkPolicySettings(s), s);
});

test('a bad network is named by its setting path, as in the issue', () => {
  assert.equal(
    problems({ adminNetworks: ['10.0.0.0/24', '10.0.0.300/24'], ssh: { enabled: true } }),
    'adminNetworks[1]: "10.0.0.300/24" is not an IPv4 or IPv6 network',
  );
  assert.equal(
    problems({ keyManagement: { enabled: true, networks: ['10.0.0.5/24'] } }, 'network'),
    'network.keyManagement.networks[0]: "10.0.0.5/24" has host bits set; write 10.0.0.0/24 for the network or 10.0.0.5/32 for the one host',
  );
});

test('hostnames are refused wherever the firewall pins a destination, with the reason', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ siemHosts: ['siem.example.com'] }, 'siemHosts[0]'],
    [{ backupHost: 'backup.example.com' }, 'backupHost'],
    [{ ntpServers: ['192.0.2.123', 'pool.ntp.org'] }, 'ntpServers[1]'],
    [{ dnsServers: ['resolver'] }, 'dnsServers[0]'],
    [{ mirroring: { peers: ['kh2.example.com'] } }, 'mirroring.peers[0]'],
    [{ adminNetworks: ['admin.example.com'] }, 'adminNetworks[0]'],
  ];
  for (const [input, path] of cases) {
    const message = problems(input);
    assert.match(message, new RegExp(`^${path.replace(/[.[\]]/g, '\\$&')}: ".*" is a hostname; .*an IPv4 or IPv6 address is needed$`), message);
  }
});

test('destinations are single addresses, not networks', () => {
  assert.equal(problems({ backupHost: '192.0.2.0/24' }), 'backupHost: "192.0.2.0/24" is a network; a single IPv4 or IPv6 address is needed here');
});

test('an opening switched on with no source networks is refused, not opened to everyone', () => {
  assert.match(problems({ ssh: { enabled: true } }), /^adminNetworks: SSH \(ssh\.enabled\) is enabled but no source networks are configured/);
  assert.match(problems({ keyManagement: { enabled: true } }), /^keyManagement\.networks: key management \(6001\) is enabled/);
  assert.match(problems({ webManagement: { enabled: true, networks: [] } }), /^webManagement\.networks: web management \(3886\) is enabled/);
});

test('mirroring restricted to no peers is a group of one: 6002 closed inbound, not refused', () => {
  const s = parseNetworkPolicySettings({ mirroring: { restrictInbound: true } });
  assert.deepEqual(s.mirroring, { peers: [], restrictInbound: true });
});

test('repeated and overlapping entries are refused, naming both', () => {
  assert.equal(
    problems({ adminNetworks: ['10.0.0.0/8', '10.1.0.0/16'] }),
    'adminNetworks[1]: "10.1.0.0/16" lies inside entry [0] "10.0.0.0/8"; remove one of them',
  );
  assert.match(problems({ adminNetworks: ['10.1.0.0/16', '10.0.0.0/8'] }), /adminNetworks\[1\]: "10\.0\.0\.0\/8" contains entry \[0\]/);
  assert.match(problems({ adminNetworks: ['10.0.0.1', '10.0.0.1/32'] }), /adminNetworks\[1\]: "10\.0\.0\.1\/32" repeats entry \[0\]/);
  assert.match(problems({ siemHosts: ['2001:db8::1', '2001:DB8::0:1'] }), /siemHosts\[1\]: "2001:db8::1" repeats entry \[0\]/);
  // Overlapping entries are not counted twice towards "every address": 0.0.0.0/2 lies inside 0.0.0.0/1,
  // and the three cover half of IPv4, so only the overlap is refused.
  assert.equal(
    problems({ adminNetworks: ['0.0.0.0/1', '0.0.0.0/2', '64.0.0.0/2'] }),
    [
      'adminNetworks[1]: "0.0.0.0/2" lies inside entry [0] "0.0.0.0/1"; remove one of them',
      'adminNetworks[2]: "64.0.0.0/2" lies inside entry [0] "0.0.0.0/1"; remove one of them',
    ].join('\n'),
  );
  assert.match(problems({ adminNetworks: ['0.0.0.0/1', '128.0.0.0/1'] }), /together cover every IPv4 address/);
  // The same address in different roles is fine.
  assert.doesNotThrow(() => parseNetworkPolicySettings({ siemHosts: ['192.0.2.1'], ntpServers: ['192.0.2.1'] }));
});

test('unknown keys and wrong types are refused (a typo must not silently mean "off")', () => {
  assert.match(problems({ shh: { enabled: true } }), /^\(top level\): Unrecognized key\(s\) in object: 'shh'/);
  assert.match(problems({ ssh: { enable: true } }), /^ssh: Unrecognized key/);
  assert.match(problems({ ssh: { enabled: 'yes' } }), /^ssh\.enabled: Expected boolean, received string/);
  assert.match(problems({ siemHosts: '192.0.2.1' }), /^siemHosts: Expected array, received string/);
  assert.match(problems(null), /Expected object, received null/);
});

test('every problem is reported at once, one line each', () => {
  const message = problems({ adminNetworks: ['x.example', '10.0.0.300'], siemHosts: ['1.2.3.4.5'], ssh: { enabled: true } }, 'network');
  const lines = message.split('\n');
  assert.equal(lines.length, 3, message);
  assert.match(lines[0] ?? '', /^network\.adminNetworks\[0\]: /);
  assert.match(lines[1] ?? '', /^network\.adminNetworks\[1\]: /);
  assert.match(lines[2] ?? '', /^network\.siemHosts\[0\]: /);
});

test('the schema composes into a larger configuration (as appliance/ will do)', () => {
  const appliance = z.object({ hostname: z.string().default('keyhaven'), network: networkPolicySettingsSchema.default({}) }).strict();
  assert.deepEqual(appliance.parse({}).network.ssh, { enabled: false });
  const result = appliance.safeParse({ network: { siemHosts: ['nope.example'] } });
  assert.equal(result.success, false);
  assert.deepEqual(result.error?.issues[0]?.path, ['network', 'siemHosts', 0]);
});
