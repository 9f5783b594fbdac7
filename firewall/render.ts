// Renders the model (model.ts) to nftables text for `nft -f`. Every value is checked before it becomes
// text: identifiers, numbers and addresses against their grammar, quoted strings against a character
// set that cannot end the quote. A value that fails throws FIREWALL_INVALID naming where it sits;
// nothing is ever half-rendered.
import { KeyhavenError, ErrorCodes } from './errors.js';
import { parseIpAddress, parseIpNetwork, networkContains, type IpNetwork } from './address.js';
import type { Chain, CtState, Icmpv6Type, IcmpType, LogLevel, Match, NftSet, Rule, Ruleset, Statement } from './model.js';

const CT_STATES: readonly CtState[] = ['established', 'related', 'new', 'invalid', 'untracked'];
const ICMP_TYPES: readonly IcmpType[] = ['echo-request', 'echo-reply', 'destination-unreachable', 'time-exceeded', 'parameter-problem'];
const ICMPV6_TYPES: readonly Icmpv6Type[] = [
  'echo-request', 'echo-reply', 'destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem',
  'nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'mld-listener-query', 'mld-listener-report', 'mld2-listener-report',
];
const LOG_LEVELS: readonly LogLevel[] = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

function fail(where: string, message: string): never {
  throw new KeyhavenError(ErrorCodes.FIREWALL_INVALID, `${where}: ${message}`);
}

/** Names we emit unquoted: a conservative subset of the nft identifier grammar. */
function identifier(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9_]{0,31}$/.test(value)) {
    fail(where, `${JSON.stringify(value)} is not a valid name (lower-case letter, then letters, digits or _; at most 32)`);
  }
  return value;
}

/**
 * A double-quoted nft string. nft strings have no escapes, so the characters that could end or bend
 * the quote (`"`, `\`, control characters, non-ASCII) are refused rather than escaped.
 */
function quoted(value: unknown, where: string, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0) fail(where, 'must be a non-empty string');
  if (!/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) {
    fail(where, `${JSON.stringify(value)} may only contain printable ASCII without " or \\`);
  }
  if (value.length > maxBytes) fail(where, `${JSON.stringify(value)} is longer than ${maxBytes} characters`);
  return `"${value}"`;
}

function integer(value: unknown, min: number, max: number, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(where, `${what} ${String(value)} is out of range ${min}–${max}`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string, what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(where, `${JSON.stringify(value)} is not a known ${what} (${allowed.join(', ')})`);
  }
  return value as T;
}

/** Renders a non-empty list of distinct values as one value or an anonymous set `{ a, b }`. */
function list<T>(values: readonly T[], where: string, what: string, each: (v: T) => string): string {
  if (!Array.isArray(values) || values.length === 0) fail(where, `${what} list is empty`);
  const rendered = values.map(each);
  const dup = rendered.find((v, i) => rendered.indexOf(v) !== i);
  if (dup !== undefined) fail(where, `${what} ${dup} is listed twice`);
  return rendered.length === 1 ? (rendered[0] as string) : `{ ${rendered.join(', ')} }`;
}

function renderSetElements(set: NftSet, where: string): string[] {
  const family = set.type === 'ipv4_addr' ? 4 : 6;
  const seen: IpNetwork[] = [];
  return set.elements.map((element, i) => {
    const at = `${where}, element [${i}]`;
    if (typeof element !== 'string') fail(at, 'must be a string');
    let text: string;
    if (set.interval) {
      const parsed = parseIpNetwork(element);
      if (!parsed.ok) fail(at, parsed.reason);
      if (parsed.value.family !== family) fail(at, `"${element}" is not an IPv${family} network (set type ${set.type})`);
      // nft refuses overlapping intervals ("conflicting intervals specified"); say which ones here.
      const clash = seen.find((n) => networkContains(n, parsed.value) || networkContains(parsed.value, n));
      if (clash) fail(at, `"${parsed.value.text}" overlaps "${clash.text}"`);
      seen.push(parsed.value);
      text = parsed.value.text;
    } else {
      const parsed = parseIpAddress(element);
      if (!parsed.ok) fail(at, parsed.reason);
      if (parsed.value.family !== family) fail(at, `"${element}" is not an IPv${family} address (set type ${set.type})`);
      if (seen.some((n) => n.value === parsed.value.value)) fail(at, `"${parsed.value.text}" is listed twice`);
      seen.push({ ...parsed.value, prefix: family === 4 ? 32 : 128 });
      text = parsed.value.text;
    }
    return text;
  });
}

