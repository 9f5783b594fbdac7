// A cluster network: N node namespaces, each with loopback and one IPv4 address 10.213.X.(i+1)/24 on
// a veth whose peer is a port of a Linux bridge. The bridge has a namespace of its own, not the root
// namespace: nothing of ours is visible there (no link names to collide with other tests), the root
// namespace's firewall cannot filter our bridged traffic (br_netfilter hands bridged IPv4 to the
// bridge namespace's hooks, and ours has no rules), and deleting the namespaces deletes bridge and
// veths with them. The nodes have no default route and the bridge namespace no address: a node
// reaches the other nodes and nothing else.
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNetns, deleteNetns, inNetns, must, run, type RunResult } from '../../firewall/helpers/sys.js';
import { killPid, leftovers, newPrefix, pidsIn, type Leftovers } from './leftovers.js';
import { Partitions, type Cut, type NodeRef } from './partitions.js';
import { NodeProcess, until, type SpawnOptions } from './processes.js';

/** The cluster's /16; one /24 of it per cluster. */
export const RANGE = '10.213';
export const MIN_NODES = 2;
export const MAX_NODES = 8;

export interface ClusterOptions {
  nodes: number;
  /** Keep the process logs after dispose() (their directory is printed). Also KEYHAVEN_FAULT_KEEP_LOGS=1. */
  keepLogs?: boolean;
}

export interface ClusterNode {
  readonly index: number;
  readonly ns: string;
  readonly address: string;
  /** The node's interface (inside its namespace). */
  readonly iface: string;
  /** Starts a long-running process in the node's namespace; killed by dispose() at the latest. */
  spawn(argv: readonly string[], env?: Record<string, string | undefined>, opts?: Omit<SpawnOptions, 'env'>): NodeProcess;
  /** Runs a command to completion in the node's namespace. */
  run(argv: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
}

interface IpAddr {
  ifname: string;
  addr_info: { local: string; prefixlen: number }[];
}

/** The addresses of `ip -j -4 addr` output that lie in our range ("10.213.1.1/24 on eth1"). */
export function rangeClashes(ifaces: readonly IpAddr[]): string[] {
  return ifaces.flatMap((i) => i.addr_info.filter((a) => a.local.startsWith(`${RANGE}.`)).map((a) => `${a.local}/${a.prefixlen} on ${i.ifname}`));
}

/** Throws when the root namespace has an address in our range: results would be ambiguous. */
export async function checkRangeFree(): Promise<void> {
  const clash = rangeClashes(JSON.parse(await must('ip', ['-j', '-4', 'addr', 'show'])) as IpAddr[]);
  if (clash.length) {
    throw new Error(`the fault harness's range ${RANGE}.0.0/16 is in use on this machine (${clash.join(', ')}): remove it or change RANGE in test/fault/harness/cluster.ts`);
  }
}

export class Cluster {
  readonly nodes: readonly ClusterNode[];
  /** Third octet of this cluster's /24. */
  readonly subnet: string;
  private readonly processes: NodeProcess[] = [];
  private readonly partitions: Partitions;
  /** Network namespace inodes, to find processes still in them after the names are deleted. */
  readonly namespaceInodes = new Set<number>();
  private disposed = false;

  private constructor(
    /** `khf-<4 hex>-`: every namespace and link of this cluster starts with it. */
    readonly prefix: string,
    readonly bridgeNs: string,
    readonly logDir: string,
    count: number,
    private readonly keepLogs: boolean,
  ) {
    this.subnet = String(parseInt(prefix.slice(4, 8), 16) % 256);
    this.nodes = Array.from({ length: count }, (_, index): ClusterNode => {
      const ns = `${prefix}${process.pid}-n${index}`;
      return {
        index,
        ns,
        address: `${RANGE}.${this.subnet}.${index + 1}`,
        iface: `${prefix}v${index}`,
        spawn: (argv, env, opts) => this.spawn(ns, argv, { ...opts, env: env ?? {} }),
        run: (argv, opts) => run('ip', inNetns(ns, ...argv), opts),
      };
    });
    this.partitions = new Partitions(this.nodes);
  }

  /** Builds the network; on any failure removes what it made and throws. */
  static async create(opts: ClusterOptions): Promise<Cluster> {
    const count = opts.nodes;
    if (!Number.isInteger(count) || count < MIN_NODES || count > MAX_NODES) throw new Error(`a cluster has ${MIN_NODES}..${MAX_NODES} nodes, not ${count}`);
    await checkRangeFree();
    const prefix = newPrefix();
    const logDir = await mkdtemp(join(tmpdir(), `${prefix}${process.pid}-logs-`));
    const net = new Cluster(prefix, `${prefix}${process.pid}-br`, logDir, count, opts.keepLogs ?? process.env['KEYHAVEN_FAULT_KEEP_LOGS'] === '1');
    try {
      await net.build();
      return net;
    } catch (err) {
      await net.dispose().catch(() => undefined);
      throw err;
    }
  }

