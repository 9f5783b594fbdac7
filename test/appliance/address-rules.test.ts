// One set of address rules for both ways the appliance's addresses are set: the vApp properties
// read at deployment (ova/vapp-properties.ts) and the admin menu's helper (the appliance settings
// schema). Each refused value is tried on both paths — the vApp parser, and the real helper through
// its socket — and each refusal names the field and the reason; nothing refused is saved.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { AdminResponse } from '../../appliance/admin/protocol.js';
import { parseApplianceSettings, settingsFromVapp } from '../../appliance/settings.js';
import { parseNetworkPolicySettings } from '../../firewall/settings.js';
import { propertiesToSettings, VappPropertyError } from '../../ova/vapp-properties.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start({ withPki: false });
});
after(async () => {
  await box?.stop();
});

const STATIC = { 'keyhaven.ip': '10.10.0.25', 'keyhaven.prefix': '24', 'keyhaven.gateway': '10.10.0.1' };
const STATIC6 = { 'keyhaven.ip': '2001:db8:10::25', 'keyhaven.prefix': '64', 'keyhaven.gateway': '2001:db8:10::1' };

/** The vApp path refuses `props`, naming `key` with a message matching `pattern`. */
function vappRefuses(props: Record<string, string>, key: string, pattern: RegExp): void {
  assert.throws(
    () => settingsFromVapp(propertiesToSettings(props)),
    (e: unknown) => {
      assert.ok(e instanceof VappPropertyError, `a VappPropertyError, got ${String(e)}`);
      const p = e.problems.find((x) => x.key === key);
      assert.ok(p, `${key} is named in: ${e.message}`);
      assert.match(p.message, pattern);
      return true;
    },
    `vApp ${JSON.stringify(props)}`,
  );
}

function helperRefused(r: AdminResponse, pattern: RegExp, what: string): void {
  assert.equal(r.ok, false, `${what}: expected a refusal, got ${JSON.stringify(r).slice(0, 200)}`);
  if (r.ok) return;
  assert.equal(r.code, 'KH_ADMIN_REQUEST_INVALID', r.message);
  assert.match(r.message, pattern, what);
}

const settingsText = () => (existsSync(box.paths.settings) ? readFileSync(box.paths.settings, 'utf8') : '(none)');

/** Unicast addresses no server, gateway or host of the appliance can have, and why. */
const UNUSABLE: [string, RegExp][] = [
  ['0.0.0.0', /is the unspecified address/],
  ['::', /is the unspecified address/],
  ['127.0.0.1', /is a loopback address/],
  ['::1', /is the loopback address/],
  ['169.254.10.20', /is a link-local address \(169\.254\.0\.0\/16\)/],
  ['fe80::10', /is a link-local address \(fe80::\/10\)/],
  ['224.0.0.251', /is a multicast address/],
  ['ff02::fb', /is a multicast address/],
  ['255.255.255.255', /is the broadcast address/],
];

describe('servers: SIEM, NTP and DNS hosts must be real unicast addresses', () => {
  test('on the vApp path', () => {
    for (const [ip, why] of UNUSABLE) {
      vappRefuses({ 'keyhaven.syslog': ip.includes(':') ? `[${ip}]:514` : ip }, 'keyhaven.syslog', new RegExp(`${why.source}, which cannot be a SIEM host`));
      vappRefuses({ 'keyhaven.ntp': ip }, 'keyhaven.ntp', new RegExp(`${why.source}, which cannot be an NTP server`));
      vappRefuses({ 'keyhaven.dns': ip }, 'keyhaven.dns', new RegExp(`${why.source}, which cannot be a DNS server`));
    }
  });

  test('through the helper (syslog.set, ntp.set, network.set)', async () => {
    const before = settingsText();
    for (const [ip, why] of UNUSABLE) {
      const quoted = JSON.stringify(ip).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      helperRefused(await box.call('syslog.set', { hosts: ['192.0.2.10', ip] }), new RegExp(`^network\\.siemHosts\\[1\\]: ${quoted} ${why.source}, which cannot be a SIEM host`), `SIEM ${ip}`);
      helperRefused(await box.call('ntp.set', { servers: [ip] }), new RegExp(`^network\\.ntpServers\\[0\\]: ${quoted} ${why.source}, which cannot be an NTP server`), `NTP ${ip}`);
    }
    helperRefused(await box.call('network.set', { hostname: 'kms', address: { mode: 'dhcp' }, dnsServers: ['127.0.0.53'] }), /^network\.dnsServers\[0\]: "127\.0\.0\.53" is a loopback address, which cannot be a DNS server/, 'DNS');
    assert.equal(settingsText(), before, 'nothing refused was saved');
  });

  test('the backup host and mirroring peers follow the same rules (settings schema)', () => {
    assert.throws(() => parseNetworkPolicySettings({ backupHost: '127.0.0.1' }), /backupHost: "127\.0\.0\.1" is a loopback address, which cannot be a backup host/);
    assert.throws(() => parseNetworkPolicySettings({ mirroring: { peers: ['ff05::1'] } }), /mirroring\.peers\[0\]: "ff05::1" is a multicast address, which cannot be a mirroring peer/);
  });
});

