// A typed model of the small part of nftables the appliance uses (see nft(8): TABLES, CHAINS, SETS,
// MATCHES, STATEMENTS). Only what the policy needs is modelled, so every value has a known rendering.
// The model holds plain values; render.ts validates each one before it becomes text.

/** One `inet` table: a single ruleset for IPv4 and IPv6 (nftables wiki: "Nftables families"). */
export interface Ruleset {
  readonly family: 'inet';
  readonly table: string;
  /** `#` comment lines at the top of the file, for the reader of the file. */
  readonly header: readonly string[];
  readonly sets: readonly NftSet[];
  readonly chains: readonly Chain[];
}

/** A named set of addresses (nft(8) SETS). Interval sets hold networks; plain sets hold addresses. */
export interface NftSet {
  readonly name: string;
  readonly type: 'ipv4_addr' | 'ipv6_addr';
  readonly interval: boolean;
  readonly elements: readonly string[];
  readonly comment?: string;
}

export type Hook = 'input' | 'forward' | 'output';
export type Verdict = 'accept' | 'drop';

/** A base chain is attached to a netfilter hook; its policy applies to packets no rule decided. */
export interface BaseChainHook {
  readonly type: 'filter';
  readonly hook: Hook;
  /** `filter` is priority 0 (nft(8) CHAINS, "standard priority names"). */
  readonly priority: 'filter' | number;
  readonly policy: Verdict;
}

export interface Chain {
  readonly name: string;
  /** Absent for a regular chain (only reachable by jump/goto; not used by the policy today). */
  readonly base?: BaseChainHook;
  readonly rules: readonly Rule[];
}

/** Matches are ANDed left to right, then statements run in order (nft(8) RULES). */
export interface Rule {
  readonly matches: readonly Match[];
  readonly statements: readonly Statement[];
  /** Stored in the kernel with the rule: visible in `nft list ruleset`. */
  readonly comment?: string;
}

export type CtState = 'established' | 'related' | 'new' | 'invalid' | 'untracked';

export type IcmpType = 'echo-request' | 'echo-reply' | 'destination-unreachable' | 'time-exceeded' | 'parameter-problem';

export type Icmpv6Type =
  | 'echo-request'
  | 'echo-reply'
  | 'destination-unreachable'
  | 'packet-too-big'
  | 'time-exceeded'
  | 'parameter-problem'
  | 'nd-router-solicit'
  | 'nd-router-advert'
  | 'nd-neighbor-solicit'
  | 'nd-neighbor-advert'
  | 'mld-listener-query'
  | 'mld-listener-report'
  | 'mld2-listener-report';

export type L4Protocol = 'tcp' | 'udp';

export type Match =
  /** `ct state established,related` (conntrack state of the packet's flow). */
  | { readonly kind: 'ct-state'; readonly states: readonly CtState[] }
  /** `iif "lo"` / `oif "lo"`: input or output interface. */
  | { readonly kind: 'interface'; readonly direction: 'iif' | 'oif'; readonly name: string }
  /** `ip saddr @set` / `ip6 daddr @set`: address in a named set. */
  | { readonly kind: 'address'; readonly family: 'ip' | 'ip6'; readonly field: 'saddr' | 'daddr'; readonly set: string }
  /** `tcp dport { 6000, 6002 }`, or `meta l4proto { tcp, udp } th dport 514` for both protocols. */
  | { readonly kind: 'port'; readonly protocols: readonly L4Protocol[]; readonly ports: readonly number[] }
  | { readonly kind: 'icmp'; readonly types: readonly IcmpType[] }
  | { readonly kind: 'icmpv6'; readonly types: readonly Icmpv6Type[] }
  /** `ip6 hoplimit 255`: neighbour discovery must come from the link itself (RFC 4861 §7.1.1). */
  | { readonly kind: 'hoplimit'; readonly value: number };

export type RateUnit = 'second' | 'minute' | 'hour';
export type LogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug';

export type Statement =
  | { readonly kind: 'counter' }
  /** `limit rate N/unit burst B packets`: the rest of the rule runs only while under the rate. */
  | { readonly kind: 'limit'; readonly rate: number; readonly per: RateUnit; readonly burst?: number }
  | { readonly kind: 'log'; readonly prefix: string; readonly level?: LogLevel }
  | { readonly kind: 'verdict'; readonly verdict: Verdict };