  private async build(): Promise<void> {
    const br = `${this.prefix}br`;
    await this.addNamespace(this.bridgeNs);
    // IPv6 off before any link exists: no link-local addresses, so IPv4 (which the cuts filter) is the only way between nodes.
    await must('ip', inNetns(this.bridgeNs, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'));
    await must('ip', ['-n', this.bridgeNs, 'link', 'add', br, 'type', 'bridge']);
    await must('ip', ['-n', this.bridgeNs, 'link', 'set', br, 'up']);
    for (const n of this.nodes) {
      await this.addNamespace(n.ns);
      await must('ip', inNetns(n.ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1')); // loopback keeps ::1
      const port = `${this.prefix}p${n.index}`;
      await must('ip', ['link', 'add', 'name', n.iface, 'netns', n.ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.bridgeNs]);
      await must('ip', ['-n', this.bridgeNs, 'link', 'set', port, 'master', br, 'up']);
      await must('ip', ['-n', n.ns, 'addr', 'add', `${n.address}/24`, 'dev', n.iface]);
      await must('ip', ['-n', n.ns, 'link', 'set', n.iface, 'up']);
    }
    await this.partitions.install();
    // Ready when every bridge port forwards (without STP at once, but not before both veth ends are up).
    await until(async () => {
      const ports = JSON.parse(await must('bridge', ['-n', this.bridgeNs, '-j', 'link', 'show'])) as { state?: string }[];
      return ports.length === this.nodes.length && ports.every((p) => p.state === 'forwarding') ? true : undefined;
    }, 10_000, `bridge ports of ${this.bridgeNs} forwarding`);
  }

  private async addNamespace(ns: string): Promise<void> {
    await addNetns(ns);
    this.namespaceInodes.add(statSync(`/run/netns/${ns}`).ino);
  }

  private node(ref: NodeRef): ClusterNode {
    const i = typeof ref === 'number' ? ref : ref.index;
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i} (the cluster has ${this.nodes.length})`);
    return n;
  }

  private spawn(ns: string, argv: readonly string[], opts: SpawnOptions): NodeProcess {
    if (this.disposed) throw new Error('the cluster is disposed');
    const p = new NodeProcess(ns, argv, this.logDir, opts);
    this.processes.push(p);
    return p;
  }

  /** Every process spawned, in order (the exited ones too). */
  spawned(): readonly NodeProcess[] {
    return this.processes;
  }

  // Partitions: each change is in force, and read back from every node's nft table, when it resolves.
  partition = (a: NodeRef, b: NodeRef): Promise<void> => this.partitions.partition(a, b);
  partitionOneWay = (from: NodeRef, to: NodeRef): Promise<void> => this.partitions.partitionOneWay(from, to);
  isolate = (a: NodeRef): Promise<void> => this.partitions.isolate(a);
  heal = (a: NodeRef, b: NodeRef): Promise<void> => this.partitions.heal(a, b);
  healAll = (): Promise<void> => this.partitions.healAll();
  /** Throws unless every node's nft table holds exactly the cuts in force. */
  verifyCuts = (): Promise<void> => this.partitions.verify();
  /** The directed cuts in force. */
  cuts = (): Cut[] => this.partitions.list();
  reaches = (from: NodeRef, to: NodeRef): boolean => this.partitions.reaches(this.node(from).index, this.node(to).index);

  /**
   * Kills every process (spawned or not) in the cluster's namespaces, deletes the namespaces (and so
   * bridge, veths and nft tables) and the logs; then checks that nothing of the prefix is left.
   * Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.processes.map((p) => p.kill9().catch(() => undefined)));
    const namespaces = [this.bridgeNs, ...this.nodes.map((n) => n.ns)];
    for (const ns of namespaces) for (const pid of await pidsIn(ns)) killPid(pid); // helpers run() started, any other process
    for (const ns of namespaces) await deleteNetns(ns);
    // A namespace lives on while a process is in it: wait until the last one has gone.
    let left: Leftovers = { namespaces: [], links: [], processes: [] };
    try {
      await until(async () => {
        left = await leftovers(this.prefix, this.namespaceInodes);
        left.processes.forEach(killPid);
        return left.namespaces.length + left.links.length + left.processes.length === 0 ? true : undefined;
      }, 10_000, 'dispose');
    } catch {
      throw new Error(`dispose left ${JSON.stringify(left)} behind`);
    } finally {
      if (this.keepLogs) process.stderr.write(`fault harness logs kept in ${this.logDir}\n`);
      else await rm(this.logDir, { recursive: true, force: true });
    }
  }
}
