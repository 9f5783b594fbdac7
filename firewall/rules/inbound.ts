// Inbound service ports: the three always-open KMIP/mirroring ports, and the optional openings, each
// limited to the source networks configured for it.
import { Ports } from '../ports.js';
import type { NftSet, Rule } from '../model.js';
import type { NetworkPolicySettings } from '../settings.js';
import { acceptPerFamily, addressSets } from './address-sets.js';

const tcp = (...ports: number[]) => ({ kind: 'port', protocols: ['tcp'], ports }) as const;

export function inboundServices(s: NetworkPolicySettings): { sets: NftSet[]; rules: Rule[] } {
  const sets: NftSet[] = [];
  const rules: Rule[] = [];

  const open = [Ports.keyRetrieval, ...(s.mirroring.restrictInbound ? [] : [Ports.mirroring]), Ports.encryptionServices];
  rules.push({
    matches: [tcp(...open)],
    statements: [{ kind: 'verdict', verdict: 'accept' }],
    comment: s.mirroring.restrictInbound ? 'KMIP key retrieval, encryption services' : 'KMIP key retrieval, mirroring, encryption services',
  });

  if (s.mirroring.restrictInbound) {
    // The same peer set serves the outbound mirroring rule; policy.ts defines it once.
    const peers = addressSets('mirror_peers', s.mirroring.peers, false);
    sets.push(...peers.sets);
    // No peers: no rule, so 6002 is closed inbound (a group of one).
    rules.push(...acceptPerFamily(peers.matches('saddr'), [tcp(Ports.mirroring)], 'key mirroring from peers'));
  }

  const openings: [boolean, string, readonly string[], number, string][] = [
    [s.ssh.enabled, 'admin', s.adminNetworks, Ports.ssh, 'SSH admin menu from the admin networks'],
    [s.keyManagement.enabled, 'key_management', s.keyManagement.networks, Ports.keyManagement, 'key management'],
    [s.webManagement.enabled, 'web_management', s.webManagement.networks, Ports.webManagement, 'web management'],
  ];
  for (const [enabled, role, networks, port, comment] of openings) {
    if (!enabled) continue;
    const group = addressSets(role, networks, true);
    sets.push(...group.sets);
    rules.push(...acceptPerFamily(group.matches('saddr'), [tcp(port)], comment));
  }
  return { sets, rules };
}
