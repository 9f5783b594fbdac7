// A small interpreter of the firewall model for tests: which verdict does the ruleset give a packet?
// It follows nft semantics for what the policy uses: rules in order, all matches must hold, the
// first verdict wins, otherwise the chain policy. `limit` is taken as under its rate.
import { parseIpAddress, parseIpNetwork, networkContains } from '../../../firewall/address.js';
import type { CtState, Match, Ruleset, Verdict } from '../../../firewall/model.js';

export interface Packet {
  hook: 'input' | 'output' | 'forward';
  saddr: string;
  daddr: string;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  dport?: number;
  icmpType?: string;
  hoplimit?: number;
  ct: CtState;
  iif?: string;
  oif?: string;
}

function inSet(ruleset: Ruleset, name: string, address: string): boolean {
  const set = ruleset.sets.find((s) => s.name === name);
  if (!set) throw new Error(`no set ${name}`);
  const a = parseIpAddress(address);
  if (!a.ok) throw new Error(a.reason);
  const host = parseIpNetwork(`${a.value.text}/${a.value.family === 4 ? 32 : 128}`);
  if (!host.ok) throw new Error(host.reason);
  return set.elements.some((e) => {
    const n = parseIpNetwork(e);
    return n.ok && networkContains(n.value, host.value);
  });
}

function familyOf(address: string): 4 | 6 {
  const a = parseIpAddress(address);
  if (!a.ok) throw new Error(a.reason);
  return a.value.family;
}

function matches(ruleset: Ruleset, m: Match, p: Packet): boolean {
  switch (m.kind) {
    case 'ct-state':
      return m.states.includes(p.ct);
    case 'interface':
      return (m.direction === 'iif' ? p.iif : p.oif) === m.name;
    case 'address': {
      const address = m.field === 'saddr' ? p.saddr : p.daddr;
      if (familyOf(address) !== (m.family === 'ip' ? 4 : 6)) return false;
      return inSet(ruleset, m.set, address);
    }
    case 'port':
      return (m.protocols as readonly string[]).includes(p.proto) && p.dport !== undefined && m.ports.includes(p.dport);
    case 'icmp':
      return p.proto === 'icmp' && (m.types as readonly string[]).includes(p.icmpType ?? '');
    case 'icmpv6':
      return p.proto === 'icmpv6' && (m.types as readonly string[]).includes(p.icmpType ?? '');
    case 'hoplimit':
      return familyOf(p.saddr) === 6 && p.hoplimit === m.value;
  }
}

export function evaluate(ruleset: Ruleset, p: Packet): Verdict {
  const chain = ruleset.chains.find((c) => c.base?.hook === p.hook);
  if (!chain?.base) throw new Error(`no base chain for ${p.hook}`);
  for (const rule of chain.rules) {
    if (!rule.matches.every((m) => matches(ruleset, m, p))) continue;
    for (const s of rule.statements) if (s.kind === 'verdict') return s.verdict;
  }
  return chain.base.policy;
}
