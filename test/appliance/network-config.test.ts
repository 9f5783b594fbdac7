// The files keyhaven-configure.service writes: systemd-networkd, resolver, chrony sources, hosts.
import assert from 'node:assert/strict';
import test from 'node:test';
import { renderChronySources, renderHosts, renderNetworkConfig, renderResolvConf } from '../../appliance/boot/network-config.js';
import { parseApplianceSettings } from '../../appliance/settings.js';

const staticV4 = parseApplianceSettings(
  { hostname: 'kms01.example.com', address: { mode: 'static', address: '10.1.2.3', prefix: 24, gateway: '10.1.2.1' }, network: { dnsServers: ['10.1.2.53'], ntpServers: ['10.1.2.123', '10.1.2.124'] } },
  'test',
);
const dhcp = parseApplianceSettings({}, 'test');

test('static IPv4: address and gateway, no router advertisements', () => {
  const text = renderNetworkConfig(staticV4);
  assert.match(text, /^\[Match\]\nType=ether$/m);
  assert.match(text, /^Address=10\.1\.2\.3\/24$/m);
  assert.match(text, /^Gateway=10\.1\.2\.1$/m);
  assert.match(text, /^IPv6AcceptRA=no$/m);
  assert.doesNotMatch(text, /DHCP/);
});

test('DHCP ignores the DHCP server\'s DNS, NTP and host name (only configured servers are used)', () => {
  const text = renderNetworkConfig(dhcp);
  assert.match(text, /^DHCP=yes$/m);
  assert.match(text, /^\[DHCPv4\]\nUseDNS=no\nUseNTP=no\nUseHostname=no$/m);
});

test('resolver, time sources and hosts list only what is configured', () => {
  assert.match(renderResolvConf(staticV4), /^nameserver 10\.1\.2\.53$/m);
  assert.doesNotMatch(renderResolvConf(dhcp), /^nameserver/m);
  assert.equal(renderChronySources(staticV4).split('\n').filter((l) => l.startsWith('server ')).join('\n'), 'server 10.1.2.123 iburst\nserver 10.1.2.124 iburst');
  assert.doesNotMatch(renderChronySources(dhcp), /^server/m);
  assert.match(renderHosts(staticV4), /^127\.0\.1\.1\tkms01\.example\.com kms01$/m);
});
