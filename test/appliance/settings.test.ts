// The appliance settings: defaults, refusals that name the setting, and the mapping from vApp
// properties (OVF environment) to settings, which keeps SSH closed until first boot is done.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseApplianceSettings, settingsFromVapp } from '../../appliance/settings.js';
import { parseOvfEnvironment } from '../../ova/ovf-environment.js';
import { propertiesToSettings } from '../../ova/vapp-properties.js';
import { ErrorCodes, KeyhavenError } from '../../appliance/errors.js';
import { OvaCodes } from '../../ova/errors.js';
import { ovfEnvironmentXml } from '../e2e/helpers/ovf-env.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../ova/fixtures/${name}`, import.meta.url)), 'utf8');
const fromVapp = (props: Record<string, string>) => settingsFromVapp(propertiesToSettings(parseOvfEnvironment(ovfEnvironmentXml(props))));

function refuses(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyhavenError, `a KeyhavenError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

test('defaults: host keyhaven, DHCP, no optional openings', () => {
  const s = parseApplianceSettings({}, 'defaults');
  assert.equal(s.hostname, 'keyhaven');
  assert.deepEqual(s.address, { mode: 'dhcp' });
  assert.equal(s.network.ssh.enabled, false);
  assert.deepEqual(s.network.ntpServers, []);
});

test('refusals name the setting and why', () => {
  refuses(() => parseApplianceSettings({ hostname: 'bad_name' }, 'f.json'), ErrorCodes.CONFIG_INVALID, /hostname.*host name/s);
  refuses(() => parseApplianceSettings({ address: { mode: 'static', address: '10.0.0.300', prefix: 24, gateway: '10.0.0.1' } }, 'f.json'), ErrorCodes.CONFIG_INVALID, /address\.address.*IPv4 or IPv6/s);
  refuses(() => parseApplianceSettings({ address: { mode: 'static', address: '10.0.0.3', prefix: 200, gateway: '10.0.0.1' } }, 'f.json'), ErrorCodes.CONFIG_INVALID, /address\.prefix/);
  refuses(() => parseApplianceSettings({ hostnme: 'x' }, 'f.json'), ErrorCodes.CONFIG_INVALID, /hostnme/);
  refuses(() => parseApplianceSettings({ network: { ntpServers: ['ntp.example.com'] } }, 'f.json'), ErrorCodes.CONFIG_INVALID, /ntpServers/);
});

test('vApp properties from vSphere (iso transport fixture) become settings', () => {
  const s = settingsFromVapp(propertiesToSettings(parseOvfEnvironment(fixture('ovf-env-iso.xml'))));
  assert.equal(s.hostname, 'keyhaven-lab');
  assert.deepEqual(s.address, { mode: 'dhcp' });
  assert.deepEqual(s.network.ntpServers, ['192.0.2.123', '192.0.2.124']);
  assert.deepEqual(s.network.siemHosts, ['192.0.2.10']);
});

test('a static address with admin networks; SSH stays closed until first boot', () => {
  const s = fromVapp({
    'keyhaven.hostname': 'kms01.example.com',
    'keyhaven.ip': '10.1.2.3',
    'keyhaven.prefix': '24',
    'keyhaven.gateway': '10.1.2.1',
    'keyhaven.dns': '10.1.2.53',
    'keyhaven.ntp': '10.1.2.123',
    'keyhaven.syslog': '10.1.2.10',
    'keyhaven.admin_networks': '10.9.0.0/16',
  });
  assert.deepEqual(s.address, { mode: 'static', address: '10.1.2.3', prefix: 24, gateway: '10.1.2.1' });
  assert.deepEqual(s.network.dnsServers, ['10.1.2.53']);
  assert.deepEqual(s.network.adminNetworks, ['10.9.0.0/16']);
  assert.equal(s.network.ssh.enabled, false);
});

test('bad vApp values are refused, never half-applied', () => {
  refuses(() => fromVapp({ 'keyhaven.ip': '10.1.2.300', 'keyhaven.prefix': '24', 'keyhaven.gateway': '10.1.2.1' }), OvaCodes.OVF_ENV_INVALID, /keyhaven\.ip/);
  refuses(() => fromVapp({ 'keyhaven.admin_networks': '10.9.0.0/33' }), OvaCodes.OVF_ENV_INVALID, /keyhaven\.admin_networks/);
  refuses(() => fromVapp({ 'keyhaven.syslog': '10.1.2.10:1514' }), OvaCodes.OVF_ENV_INVALID, /port 514 only/);
  refuses(() => fromVapp({ 'keyhaven.hostname': 'a b' }), OvaCodes.OVF_ENV_INVALID, /keyhaven\.hostname/);
});
