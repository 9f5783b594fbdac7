// `keyhaven dev` as a child process for tests (what an operator runs): started on given ports,
// optionally mirroring (and joining a member's group), ready once it printed its banner; every one
// started is killed by killAllDev() (call it in after()).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientFiles } from './kmip-client.js';

const KEYHAVEN = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));
export const DEV_HOST = '127.0.0.1';

export interface Dev {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Dev[] = [];
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, DEV_HOST, r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The dev client identity of the server whose data directory is `dir`, trusting `caDir`'s CA. */
export const devClient = (dir: string, caDir = dir): ClientFiles => ({ ca: join(caDir, 'pki/ca.crt'), cert: join(dir, 'pki/clients/dev.crt'), key: join(dir, 'pki/clients/dev.key') });

/** `keyhaven dev …`; resolves once it printed its ready lines (KMIP, and mirroring when asked). */
export async function startDev(dir: string, kmipPort: number, o: { mirrorPort?: number; joinFrom?: string; readyMs?: number } = {}): Promise<Dev> {
  const mirror = o.mirrorPort === undefined ? [] : ['--mirror-port', String(o.mirrorPort), ...(o.joinFrom ? ['--join-from', o.joinFrom] : [])];
  const proc = spawn(process.execPath, [KEYHAVEN, 'dev', '--data-dir', dir, '--host', DEV_HOST, '--kmip-port', String(kmipPort), ...mirror], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const dev = { proc, out: () => out, exited };
  running.push(dev);
  const deadline = Date.now() + (o.readyMs ?? 60_000);
  while (!(/^Keyhaven dev server: KMIP on/m.test(out) && (o.mirrorPort === undefined || /mirroring:/.test(out)))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`keyhaven dev --data-dir ${dir} exited before it was ready: ${err.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`keyhaven dev --data-dir ${dir} not ready in time; stdout: ${out.slice(-1000)}; stderr: ${err.slice(-1000)}`);
    await sleep(50);
  }
  return dev;
}

/** Stops one (SIGTERM: a clean stop; SIGKILL: a crash) and waits for its exit. */
export async function stopDev(d: Dev, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill(signal);
  await d.exited;
}

export async function killAllDev(): Promise<void> {
  for (const d of running) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
  await Promise.all(running.map((d) => d.exited));
}
