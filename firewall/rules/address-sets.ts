// Named address sets, split by family: an `inet` table holds IPv4 and IPv6, but a set has one type.
// A set is created only when it has elements, so an unused role leaves no trace in the ruleset.
import { parseIpNetwork } from '../address.js';
import type { Match, NftSet, Rule } from '../model.js';

export interface AddressSets {
  readonly sets: NftSet[];
  /** One address match per family that has entries (nothing when the list is empty). */
  readonly matches: (field: 'saddr' | 'daddr') => Match[];
}

/**
 * `role` names the sets (`siem` → `siem_v4`, `siem_v6`). `interval` sets hold networks (CIDR);
 * others hold single addresses. Entries are already validated by the settings schema.
 */
export function addressSets(role: string, entries: readonly string[], interval: boolean): AddressSets {
  const byFamily = { 4: [] as string[], 6: [] as string[] };
  for (const entry of entries) {
    const parsed = parseIpNetwork(entry);
    // Unparseable entries go to the v4 set so the renderer reports them; never dropped silently.
    byFamily[parsed.ok ? parsed.value.family : 4].push(entry);
  }
  const sets: NftSet[] = [];
  const families: ('ip' | 'ip6')[] = [];
  if (byFamily[4].length > 0) {
    sets.push({ name: `${role}_v4`, type: 'ipv4_addr', interval, elements: byFamily[4] });
    families.push('ip');
  }
  if (byFamily[6].length > 0) {
    sets.push({ name: `${role}_v6`, type: 'ipv6_addr', interval, elements: byFamily[6] });
    families.push('ip6');
  }
  return {
    sets,
    matches: (field) =>
      families.map((family) => ({ kind: 'address', family, field, set: `${role}_${family === 'ip' ? 'v4' : 'v6'}` })),
  };
}

/** One accepting rule per address family: `ip daddr @x_v4 <rest> accept`, `ip6 daddr @x_v6 <rest> accept`. */
export function acceptPerFamily(addresses: readonly Match[], rest: readonly Match[], comment: string): Rule[] {
  return addresses.map((address) => ({ matches: [address, ...rest], statements: [{ kind: 'verdict', verdict: 'accept' }], comment }));
}
