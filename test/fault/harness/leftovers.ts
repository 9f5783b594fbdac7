// Names of what a cluster creates, and finding and removing what a crashed run left behind.
// Every namespace is named khf-<4 hex>-<owner pid>-<role>: the random hex keeps concurrent runs apart,
// the owner pid lets a sweep tell a crashed run's leftovers from a cluster still in use. Links (bridge,
// veths) are named khf-<4 hex>-<role> and live only inside those namespaces, so they go with them.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNetns, must, run } from '../../firewall/helpers/sys.js';

/** Every name the harness gives starts with this. */
export const PREFIX = 'khf-';
const OWNED = /^khf-([0-9a-f]{4})-(\d+)-/;

/** A fresh prefix `khf-<4 hex>-` for one cluster. */
export const newPrefix = (): string => `${PREFIX}${randomBytes(2).toString('hex')}-`;

export async function namespacesWith(prefix: string): Promise<string[]> {
  const out = await must('ip', ['netns', 'list']);
  // Lines read "name" or "name (id: 3)".
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix));
}

/** Links of the root namespace whose name starts with the prefix (there should never be any). */
export async function rootLinksWith(prefix: string): Promise<string[]> {
  const links = JSON.parse(await must('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}

/** Processes running inside the named namespace. */
export async function pidsIn(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns]);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

/**
 * Processes whose network namespace is one of these (by inode): also finds processes in a namespace
 * whose name was already deleted, which keep it (and its veths and nft table) alive.
 */
export function pidsInNamespaces(inodes: ReadonlySet<number>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/ns/net`));
      if (m && inodes.has(Number(m[1]))) found.push(Number(entry));
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return found;
}

export function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function ownerAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return false;
  }
}

export interface Leftovers {
  namespaces: string[];
  links: string[];
  processes: number[];
}

/** What of `prefix` still exists; `inodes`: the namespaces it made, to find processes still in them. */
export async function leftovers(prefix: string, inodes: ReadonlySet<number> = new Set()): Promise<Leftovers> {
  const namespaces = await namespacesWith(prefix);
  const processes = new Set(pidsInNamespaces(inodes));
  for (const ns of namespaces) for (const pid of await pidsIn(ns)) processes.add(pid);
  return { namespaces, links: await rootLinksWith(prefix), processes: [...processes].sort((a, b) => a - b) };
}

/**
 * Removes the namespaces (with the processes in them, their veths, bridge and nft tables) and log
 * directories left by harness runs whose owner process is gone. A cluster whose owner lives is left
 * alone: it may be another test running right now. Returns what it removed.
 */
export async function sweep(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await namespacesWith(PREFIX)) {
    const owner = OWNED.exec(ns);
    if (!owner || ownerAlive(Number(owner[2]))) continue;
    for (const pid of await pidsIn(ns)) killPid(pid);
    await deleteNetns(ns);
    removed.push(`namespace ${ns}`);
  }
  for (const name of readdirSync(tmpdir())) {
    const owner = OWNED.exec(name);
    if (!owner || ownerAlive(Number(owner[2]))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(`log directory ${name}`);
  }
  return removed;
}
