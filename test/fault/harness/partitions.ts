// Partitions as nft rules inside the node namespaces. Each node has a table `inet khfault`: a set of
// source addresses and an input rule dropping every packet from them. A cut "from → to" is `from`'s
// address in `to`'s set: what `from` sends vanishes at `to` (dropped, not refused, as on a real
// partition: the sender sees silence and times out), everything else flows.
//
// What a one-way cut A → B means for TCP: no new connection in either direction (A's SYN is dropped at
// B; B's SYN reaches A, which holds it in SYN-RECV, but A's SYN-ACK is dropped). On a connection open
// before the cut, nothing A sends (data, ACKs) reaches B, while B's bytes keep reaching A's application,
// though slowly: never acknowledged, B holds new data back (Nagle, congestion window) and sends it with
// its retransmissions. After a heal the connection recovers at B's and A's next retransmission, which
// backoff may put seconds later.
// UDP: A's datagrams never arrive at B; B's arrive at A. (harness.test.ts shows each of these.)
// ARP is not filtered (inet tables do not see it), IPv6 is off on the cluster links, so the rule is
// all there is between two nodes.
//
// The harness keeps the intended cuts as a model; every change rewrites the sets of the nodes it
// touches in one nft transaction each and reads the tables back: a table that does not say exactly
// what the model says throws.
import { inNetns, must } from '../../firewall/helpers/sys.js';

export const TABLE = 'khfault';

const TABLE_TEXT = `table inet ${TABLE} {
  set blocked { type ipv4_addr; }
  chain input { type filter hook input priority filter; policy accept; ip saddr @blocked drop; }
}
`;

export interface PartitionNode {
  readonly index: number;
  readonly ns: string;
  readonly address: string;
}

/** A node by index or the node itself. */
export type NodeRef = number | { readonly index: number };

/** A directed cut: packets from `from` do not reach `to`. */
export interface Cut {
  from: number;
  to: number;
}

interface NftListing {
  nftables: {
    set?: { name: string; elem?: (string | unknown)[] };
    chain?: { name: string; hook?: string; policy?: string };
    rule?: { chain: string; expr: unknown[] };
  }[];
}

export class Partitions {
  /** "from>to" for every cut in force. */
  private readonly cuts = new Set<string>();

  constructor(private readonly nodes: readonly PartitionNode[]) {}

