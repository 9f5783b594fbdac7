// systemd-networkd configuration for the appliance's interface (systemd.network(5)): DHCP, or the
// static address and gateway from the settings. The first Ethernet interface is matched by type, so
// the file works for VMXNET3 on ESXi and virtio or vmxnet3 under QEMU alike.
import { isIP } from 'node:net';
import type { ApplianceSettings } from '../settings.js';

export const NETWORK_FILE = '/etc/systemd/network/10-keyhaven.network';
export const CHRONY_SOURCES = '/etc/chrony/sources.d/keyhaven.sources';

export function renderNetworkConfig(s: ApplianceSettings): string {
  const lines = ['# Written by keyhaven-configure.service from /etc/keyhaven/appliance.json. Do not edit.', '[Match]', 'Type=ether', 'Kind=!*', '', '[Network]'];
  if (s.address.mode === 'dhcp') {
    lines.push('DHCP=yes');
  } else {
    lines.push(`Address=${s.address.address}/${s.address.prefix}`, `Gateway=${s.address.gateway}`);
  }
  // IPv6 router advertisements are accepted only for IPv6 configurations (the firewall allows them).
  const v6 = s.address.mode === 'static' && isIP(s.address.address) === 6;
  lines.push(`IPv6AcceptRA=${v6 || s.address.mode === 'dhcp' ? 'yes' : 'no'}`, 'LinkLocalAddressing=ipv6', 'LLDP=no', 'EmitLLDP=no');
  if (s.address.mode === 'dhcp') lines.push('', '[DHCPv4]', 'UseDNS=no', 'UseNTP=no', 'UseHostname=no');
  return `${lines.join('\n')}\n`;
}

/** /etc/resolv.conf: only the configured resolvers (the firewall allows DNS to these only). */
export function renderResolvConf(s: ApplianceSettings): string {
  const servers = s.network.dnsServers;
  const head = '# Written by keyhaven-configure.service. DNS goes only to the configured servers.\n';
  return head + (servers.length === 0 ? '# No DNS servers configured: name resolution is off.\n' : servers.map((a) => `nameserver ${a}\n`).join('')) + 'options edns0 timeout:2 attempts:2\n';
}

/** chrony sources (chrony.conf(5) sourcedir): only the configured servers. */
export function renderChronySources(s: ApplianceSettings): string {
  const head = '# Written by keyhaven-configure.service. Time comes only from the configured servers.\n';
  return head + s.network.ntpServers.map((a) => `server ${a} iburst\n`).join('');
}

export function renderHosts(s: ApplianceSettings): string {
  const short = s.hostname.split('.')[0]!;
  const names = short === s.hostname ? s.hostname : `${s.hostname} ${short}`;
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${names}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}
