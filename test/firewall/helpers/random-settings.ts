// Random network settings for property tests (fast-check draws, test/support/property.ts): every
// generated value is valid, networks in a list never overlap, and both address families appear.
import type { NetworkPolicySettingsInput } from '../../../firewall/settings.js';
import type { Draw } from '../../support/property.js';

export function randomSettings(r: Draw): NetworkPolicySettingsInput {
  const { int, pick } = r;
  const chance = (p: number) => r.bool(p);
  let counter = 0;
  // Each network gets its own second octet / second group, so none overlaps another.
  const network = (): string => {
    counter++;
    return chance(0.6)
      ? `10.${counter}.${pick([0, 16, 128])}.0/${pick([24, 25, 28, 32])}`
      : `2001:db8:${counter.toString(16)}::/${pick([48, 56, 64, 128])}`;
  };
  const address = (): string => {
    counter++;
    return chance(0.6) ? `172.16.${counter}.${1 + int(254)}` : `2001:db8:ff:${counter.toString(16)}::${(1 + int(0xfffe)).toString(16)}`;
  };
  const some = <T>(make: () => T, max: number, min = 0): T[] => Array.from({ length: min + int(max - min + 1) }, make);
  const opening = () => {
    const enabled = chance(0.5);
    return { enabled, networks: some(network, 3, enabled ? 1 : 0) };
  };
  const sshEnabled = chance(0.5);
  const peers = some(address, 3);
  const settings: NetworkPolicySettingsInput = {
    adminNetworks: some(network, 4, sshEnabled ? 1 : 0),
    ssh: { enabled: sshEnabled },
    keyManagement: opening(),
    webManagement: opening(),
    mirroring: { peers, restrictInbound: chance(0.5) },
    siemHosts: some(address, 3),
    ntpServers: some(address, 3),
    dnsServers: some(address, 2),
  };
  if (chance(0.5)) settings.backupHost = address();
  return settings;
}