function renderSet(set: NftSet, index: number): string {
  const where = `set ${JSON.stringify(set.name ?? `#${index}`)}`;
  const name = identifier(set.name, where);
  const type = oneOf(set.type, ['ipv4_addr', 'ipv6_addr'] as const, where, 'set type');
  if (!Array.isArray(set.elements)) fail(where, 'elements must be a list');
  const elements = renderSetElements(set, where);
  // One line per set: the sets read as a table of "who" above the chains that use them.
  const parts = [`type ${type}`];
  if (set.interval) parts.push('flags interval');
  if (set.comment !== undefined) parts.push(`comment ${quoted(set.comment, `${where}, comment`, 128)}`);
  if (elements.length > 0) parts.push(`elements = { ${elements.join(', ')} }`);
  return `\tset ${name} { ${parts.join('; ')}; }`;
}

function renderMatch(m: Match, where: string, sets: ReadonlyMap<string, NftSet>): string {
  switch (m.kind) {
    case 'ct-state':
      // ct state is a bitmask: a comma-separated list of flags, no braces (nft(8) CONNTRACK EXPRESSIONS).
      list(m.states, where, 'ct state', (s) => oneOf(s, CT_STATES, where, 'ct state'));
      return `ct state ${m.states.join(',')}`;
    case 'interface': {
      const direction = oneOf(m.direction, ['iif', 'oif'] as const, where, 'interface direction');
      if (typeof m.name !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(m.name)) {
        fail(where, `${JSON.stringify(m.name)} is not an interface name`);
      }
      return `${direction} "${m.name}"`;
    }
    case 'address': {
      const family = oneOf(m.family, ['ip', 'ip6'] as const, where, 'address family');
      const field = oneOf(m.field, ['saddr', 'daddr'] as const, where, 'address field');
      const name = identifier(m.set, where);
      const set = sets.get(name);
      if (!set) fail(where, `set @${name} is not defined`);
      const want = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
      if (set.type !== want) fail(where, `${family} ${field} cannot match set @${name} of type ${set.type}`);
      return `${family} ${field} @${name}`;
    }
    case 'port': {
      const protocols = list(m.protocols, where, 'protocol', (p) => oneOf(p, ['tcp', 'udp'] as const, where, 'protocol'));
      const ports = list(m.ports, where, 'port', (p) => String(integer(p, 1, 65535, where, 'port')));
      // One protocol: `tcp dport …`. Both: `th dport` reads the port of whichever transport header it is.
      return m.protocols.length === 1 ? `${protocols} dport ${ports}` : `meta l4proto ${protocols} th dport ${ports}`;
    }
    case 'icmp':
      return `icmp type ${list(m.types, where, 'icmp type', (t) => oneOf(t, ICMP_TYPES, where, 'icmp type'))}`;
    case 'icmpv6':
      return `icmpv6 type ${list(m.types, where, 'icmpv6 type', (t) => oneOf(t, ICMPV6_TYPES, where, 'icmpv6 type'))}`;
    case 'hoplimit':
      return `ip6 hoplimit ${integer(m.value, 0, 255, where, 'hop limit')}`;
    default:
      return fail(where, `unknown match ${JSON.stringify((m as { kind?: unknown }).kind)}`);
  }
}

function renderStatement(s: Statement, where: string): string {
  switch (s.kind) {
    case 'counter':
      return 'counter';
    case 'limit': {
      const rate = integer(s.rate, 1, 1_000_000, where, 'limit rate');
      const per = oneOf(s.per, ['second', 'minute', 'hour'] as const, where, 'limit unit');
      const burst = s.burst === undefined ? '' : ` burst ${integer(s.burst, 1, 1_000_000, where, 'limit burst')} packets`;
      return `limit rate ${rate}/${per}${burst}`;
    }
    case 'log': {
      // The kernel keeps at most 127 characters of prefix (NF_LOG_PREFIXLEN is 128 with the NUL).
      const prefix = quoted(s.prefix, `${where}, log prefix`, 127);
      const level = s.level === undefined ? '' : ` level ${oneOf(s.level, LOG_LEVELS, where, 'log level')}`;
      return `log prefix ${prefix}${level}`;
    }
    case 'verdict':
      return oneOf(s.verdict, ['accept', 'drop'] as const, where, 'verdict');
    default:
      return fail(where, `unknown statement ${JSON.stringify((s as { kind?: unknown }).kind)}`);
  }
}

