// vApp properties → settings: the DHCP and static cases, and a clear error naming the property for
// each kind of invalid value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, KeyhavenError } from '../../ova/errors.js';
import { propertiesToSettings, VAPP_PROPERTIES, VAPP_PROPERTY_KEYS, VappPropertyError, validateVappProperty } from '../../ova/vapp-properties.js';

test('every property is defined once, with a label, description, category and a valid default', () => {
  assert.deepEqual(
    VAPP_PROPERTIES.map((p) => p.key),
    [...VAPP_PROPERTY_KEYS],
  );
  for (const p of VAPP_PROPERTIES) {
    assert.ok(p.label && p.description && p.category, p.key);
    assert.equal(p.validate(p.defaultValue), undefined, `default of ${p.key}`);
  }
});

test('defaults alone mean DHCP, host name keyhaven, nothing else configured', () => {
  assert.deepEqual(propertiesToSettings({}), {
    hostname: 'keyhaven',
    network: { mode: 'dhcp' },
    dns: [],
    ntp: [],
    syslog: [],
    adminNetworks: [],
  });
});

test('DHCP with servers and admin networks (values trimmed, names lower-cased, addresses canonical)', () => {
  const settings = propertiesToSettings({
    'keyhaven.hostname': ' KMS-Lab.Example.COM ',
    'keyhaven.ip': '',
    'keyhaven.prefix': '24',
    'keyhaven.gateway': '',
    'keyhaven.dns': '192.0.2.53, 2001:DB8::53',
    'keyhaven.ntp': '192.0.2.123',
    'keyhaven.syslog': '192.0.2.10, 192.0.2.11:6514, [2001:db8:0:0::10]:514, 2001:db8::11',
    'keyhaven.admin_networks': '10.1.0.0/24,2001:DB8:1::/64 , 192.0.2.7/32',
  });
  assert.deepEqual(settings, {
    hostname: 'kms-lab.example.com',
    network: { mode: 'dhcp' },
    dns: ['192.0.2.53', '2001:db8::53'],
    ntp: ['192.0.2.123'],
    syslog: [
      { host: '192.0.2.10', port: 514 },
      { host: '192.0.2.11', port: 6514 },
      { host: '2001:db8::10', port: 514 },
      { host: '2001:db8::11', port: 514 },
    ],
    adminNetworks: ['10.1.0.0/24', '2001:db8:1::/64', '192.0.2.7/32'],
  });
});

test('static IPv4', () => {
  const s = propertiesToSettings({ 'keyhaven.ip': '10.10.0.25', 'keyhaven.prefix': '24', 'keyhaven.gateway': '10.10.0.1' });
  assert.deepEqual(s.network, { mode: 'static', address: '10.10.0.25', prefix: 24, gateway: '10.10.0.1' });
  const p2p = propertiesToSettings({ 'keyhaven.ip': '10.10.0.0', 'keyhaven.prefix': '31', 'keyhaven.gateway': '10.10.0.1' });
  assert.deepEqual(p2p.network, { mode: 'static', address: '10.10.0.0', prefix: 31, gateway: '10.10.0.1' }, 'RFC 3021 /31 links have no network or broadcast address');
});

test('static IPv6, with a global or a link-local gateway', () => {
  const global = propertiesToSettings({ 'keyhaven.ip': '2001:DB8:10::25', 'keyhaven.prefix': '64', 'keyhaven.gateway': '2001:db8:10::1' });
  assert.deepEqual(global.network, { mode: 'static', address: '2001:db8:10::25', prefix: 64, gateway: '2001:db8:10::1' });
  const linkLocal = propertiesToSettings({ 'keyhaven.ip': '2001:db8:10::25', 'keyhaven.prefix': '64', 'keyhaven.gateway': 'fe80::1' });
  assert.deepEqual(linkLocal.network, { mode: 'static', address: '2001:db8:10::25', prefix: 64, gateway: 'fe80::1' });
});

/** Expects one problem, on `key`, whose message matches. */
function refuses(values: Record<string, string>, key: string, message: RegExp): void {
  assert.throws(
    () => propertiesToSettings(values),
    (e: unknown) => {
      assert.ok(e instanceof VappPropertyError, String(e));
      assert.ok(e instanceof KeyhavenError);
      assert.equal(e.code, ErrorCodes.OVF_ENV_INVALID);
      assert.deepEqual(
        e.problems.map((p) => p.key),
        [key],
        e.message,
      );
      assert.match(e.message, new RegExp(`^${key.replace('.', '\\.')}: `));
      assert.match(e.message, message);
      return true;
    },
    JSON.stringify(values),
  );
}

