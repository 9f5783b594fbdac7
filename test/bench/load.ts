// Runs one load scenario: starts the load-generator worker thread(s), splits the connections
// between them, starts them together, samples server and client CPU at the edges of the measured
// window, and merges what they measured.
import { Worker } from 'node:worker_threads';
import { percentile, processCpuMs, selfCpuMs, systemBusyMs } from './stats.js';
import type { WorkerJob, WorkerResult } from './load-worker.js';

const WORKER_URL = new URL('./load-worker.ts', import.meta.url).href;
// Workers do not inherit tsx's loader on Node 20: register it inside the worker first.
const TSX_API = import.meta.resolve('tsx/esm/api');
const BOOT = `import(${JSON.stringify(TSX_API)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })`;

export interface ScenarioResult {
  ops: number;
  errors: number;
  errorSamples: string[];
  opsPerSec: number;
  p50: number;
  p99: number;
  mean: number;
  /** Share of one core used during the measured window (1 = 100 % of one core). */
  serverCpu: number;
  clientCpu: number;
  /** CPU used by everything else on the machine meanwhile (other processes: interference). */
  otherCpu: number;
  protocol: string;
  cipher: string;
  uids: string[];
  /** Open loop (job.rate): requests due in the window, how many found every connection busy, how many were answered before it closed. */
  offered: number;
  late: number;
  answeredInWindow: number;
  /** CPU share of each of RunOptions.extraPids over the window (not counted in otherCpu). */
  extraCpu: number[];
}

export interface RunOptions {
  /** Load-generator threads (the connections are divided between them). */
  workers: number;
  /** Process whose CPU use is reported as the server's. */
  serverPid?: number;
  /** Further processes whose CPU use is reported apart (e.g. the other servers of a mirror group). */
  extraPids?: number[];
}

export async function runScenario(job: Omit<WorkerJob, 'connections'> & { connections: number }, opts: RunOptions): Promise<ScenarioResult> {
  const nWorkers = Math.max(1, Math.min(opts.workers, job.connections));
  const shares = Array.from({ length: nWorkers }, (_, i) => Math.floor(job.connections / nWorkers) + (i < job.connections % nWorkers ? 1 : 0));
  const counts = job.count === undefined ? undefined : shares.map((s) => Math.round((job.count! * s) / job.connections));
  const rates = job.rate === undefined ? undefined : shares.map((s) => (job.rate! * s) / job.connections);
  const workers = shares.map((connections, i) => {
    const w = new Worker(BOOT, {
      eval: true,
      workerData: { ...job, connections, ...(counts ? { count: counts[i] } : {}), ...(rates ? { rate: rates[i] } : {}) } satisfies WorkerJob,
    });
    return w;
  });

  type Sample = { server: number; self: number; system: number; extra: number[]; t: number };
  let cpuAtStart: Sample | undefined;
  let cpuAtEnd: Sample | undefined;
  const extraPids = opts.extraPids ?? [];
  const sample = (): Sample => ({
    server: processCpuMs(opts.serverPid),
    self: selfCpuMs(),
    system: systemBusyMs(),
    extra: extraPids.map((p) => processCpuMs(p)),
    t: performance.now(),
  });

  const results = await new Promise<WorkerResult[]>((resolve, reject) => {
    let ready = 0;
    let done = 0;
    let windowStarts = 0;
    let windowEnds = 0;
    const out: WorkerResult[] = new Array(nWorkers);
    workers.forEach((w, i) => {
      w.on('error', reject);
      w.on('message', (m: { type: string; result?: WorkerResult; phase?: string; message?: string }) => {
        if (m.type === 'ready' && ++ready === nWorkers) {
          const at = Date.now() + 50;
          for (const x of workers) x.postMessage({ type: 'go', at });
        } else if (m.type === 'window') {
          if (m.phase === 'start' && ++windowStarts === 1) cpuAtStart = sample();
          if (m.phase === 'end' && ++windowEnds === nWorkers) cpuAtEnd = sample();
        } else if (m.type === 'done') {
          out[i] = m.result!;
          if (++done === nWorkers) resolve(out);
        } else if (m.type === 'failed') {
          reject(new Error(`load generator failed: ${m.message}`));
        }
      });
    });
  }).finally(() => Promise.all(workers.map((w) => w.terminate())));

  const total = results.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of results) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const ops = results.reduce((n, r) => n + r.ops, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const measuredMs = results[0]!.measuredMs;
  let serverCpu = NaN;
  let clientCpu = NaN;
  let otherCpu = NaN;
  let extraCpu = extraPids.map(() => NaN);
  if (cpuAtStart && cpuAtEnd) {
    const wall = cpuAtEnd.t - cpuAtStart.t;
    serverCpu = (cpuAtEnd.server - cpuAtStart.server) / wall;
    clientCpu = (cpuAtEnd.self - cpuAtStart.self) / wall;
    extraCpu = extraPids.map((_, i) => (cpuAtEnd!.extra[i]! - cpuAtStart!.extra[i]!) / wall);
    const extra = extraCpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    otherCpu = Math.max(0, (cpuAtEnd.system - cpuAtStart.system) / wall - serverCpu - clientCpu - extra);
  }
  return {
    ops,
    errors,
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 5),
    opsPerSec: measuredMs > 0 ? (ops * 1000) / measuredMs : NaN,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    mean: total ? all.reduce((a, b) => a + b, 0) / total : NaN,
    serverCpu,
    clientCpu,
    otherCpu,
    protocol: results.find((r) => r.protocol)?.protocol ?? '?',
    cipher: results.find((r) => r.cipher)?.cipher ?? '?',
    uids: results.flatMap((r) => r.uids),
    offered: results.reduce((n, r) => n + r.offered, 0),
    late: results.reduce((n, r) => n + r.late, 0),
    answeredInWindow: results.reduce((n, r) => n + r.answeredInWindow, 0),
    extraCpu,
  };
}
