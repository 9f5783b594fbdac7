// Shared by the firewall tests: running commands, root/tool checks, network namespaces.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rootOnly } from '../../support/root-only.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const HELPERS = fileURLToPath(new URL('./', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs and throws with the command's stderr unless it exits 0. */
export async function must(cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export async function hasCommand(name: string): Promise<boolean> {
  const r = await run('sh', ['-c', `command -v ${name}`]).catch(() => undefined);
  return r?.code === 0;
}

/** Why a test needing root and these commands cannot run here, or undefined when it can. */
export async function needsRootAnd(...commands: string[]): Promise<string | undefined> {
  const notRoot = rootOnly('network namespaces, nft');
  if (notRoot) return notRoot;
  for (const c of commands) if (!(await hasCommand(c))) return `needs the ${c} command (apt-get install nftables iproute2)`;
  return undefined;
}

/** `ip netns exec NS <cmd…>` argv. */
export const inNetns = (ns: string, ...cmd: string[]): string[] => ['netns', 'exec', ns, ...cmd];

/** A node process running a TypeScript helper, with the fd soft limit raised to the hard limit. */
export function nodeHelperArgs(ns: string, helper: string, ...args: string[]): string[] {
  return inNetns(ns, 'sh', '-c', 'ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh', process.execPath, '--import', 'tsx', `${HELPERS}${helper}`, ...args);
}

/** Runs a helper to completion and parses its single JSON line of output. */
export async function runHelper<T>(ns: string, helper: string, args: string[], timeoutMs = 60_000): Promise<T> {
  const out = await must('ip', nodeHelperArgs(ns, helper, ...args), { timeoutMs });
  return JSON.parse(out.trim().split('\n').pop() ?? 'null') as T;
}

export interface Background {
  child: ChildProcessWithoutNullStreams;
  /** JSON lines printed after the ready line. */
  lines: unknown[];
  ready: Record<string, unknown>;
  /** Terminates the helper; resolves once it has exited (its sockets are closed). */
  stop(): Promise<void>;
}

/** Starts a long-running helper and resolves once it prints its `{"ready":true,…}` line. */
export function startHelper(ns: string, helper: string, args: string[], timeoutMs = 60_000): Promise<Background> {
  const child = spawn('ip', nodeHelperArgs(ns, helper, ...args), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: unknown[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${helper} not ready after ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${helper} exited ${code} before ready: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.ready === true) {
        clearTimeout(timer);
        const exited = new Promise<void>((done) => child.once('close', () => done()));
        const stop = async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        };
        resolve({ child, lines, ready: parsed, stop });
      } else {
        lines.push(parsed);
      }
    });
  });
}

/** Creates a network namespace with loopback up. */
export async function addNetns(name: string): Promise<void> {
  await must('ip', ['netns', 'add', name]);
  await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
}