const staticV4 = { 'keyhaven.ip': '10.10.0.25', 'keyhaven.prefix': '24', 'keyhaven.gateway': '10.10.0.1' };

test('invalid host names', () => {
  const h = (v: string, m: RegExp) => refuses({ 'keyhaven.hostname': v }, 'keyhaven.hostname', m);
  h('', /is empty; expected a host name/);
  h('kms_01', /not a valid host name; expected letters, digits and hyphens/);
  h('-kms', /not a valid host name/);
  h('kms..example', /empty label/);
  h('kms.', /empty label/);
  h(`${'a'.repeat(64)}.example`, /longer than 63/);
  h(Array.from({ length: 64 }, () => 'abcd').join('.'), /at most 253/);
  h('10.0.0.1', /is an IP address/);
  h('kms.123', /all-numeric label/);
});

test('invalid static addressing', () => {
  refuses({ 'keyhaven.ip': '10.10.0.300' }, 'keyhaven.ip', /"10\.10\.0\.300" is not an IPv4 or IPv6 address/);
  refuses({ 'keyhaven.ip': 'kms.example.com' }, 'keyhaven.ip', /is a host name; an IPv4 or IPv6 address is needed/);
  refuses({ 'keyhaven.ip': '[2001:db8::1]', 'keyhaven.gateway': '2001:db8::2' }, 'keyhaven.ip', /has brackets/);
  refuses({ 'keyhaven.ip': 'fe80::1%eth0', 'keyhaven.gateway': 'fe80::2' }, 'keyhaven.ip', /zone index/);
  refuses({ 'keyhaven.ip': '0.0.0.0', 'keyhaven.gateway': '10.0.0.1' }, 'keyhaven.ip', /unspecified address/);
  refuses({ 'keyhaven.ip': '127.0.0.1', 'keyhaven.gateway': '10.0.0.1' }, 'keyhaven.ip', /loopback/);
  refuses({ 'keyhaven.ip': '224.0.0.5', 'keyhaven.gateway': '10.0.0.1' }, 'keyhaven.ip', /multicast/);
  refuses({ 'keyhaven.ip': '::ffff:10.0.0.5', 'keyhaven.gateway': '10.0.0.1' }, 'keyhaven.ip', /IPv4-mapped.*10\.0\.0\.5/);
  refuses({ ...staticV4, 'keyhaven.ip': '10.10.0.0' }, 'keyhaven.ip', /network address of 10\.10\.0\.0\/24/);
  refuses({ ...staticV4, 'keyhaven.ip': '10.10.0.255' }, 'keyhaven.ip', /broadcast address of 10\.10\.0\.0\/24/);
  refuses({ ...staticV4, 'keyhaven.prefix': '0' }, 'keyhaven.prefix', /expected a number from 1 to 32/);
  refuses({ ...staticV4, 'keyhaven.prefix': '24.5' }, 'keyhaven.prefix', /not a prefix length/);
  refuses({ ...staticV4, 'keyhaven.prefix': '129' }, 'keyhaven.prefix', /not a prefix length/);
  refuses({ ...staticV4, 'keyhaven.prefix': '33' }, 'keyhaven.prefix', /longer than an IPv4 address \(32 bits\); expected 1 to 32/);
  refuses({ ...staticV4, 'keyhaven.gateway': '' }, 'keyhaven.gateway', /a static IP address needs a default gateway/);
  refuses({ ...staticV4, 'keyhaven.gateway': '10.20.0.1' }, 'keyhaven.gateway', /not in the appliance's network 10\.10\.0\.0\/24/);
  refuses({ ...staticV4, 'keyhaven.gateway': '10.10.0.25' }, 'keyhaven.gateway', /the appliance's own address/);
  refuses({ ...staticV4, 'keyhaven.gateway': '2001:db8::1' }, 'keyhaven.gateway', /is IPv6 but keyhaven\.ip is IPv4/);
  refuses({ ...staticV4, 'keyhaven.gateway': 'router' }, 'keyhaven.gateway', /is a host name/);
  refuses({ 'keyhaven.gateway': '10.10.0.1' }, 'keyhaven.gateway', /keyhaven\.ip is empty, which means DHCP/);
});

test('invalid DNS and NTP server lists', () => {
  refuses({ 'keyhaven.dns': '192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4' }, 'keyhaven.dns', /4 entries; at most 3/);
  refuses({ 'keyhaven.dns': '192.0.2.1,,192.0.2.2' }, 'keyhaven.dns', /empty entry/);
  refuses({ 'keyhaven.dns': '192.0.2.1,' }, 'keyhaven.dns', /empty entry/);
  refuses({ 'keyhaven.dns': '192.0.2.1, 192.0.2.01' }, 'keyhaven.dns', /"192\.0\.2\.01" is not an IPv4 or IPv6 address/);
  refuses({ 'keyhaven.dns': '2001:db8::1, 2001:DB8:0::1' }, 'keyhaven.dns', /listed twice/);
  refuses({ 'keyhaven.ntp': 'pool.ntp.org' }, 'keyhaven.ntp', /is a host name; an IPv4 or IPv6 address is needed \(the firewall only allows traffic to addresses\)/);
  refuses({ 'keyhaven.ntp': '192.0.2.1 192.0.2.2' }, 'keyhaven.ntp', /not an IPv4 or IPv6 address/);
  refuses({ 'keyhaven.ntp': Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}`).join(',') }, 'keyhaven.ntp', /at most 8/);
});

test('invalid syslog destinations', () => {
  const s = (v: string, m: RegExp) => refuses({ 'keyhaven.syslog': v }, 'keyhaven.syslog', m);
  s('siem.example.com:514', /is a host name/);
  s('192.0.2.10:0', /expected a port number from 1 to 65535/);
  s('192.0.2.10:65536', /expected a port number from 1 to 65535/);
  s('192.0.2.10:udp', /expected a port number/);
  s('[192.0.2.10]:514', /brackets are only for IPv6 addresses/);
  s('[2001:db8::10]:x', /expected a port number/);
  s('192.0.2.10, 192.0.2.10:514', /listed twice/);
});

test('invalid admin networks', () => {
  const a = (v: string, m: RegExp) => refuses({ 'keyhaven.admin_networks': v }, 'keyhaven.admin_networks', m);
  a('10.1.0.5/24', /has host bits set; write 10\.1\.0\.0\/24 for the network/);
  a('10.1.0.0', /has no prefix length/);
  a('10.1.0.0/33', /must be a number from 0 to 32/);
  a('2001:db8::/129', /must be a number from 0 to 128/);
  a('0.0.0.0/0', /would allow SSH from every address/);
  a('::/0', /would allow SSH from every address/);
  a('10.1.0.0/16, 10.1.2.0/24', /"10\.1\.2\.0\/24" lies inside "10\.1\.0\.0\/16"/);
  a('10.1.2.0/24, 10.1.0.0/16', /"10\.1\.0\.0\/16" contains "10\.1\.2\.0\/24"/);
  a('10.1.0.0/24, 10.1.0.0/24', /listed twice/);
  a('admins.example.com/24', /not an IPv4 or IPv6 network/);
  a('::ffff:10.0.0.0/104', /IPv4-mapped IPv6 network/);
});

test('unknown keys are refused, and every problem is reported at once', () => {
  assert.throws(
    () => propertiesToSettings({ 'keyhaven.hostnme': 'x', 'keyhaven.ip': 'nope', 'keyhaven.ntp': 'ntp.example' }),
    (e: unknown) => {
      assert.ok(e instanceof VappPropertyError);
      assert.deepEqual(
        e.problems.map((p) => p.key),
        ['keyhaven.hostnme', 'keyhaven.ip', 'keyhaven.ntp'],
      );
      assert.match(e.message, /^keyhaven\.hostnme: unknown property; the known properties are keyhaven\.hostname, /m);
      return true;
    },
  );
});

test('validateVappProperty checks one value on its own', () => {
  assert.equal(validateVappProperty('keyhaven.ip', ' 192.0.2.5 '), undefined);
  assert.match(validateVappProperty('keyhaven.prefix', 'x') ?? '', /not a prefix length/);
});
