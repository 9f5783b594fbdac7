// The key server's configuration on the appliance: mirroring on 6002 on every address, advertised at
// the static address (IPv6 in brackets) or at the address DHCP gave; without an address to advertise
// (the image as built, DHCP before a lease) no mirror section. Every rendering is a valid configuration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANCHOR_FILE, renderServerConfig } from '../../appliance/boot/server-config.js';
import { parseApplianceSettings } from '../../appliance/settings.js';
import { parseConfig } from '../../server/index.js';

const at = (address: unknown) => parseApplianceSettings({ address }, 'test');
const render = (...args: Parameters<typeof renderServerConfig>) => parseConfig(JSON.parse(renderServerConfig(...args)), 'rendered');

test('a static address is advertised with port 6002; the server listens on every address', () => {
  const v4 = render(at({ mode: 'static', address: '10.0.0.5', prefix: 24, gateway: '10.0.0.1' }));
  assert.equal(v4.mirror?.host, '::');
  assert.equal(v4.mirror?.port, 6002);
  assert.equal(v4.mirror?.advertise, '10.0.0.5:6002');
  assert.equal(v4.store.anchorFile, ANCHOR_FILE);
  assert.equal(render(at({ mode: 'static', address: '2001:db8::5', prefix: 64, gateway: '2001:db8::1' })).mirror?.advertise, '[2001:db8::5]:6002');
});

test('with DHCP the address the interface has is advertised; none yet, or the image as built: no mirror section', () => {
  assert.equal(render(at({ mode: 'dhcp' }), '10.0.0.77').mirror?.advertise, '10.0.0.77:6002');
  assert.equal(render(at({ mode: 'dhcp' })).mirror, undefined);
  assert.equal(render(null).mirror, undefined);
  // A static address wins over whatever the interface reports.
  assert.equal(render(at({ mode: 'static', address: '10.0.0.5', prefix: 24, gateway: '10.0.0.1' }), '10.9.9.9').mirror?.advertise, '10.0.0.5:6002');
});