function renderRule(rule: Rule, where: string, sets: ReadonlyMap<string, NftSet>): string {
  if (!Array.isArray(rule.matches) || !Array.isArray(rule.statements)) fail(where, 'matches and statements must be lists');
  if (rule.statements.length === 0) fail(where, 'a rule needs at least one statement');
  rule.statements.forEach((s, i) => {
    if (s.kind === 'verdict' && i !== rule.statements.length - 1) fail(where, 'the verdict must be the last statement');
  });
  const parts = [...rule.matches.map((m) => renderMatch(m, where, sets)), ...rule.statements.map((s) => renderStatement(s, where))];
  if (rule.comment !== undefined) parts.push(`comment ${quoted(rule.comment, `${where}, comment`, 128)}`);
  return `\t\t${parts.join(' ')}`;
}

function renderChain(chain: Chain, index: number, sets: ReadonlyMap<string, NftSet>): string[] {
  const where = `chain ${JSON.stringify(chain.name ?? `#${index}`)}`;
  const name = identifier(chain.name, where);
  const lines = [`\tchain ${name} {`];
  if (chain.base) {
    const b = chain.base;
    oneOf(b.type, ['filter'] as const, where, 'chain type');
    const hook = oneOf(b.hook, ['input', 'forward', 'output'] as const, where, 'hook');
    const priority = b.priority === 'filter' ? 'filter' : String(integer(b.priority, -2147483648, 2147483647, where, 'priority'));
    const policy = oneOf(b.policy, ['accept', 'drop'] as const, where, 'policy');
    lines.push(`\t\ttype filter hook ${hook} priority ${priority}; policy ${policy};`);
  }
  if (!Array.isArray(chain.rules)) fail(where, 'rules must be a list');
  chain.rules.forEach((rule, i) => {
    const label = rule.comment === undefined ? '' : ` (${JSON.stringify(rule.comment)})`;
    lines.push(renderRule(rule, `${where}, rule ${i + 1}${label}`, sets));
  });
  lines.push('\t}');
  return lines;
}

/**
 * The ruleset as an `nft -f` file that replaces the table in one transaction: `table` makes sure it
 * exists (a no-op if it does), `delete table` removes it with everything in it, and the definition
 * recreates it. nft commits the whole file atomically or not at all (nftables wiki, "Atomic rule
 * replacement"); this idiom works on nft 1.0.6 and 1.1.x alike (`destroy table` needs 1.0.8+).
 */
export function renderRuleset(ruleset: Ruleset): string {
  if (ruleset.family !== 'inet') fail('table', `family ${JSON.stringify(ruleset.family)} is not supported (only inet)`);
  const table = identifier(ruleset.table, 'table');
  const sets = new Map<string, NftSet>();
  for (const set of ruleset.sets) {
    if (sets.has(set.name)) fail(`set ${JSON.stringify(set.name)}`, 'is defined twice');
    sets.set(set.name, set);
  }
  const chainNames = ruleset.chains.map((c) => c.name);
  const dupChain = chainNames.find((n, i) => chainNames.indexOf(n) !== i);
  if (dupChain !== undefined) fail(`chain ${JSON.stringify(dupChain)}`, 'is defined twice');

  const header = ruleset.header.map((line, i) => {
    if (typeof line !== 'string' || !/^[\x20-\x7e]*$/.test(line)) fail(`header line ${i + 1}`, 'may only contain printable ASCII');
    return line === '' ? '#' : `# ${line}`;
  });
  const blocks = [
    ...(ruleset.sets.length > 0 ? [ruleset.sets.map((s, i) => renderSet(s, i))] : []),
    ...ruleset.chains.map((c, i) => renderChain(c, i, sets)),
  ];
  const body = blocks.map((lines) => lines.join('\n')).join('\n\n');
  return [
    '#!/usr/sbin/nft -f',
    ...header,
    '',
    `table inet ${table}`,
    `delete table inet ${table}`,
    '',
    `table inet ${table} {`,
    body,
    '}',
    '',
  ].join('\n');
}
