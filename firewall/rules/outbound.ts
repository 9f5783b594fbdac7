// Outbound: the appliance starts connections only to the destinations it is configured for, each
// pinned by address and port. No destination configured means no rule at all for that service.
import { Ports } from '../ports.js';
import type { Match, NftSet, Rule } from '../model.js';
import type { NetworkPolicySettings } from '../settings.js';
import { acceptPerFamily, addressSets } from './address-sets.js';

const port = (protocols: ('tcp' | 'udp')[], p: number): Match => ({ kind: 'port', protocols, ports: [p] });

export function outboundServices(s: NetworkPolicySettings): { sets: NftSet[]; rules: Rule[] } {
  const destinations: [string, readonly string[], Match, string][] = [
    ['siem', s.siemHosts, port(['tcp', 'udp'], Ports.syslog), 'syslog to the SIEM'],
    ['mirror_peers', s.mirroring.peers, port(['tcp'], Ports.mirroring), 'key mirroring to peers'],
    ['backup', s.backupHost === undefined ? [] : [s.backupHost], port(['tcp'], Ports.ssh), 'SFTP backups'],
    ['ntp', s.ntpServers, port(['udp'], Ports.ntp), 'NTP'],
    ['dns', s.dnsServers, port(['tcp', 'udp'], Ports.dns), 'DNS'],
  ];
  const sets: NftSet[] = [];
  const rules: Rule[] = [];
  for (const [role, addresses, service, comment] of destinations) {
    const group = addressSets(role, addresses, false);
    sets.push(...group.sets);
    rules.push(...acceptPerFamily(group.matches('daddr'), [service], comment));
  }
  return { sets, rules };
}
