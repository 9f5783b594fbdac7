// A/B comparison of Keyhaven trees under one load scenario, interleaved over several rounds so
// that drift and other processes' load hit every variant alike. Use it to measure a change before
// making it: build the checkout (`--build DIR`), copy the build, patch the copy's JavaScript, then
//
//   node --import tsx test/bench/ab.ts --root /tmp/base --root /tmp/patched [--scenario get-n]
//
// --root .  means this checkout through tsx. Scenarios: get-1, get-n, create-1, create-n,
// get-new-N. Prints ops/s and p50/p99 per round and the median per variant, relative to the first.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDevPki } from '../../server/pki/index.js';
import { runScenario, type ScenarioResult } from './load.js';
import { fmtInt, fmtMs, fmtPct } from './report.js';
import { createRequest, DEFAULT_MINOR, KEY_BYTES, packUids } from './requests.js';
import { buildCompiled, freePort, startKeyhaven } from './servers.js';
import type { WorkerJob } from './load-worker.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string', multiple: true, default: [] },
    build: { type: 'string' },
    scenario: { type: 'string', default: 'get-n' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    keys: { type: 'string', default: '1000' },
  },
});

if (values.build) {
  console.log(`built ${buildCompiled(resolve(values.build))}`);
  process.exit(0);
}
const roots = values.root!;
if (roots.length === 0) {
  console.error('usage: ab.ts --root DIR [--root DIR …] [--scenario get-n] [--rounds 3]   |   ab.ts --build DIR');
  process.exit(2);
}

const base = mkdtempSync(join(os.tmpdir(), 'keyhaven-ab-'));
const pki = await ensureDevPki(join(base, 'pki-source'));
const tls = {
  ca: readFileSync(pki.caCert, 'utf8'),
  cert: readFileSync(pki.clientCert, 'utf8'),
  key: readFileSync(pki.clientKey, 'utf8'),
  servername: 'localhost',
};
const id = values.scenario!;
const perRequest = /^get-new-(\d+)$/.exec(id);
const many = Number(values.connections);
const shape: Pick<WorkerJob, 'op' | 'mode' | 'connections'> =
  id === 'get-1' ? { op: 'get', mode: 'persistent', connections: 1 }
  : id === 'get-n' ? { op: 'get', mode: 'persistent', connections: many }
  : id === 'create-1' ? { op: 'create', mode: 'persistent', connections: 1 }
  : id === 'create-n' ? { op: 'create', mode: 'persistent', connections: many }
  : perRequest ? { op: 'get', mode: 'per-request', connections: Number(perRequest[1]) }
  : (() => { throw new Error(`unknown scenario ${id}`); })();
const common = {
  tls,
  minor: DEFAULT_MINOR,
  keyBytes: KEY_BYTES,
  createRequest: createRequest(DEFAULT_MINOR),
  warmupMs: Number(values.warmup) * 1000,
  durationMs: Number(values.duration) * 1000,
};

const results = roots.map(() => [] as ScenarioResult[]);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [i, root] of roots.entries()) {
    // A fresh store per run, with the same PKI.
    const dir = join(base, `run-${round}-${i}`);
    cpSync(join(base, 'pki-source', 'pki'), join(dir, 'pki'), { recursive: true });
    const server = await startKeyhaven({ dataDir: dir, port: await freePort(), ...(root === '.' ? {} : { root: resolve(root) }) });
    try {
      const made = await runScenario(
        { ...common, port: server.port, op: 'create', mode: 'persistent', connections: 4, count: Number(values.keys), collectUids: true },
        { workers: 1 },
      );
      const r = await runScenario({ ...common, ...shape, port: server.port, uids: packUids(made.uids) }, { workers: 1, serverPid: server.pid });
      results[i]!.push(r);
      console.log(
        `round ${round + 1} ${root.padEnd(30)} ${fmtInt(r.opsPerSec).padStart(7)} ops/s p50 ${fmtMs(r.p50)} p99 ${fmtMs(r.p99)} ms ` +
          `CPU server ${fmtPct(r.serverCpu)} client ${fmtPct(r.clientCpu)} other ${fmtPct(r.otherCpu)}${r.errors ? ` ERRORS ${r.errors}: ${r.errorSamples[0]}` : ''}`,
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ref = median(results[0]!.map((r) => r.opsPerSec));
console.log(`\n${id}, median of ${values.rounds} rounds:`);
roots.forEach((root, i) => {
  const ops = median(results[i]!.map((r) => r.opsPerSec));
  const p50 = median(results[i]!.map((r) => r.p50));
  console.log(`  ${root.padEnd(30)} ${fmtInt(ops).padStart(7)} ops/s  p50 ${fmtMs(p50)} ms  (${((100 * ops) / ref - 100).toFixed(1).padStart(6)}% vs first)`);
});
rmSync(base, { recursive: true, force: true });