describe('the static address and its gateway', () => {
  test('on the vApp path', () => {
    for (const [ip, why] of UNUSABLE) {
      const v6 = ip.includes(':');
      vappRefuses({ ...(v6 ? STATIC6 : STATIC), 'keyhaven.ip': ip }, 'keyhaven.ip', new RegExp(`${why.source}, which cannot be a static address`));
      // An IPv6 gateway may be link-local (routers are reached by it); nothing else of these.
      if (ip !== 'fe80::10') vappRefuses({ ...(v6 ? STATIC6 : STATIC), 'keyhaven.gateway': ip }, 'keyhaven.gateway', new RegExp(`${why.source}, which cannot be a gateway`));
    }
    vappRefuses({ ...STATIC, 'keyhaven.gateway': '10.10.0.25' }, 'keyhaven.gateway', /"10\.10\.0\.25" is the appliance's own address/);
    vappRefuses({ ...STATIC, 'keyhaven.gateway': '10.20.0.1' }, 'keyhaven.gateway', /"10\.20\.0\.1" is not in the appliance's network 10\.10\.0\.0\/24/);
    vappRefuses({ ...STATIC6, 'keyhaven.gateway': '2001:db8:20::1' }, 'keyhaven.gateway', /not in the appliance's network 2001:db8:10::\/64/);
    vappRefuses({ ...STATIC, 'keyhaven.gateway': '10.10.0.255' }, 'keyhaven.gateway', /"10\.10\.0\.255" is the broadcast address of 10\.10\.0\.0\/24/);
    vappRefuses({ ...STATIC, 'keyhaven.ip': '10.10.0.0' }, 'keyhaven.ip', /10\.10\.0\.0 is the network address of 10\.10\.0\.0\/24/);
    assert.deepEqual(propertiesToSettings({ ...STATIC6, 'keyhaven.gateway': 'fe80::1' }).network, { mode: 'static', address: '2001:db8:10::25', prefix: 64, gateway: 'fe80::1' });
  });

  test('through the helper (network.set)', async () => {
    const before = settingsText();
    const set = (address: string, prefix: number, gateway: string) => box.call('network.set', { hostname: 'kms', address: { mode: 'static', address, prefix, gateway }, dnsServers: [] });
    for (const [ip, why] of UNUSABLE) {
      const v6 = ip.includes(':');
      helperRefused(await (v6 ? set(ip, 64, '2001:db8:10::1') : set(ip, 24, '10.10.0.1')), new RegExp(`^address\\.address: .* ${why.source}, which cannot be a static address`), `address ${ip}`);
      if (ip !== 'fe80::10') helperRefused(await (v6 ? set('2001:db8:10::25', 64, ip) : set('10.10.0.25', 24, ip)), new RegExp(`^address\\.gateway: .* ${why.source}, which cannot be a gateway`), `gateway ${ip}`);
    }
    helperRefused(await set('10.10.0.25', 24, '10.10.0.25'), /^address\.gateway: "10\.10\.0\.25" is the appliance's own address/, 'own address');
    helperRefused(await set('10.10.0.25', 24, '10.20.0.1'), /^address\.gateway: "10\.20\.0\.1" is not in the appliance's network 10\.10\.0\.0\/24; expected a gateway inside it \(check address\.prefix\)/, 'outside');
    helperRefused(await set('2001:db8:10::25', 64, '2001:db8:20::1'), /^address\.gateway: .*not in the appliance's network 2001:db8:10::\/64/, 'outside v6');
    helperRefused(await set('10.10.0.255', 24, '10.10.0.1'), /^address\.address: 10\.10\.0\.255 is the broadcast address of 10\.10\.0\.0\/24/, 'broadcast');
    helperRefused(await set('10.10.0.25', 24, '2001:db8::1'), /^address\.gateway: "2001:db8::1" is IPv6 but address\.address is IPv4/, 'family');
    assert.equal(settingsText(), before, 'nothing refused was saved');
    // What is refused above is refused for exactly the reason shown: the valid neighbours pass.
    assert.ok((await set('2001:db8:10::25', 64, 'fe80::1')).ok, 'an IPv6 link-local gateway is accepted');
    assert.ok((await set('10.10.0.25', 24, '10.10.0.1')).ok);
  });

  test('a saved file with such an address is refused too (the same schema at boot)', () => {
    assert.throws(() => parseApplianceSettings({ address: { mode: 'static', address: '10.10.0.25', prefix: 24, gateway: '169.254.0.1' } }, 'f.json'), /address\.gateway: "169\.254\.0\.1" is a link-local address/);
  });
});

describe('openings to every address are refused outright', () => {
  test('admin networks 0.0.0.0/0 and ::/0: vApp', () => {
    for (const world of ['0.0.0.0/0', '::/0']) vappRefuses({ 'keyhaven.admin_networks': `10.9.0.0/16, ${world}` }, 'keyhaven.admin_networks', /would allow SSH from every address; name the admin networks/);
  });

  test('admin networks and port openings: helper', async () => {
    const before = settingsText();
    for (const world of ['0.0.0.0/0', '::/0']) {
      helperRefused(await box.call('admin-networks.set', { networks: [world] }), /^network\.adminNetworks\[0\]: ".*" would allow SSH from every address; name the admin networks/, `admin ${world}`);
      helperRefused(await box.call('access.set', { service: 'keyManagement', enabled: true, networks: [world] }), /^network\.keyManagement\.networks\[0\]: ".*" would allow key management \(6001\) from every address; name the networks/, `6001 ${world}`);
      helperRefused(await box.call('access.set', { service: 'webManagement', enabled: true, networks: [world] }), /^network\.webManagement\.networks\[0\]: ".*" would allow web management \(3886\) from every address/, `3886 ${world}`);
    }
    assert.equal(settingsText(), before, 'nothing refused was saved');
  });
});