  /** Loads the (empty) table into every node namespace. */
  async install(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      await must('ip', inNetns(n.ns, 'nft', '-f', '-'), { input: TABLE_TEXT });
    }));
    await this.verify();
  }

  private index(ref: NodeRef): number {
    const i = typeof ref === 'number' ? ref : ref.index;
    if (!Number.isInteger(i) || i < 0 || i >= this.nodes.length) throw new Error(`no node ${i} (the cluster has ${this.nodes.length})`);
    return i;
  }

  private pair(a: NodeRef, b: NodeRef): [number, number] {
    const [i, j] = [this.index(a), this.index(b)];
    if (i === j) throw new Error(`a node cannot be cut from itself (node ${i})`);
    return [i, j];
  }

  /** A and B do not hear each other. */
  partition(a: NodeRef, b: NodeRef): Promise<void> {
    const [i, j] = this.pair(a, b);
    return this.change([[i, j], [j, i]], []);
  }

  /** Packets from `from` are dropped at `to`; `to`'s packets still reach `from` (see the top). */
  partitionOneWay(from: NodeRef, to: NodeRef): Promise<void> {
    return this.change([this.pair(from, to)], []);
  }

  /** Cut from every other node, both ways. */
  isolate(a: NodeRef): Promise<void> {
    const i = this.index(a);
    const others = this.nodes.map((n) => n.index).filter((j) => j !== i);
    return this.change(others.flatMap((j): [number, number][] => [[i, j], [j, i]]), []);
  }

  /** Both directions between A and B flow again. */
  heal(a: NodeRef, b: NodeRef): Promise<void> {
    const [i, j] = this.pair(a, b);
    return this.change([], [[i, j], [j, i]]);
  }

  /** No cut anywhere (rewrites every node's set, also one changed behind the harness's back). */
  async healAll(): Promise<void> {
    this.cuts.clear();
    await Promise.all(this.nodes.map((n) => this.write(n)));
    await this.verify();
  }

  /** The cuts in force, by the model (which verify() holds the kernel to). */
  list(): Cut[] {
    return [...this.cuts].map((c) => c.split('>').map(Number)).map(([from, to]) => ({ from: from!, to: to! })).sort((x, y) => x.from - y.from || x.to - y.to);
  }

  /** Whether packets from `from` reach `to` (by the model). */
  reaches(from: NodeRef, to: NodeRef): boolean {
    return !this.cuts.has(`${this.index(from)}>${this.index(to)}`);
  }

  private blockedAt(to: number): string[] {
    return this.nodes.filter((n) => this.cuts.has(`${n.index}>${to}`)).map((n) => n.address).sort();
  }

  private async change(add: [number, number][], remove: [number, number][]): Promise<void> {
    for (const [f, t] of add) this.cuts.add(`${f}>${t}`);
    for (const [f, t] of remove) this.cuts.delete(`${f}>${t}`);
    const touched = new Set([...add, ...remove].map(([, t]) => t));
    await Promise.all([...touched].map((t) => this.write(this.nodes[t]!)));
    await this.verify();
  }

  /** Replaces the node's set in one transaction (idempotent: the result depends on the model only). */
  private async write(n: PartitionNode): Promise<void> {
    const addrs = this.blockedAt(n.index);
    const script = `flush set inet ${TABLE} blocked\n${addrs.length ? `add element inet ${TABLE} blocked { ${addrs.join(', ')} }\n` : ''}`;
    await must('ip', inNetns(n.ns, 'nft', '-f', '-'), { input: script });
  }

  /** Reads every node's table back; throws unless each is exactly the model's. */
  async verify(): Promise<void> {
    const problems = await Promise.all(this.nodes.map(async (n) => {
      const listing = JSON.parse(await must('ip', inNetns(n.ns, 'nft', '-j', 'list', 'table', 'inet', TABLE))) as NftListing;
      const problem = tableProblem(listing, this.blockedAt(n.index));
      if (!problem) return undefined;
      const text = await must('ip', inNetns(n.ns, 'nft', 'list', 'table', 'inet', TABLE)).catch((e: Error) => e.message);
      return `node ${n.index} (${n.ns}): ${problem}\n${text}`;
    }));
    const found = problems.filter(Boolean);
    if (found.length) throw new Error(`nft tables differ from the intended cuts ${JSON.stringify(this.list())}:\n${found.join('\n')}`);
  }
}

/** Why a listed table is not the one holding `blocked`, or undefined when it is. */
function tableProblem(listing: NftListing, blocked: string[]): string | undefined {
  const items = listing.nftables;
  const set = items.find((i) => i.set?.name === 'blocked')?.set;
  if (!set) return 'the set "blocked" is missing';
  const elems = (set.elem ?? []).map(String).sort();
  if (JSON.stringify(elems) !== JSON.stringify(blocked)) return `blocks ${JSON.stringify(elems)}, should block ${JSON.stringify(blocked)}`;
  const chains = items.filter((i) => i.chain).map((i) => i.chain!);
  if (chains.length !== 1 || chains[0]!.hook !== 'input' || chains[0]!.policy !== 'accept') return `expected one input chain with policy accept, found ${JSON.stringify(chains)}`;
  const rules = items.filter((i) => i.rule).map((i) => JSON.stringify(i.rule!.expr));
  const expected = JSON.stringify([{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blocked' } }, { drop: null }]);
  if (rules.length !== 1 || rules[0] !== expected) return `expected the one rule "ip saddr @blocked drop", found ${rules.join(' ; ')}`;
  return undefined;
}
