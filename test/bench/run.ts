// `npm run bench`: Keyhaven's KMIP throughput and latency, measured side by side with PyKMIP's own
// server under the identical client load, then Get latency against a store of a million keys, then
// (when a goal is missed, or with --profile) a CPU profile of the server under the Get load, then the
// mirroring section (mirroring.ts: three servers on loopback against issue 13's goals).
//
//   npm run bench                 full run (5–9 minutes on 2 cores, plus 5–8 for mirroring)
//   npm run bench -- --quick      smoke run (about 80 s)
//   npm run bench -- --help       every option
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ensureDevPki } from '../../server/pki/index.js';
import { startCannedServer } from './ceiling.js';
import { backupBench, judgeBackup, type BackupBenchResult } from './backup-bench.js';
import { fillStore, identityOf } from './fill.js';
import { runScenario, type ScenarioResult } from './load.js';
import { applyMirroringArgs, defaultMirroringOptions, runMirroring } from './mirroring.js';
import { findPerf, formatPerf, PERF_NODE_ARGS, startPerf } from './perf.js';
import { formatProfile, summariseProfile, type CallFrame } from './profile.js';
import { fmtBytes, fmtInt, fmtMs, fmtPct, fmtRatio, table } from './report.js';
import { createRequest, DEFAULT_MINOR, KEY_BITS, KEY_BYTES, packUids, type PackedUids } from './requests.js';
import {
  buildCompiled, findPykmip, freePort, PYKMIP_INSTALL_HINT, pykmipVersion, startKeyhaven, startPykmip, type BenchServer,
} from './servers.js';
import type { WorkerJob } from './load-worker.js';

const HELP = `npm run bench -- [options]

Keyhaven vs PyKMIP (pykmip-server) under the same KMIP-over-TLS load, then Get at scale.

  --quick                 smoke run: 1 s windows, 200 keys, --scale 20000
  --duration S            measured window per scenario, seconds (default 5; quick 1)
  --warmup S              warm-up before each window, seconds (default 1; quick 0.3)
  --connections N         connections of the "many connections" scenarios (default 16)
  --per-request LIST      concurrencies of the new-connection-per-request scenarios (default 1,4)
  --keys N                keys created over KMIP on each server before the Get scenarios (default 1000; quick 200)
  --scale N               keys for the scale test, 0 to skip (default 1000000; quick 20000)
  --scale-small N         baseline store size of the scale test (default 1000)
  --pykmip-duration S     window for PyKMIP's scenarios (default: same as --duration)
  --no-pykmip             skip PyKMIP
  --no-backup             skip the backup section (backup, restore and Get during a backup, on the --scale store)
  --no-mirroring          skip the mirroring section (mirroring.ts; alone: node --import tsx test/bench/mirroring.ts)
  --mirroring-sections L  some of throughput,lag,catchup,copy (default all)
  --mirroring-copy N      keys of the founder in the mirroring full copy (default 100000; the goal's size is
                          1000000; quick 5000)
  --mirroring-adopt N     keys of the store timed while adopted into the change log (default 100000; quick 5000)
  --profile               always profile Keyhaven under Get with N connections (default: only when a goal fails)
  --no-profile            never profile
  --profile-scenarios L   scenarios to profile (default get-n and the largest get-new-N)
  --no-perf               when profiling, skip the native profile with Linux perf (SQLite, OpenSSL, kernel
                          time; taken when perf is installed)
  --runtime R             how Keyhaven runs: tsx (this checkout, as \`keyhaven serve\` does here; default)
                          or compiled (tsc build, as the appliance ships it)
  --keyhaven-root DIR     run Keyhaven from another tree holding appliance/bin/keyhaven.js (e.g. a patched
                          build, to measure a change before making it); implies --runtime compiled
  --no-compiled           skip the tsx-vs-compiled comparison of the full run
  --tls12                 force TLS 1.2 on both servers (default: each negotiates its best)
  --minor N               KMIP 1.N requests (default ${DEFAULT_MINOR}; PyKMIP speaks 1.0-1.2)
  --workers N             load-generator threads (default 1)
  --repeat N              windows of the goal scenario (Get, N connections) per server; the median is
                          reported (default 3; quick 1)
  --dir DIR               work directory (default: a new one under ${os.tmpdir()})
  --keep                  keep the work directory
`;

interface Options {
  quick: boolean;
  warmupMs: number;
  durationMs: number;
  pykmipDurationMs: number;
  connections: number;
  perRequest: number[];
  keys: number;
  scale: number;
  scaleSmall: number;
  pykmip: boolean;
  mirroring: boolean;
  /** The backup section, on the scale section's large store. */
  backup: boolean;
  mirroringSections: string | undefined;
  mirroringCopy: string | undefined;
  mirroringAdopt: string | undefined;
  profile: 'auto' | 'always' | 'never';
  profileScenarios: string[] | undefined;
  perf: boolean;
  runtime: 'tsx' | 'compiled';
  keyhavenRoot: string | undefined;
  compareCompiled: boolean;
  tls12: boolean;
  minor: number;
  workers: number;
  repeat: number;
  dir: string | undefined;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'per-request': { type: 'string' },
      keys: { type: 'string' },
      scale: { type: 'string' },
      'scale-small': { type: 'string' },
      'pykmip-duration': { type: 'string' },
      'no-pykmip': { type: 'boolean', default: false },
      'no-mirroring': { type: 'boolean', default: false },
      'no-backup': { type: 'boolean', default: false },
      'mirroring-sections': { type: 'string' },
      'mirroring-copy': { type: 'string' },
      'mirroring-adopt': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'profile-scenarios': { type: 'string' },
      'no-perf': { type: 'boolean', default: false },
      runtime: { type: 'string' },
      'keyhaven-root': { type: 'string' },
      'no-compiled': { type: 'boolean', default: false },
      tls12: { type: 'boolean', default: false },
      minor: { type: 'string' },
      workers: { type: 'string' },
      repeat: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const num = (v: string | undefined, fallback: number, name: string, min = 0): number => {
    if (v === undefined) return fallback;
    const n = Number(v.replace(/[_,]/g, ''));
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, not "${v}"`);
    return n;
  };
  const quick = values.quick!;
  const durationMs = num(values.duration, quick ? 1 : 5, 'duration', 0.1) * 1000;
  return {
    quick,
    durationMs,
    warmupMs: num(values.warmup, quick ? 0.3 : 1, 'warmup') * 1000,
    pykmipDurationMs: values['pykmip-duration'] !== undefined ? num(values['pykmip-duration'], 0, 'pykmip-duration', 0.1) * 1000 : durationMs,
    connections: num(values.connections, 16, 'connections', 1),
    perRequest: (values['per-request'] ?? '1,4').split(',').filter(Boolean).map((s) => num(s, 1, 'per-request', 1)),
    keys: num(values.keys, quick ? 200 : 1000, 'keys', 1),
    scale: num(values.scale, quick ? 20_000 : 1_000_000, 'scale'),
    scaleSmall: num(values['scale-small'], 1000, 'scale-small', 1),
    pykmip: !values['no-pykmip'],
    mirroring: !values['no-mirroring'],
    backup: !values['no-backup'],
    mirroringSections: values['mirroring-sections'],
    mirroringCopy: values['mirroring-copy'],
    mirroringAdopt: values['mirroring-adopt'],
    profile: values['no-profile'] ? 'never' : values.profile ? 'always' : 'auto',
    profileScenarios: values['profile-scenarios']?.split(',').filter(Boolean),
    perf: !values['no-perf'],
    runtime: ((): 'tsx' | 'compiled' => {
      const r = values.runtime ?? (values['keyhaven-root'] ? 'compiled' : 'tsx');
      if (r !== 'tsx' && r !== 'compiled') throw new Error(`--runtime must be tsx or compiled, not "${r}"`);
      return r;
    })(),
    keyhavenRoot: values['keyhaven-root'],
    compareCompiled: !quick && !values['no-compiled'],
    tls12: values.tls12!,
    minor: num(values.minor, DEFAULT_MINOR, 'minor', 0),
    workers: num(values.workers, 1, 'workers', 1),
    repeat: num(values.repeat, quick ? 1 : 3, 'repeat', 1),
    dir: values.dir,
    keep: values.keep!,
  };
}

interface Scenario {
  id: string;
  label: string;
  op: 'get' | 'create';
  mode: 'persistent' | 'per-request';
  connections: number;
}

function scenarios(o: Options): Scenario[] {
  const many = o.connections;
  return [
    { id: 'get-1', label: 'Get, 1 connection', op: 'get', mode: 'persistent', connections: 1 },
    { id: 'get-n', label: `Get, ${many} connections`, op: 'get', mode: 'persistent', connections: many },
    { id: 'create-1', label: 'Create, 1 connection', op: 'create', mode: 'persistent', connections: 1 },
    { id: 'create-n', label: `Create, ${many} connections`, op: 'create', mode: 'persistent', connections: many },
    ...o.perRequest.map((c): Scenario => ({
      id: `get-new-${c}`,
      label: `Get, new TLS connection per request, ${c} concurrent`,
      op: 'get',
      mode: 'per-request',
      connections: c,
    })),
  ];
}

const log = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function machineInfo(o: Options, workDir: string, pykmipExe: string | undefined): string[] {
  const cpus = os.cpus();
  let fs = '?';
  try {
    const [source, type] = execFileSync('df', ['-T', workDir], { encoding: 'utf8' }).trim().split('\n').pop()!.trim().split(/\s+/);
    fs = `${type} on ${source}`;
  } catch {
    /* no df */
  }
  return [
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${fmtBytes(os.totalmem())} RAM, ${os.type()} ${os.release()}`,
    `runtime: node ${process.version} (OpenSSL ${process.versions.openssl}); ${pykmipExe ? pykmipVersion(pykmipExe) : 'PyKMIP not used'}`,
    `work dir: ${workDir} (${fs}); load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `load: KMIP 1.${o.minor} TTLV over mutual TLS, one request in flight per connection (no pipelining), ` +
      `pre-encoded requests, every response checked; ${o.workers} load-generator thread(s); ` +
      `warm-up ${o.warmupMs / 1000} s, window ${o.durationMs / 1000} s per scenario`,
  ];
}

interface Env {
  o: Options;
  tls: WorkerJob['tls'];
  createBytes: Buffer;
  /** Compiled build's root when --runtime compiled (or for the comparison). */
  compiledRoot?: string;
}

/** Keyhaven as --runtime says: this checkout through tsx, or the compiled build. */
function keyhavenRoot(env: Env): { root?: string } {
  return env.o.runtime === 'compiled' ? { root: env.compiledRoot! } : {};
}

function job(env: Env, port: number, s: Pick<Scenario, 'op' | 'mode' | 'connections'>, extra: Partial<WorkerJob>): WorkerJob {
  return {
    port,
    tls: env.tls,
    op: s.op,
    mode: s.mode,
    connections: s.connections,
    warmupMs: env.o.warmupMs,
    durationMs: env.o.durationMs,
    minor: env.o.minor,
    keyBytes: KEY_BYTES,
    createRequest: env.createBytes,
    ...extra,
  };
}

/** Creates `count` keys over KMIP (4 connections) and returns their identifiers. */
async function createKeys(env: Env, server: BenchServer, count: number): Promise<PackedUids> {
  const started = performance.now();
  const r = await runScenario(
    job(env, server.port, { op: 'create', mode: 'persistent', connections: 4 }, { count, collectUids: true }),
    { workers: 1, serverPid: server.pid },
  );
  if (r.errors > 0 || r.uids.length < count) {
    throw new Error(`${server.name}: creating ${count} keys failed (${r.uids.length} made, ${r.errors} errors: ${r.errorSamples.join('; ')})\n${server.output()}`);
  }
  log(`  ${server.name}: created ${fmtInt(count)} AES-${KEY_BITS} keys over KMIP in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return packUids(r.uids);
}

/** Largest CPU share other processes took during any measured window (interference). */
let worstOther = 0;

function describe(r: ScenarioResult): string {
  const err = r.errors ? `, ${fmtInt(r.errors)} ERRORS (${r.errorSamples.join('; ')})` : '';
  if (Number.isFinite(r.otherCpu)) worstOther = Math.max(worstOther, r.otherCpu);
  return `${fmtInt(r.opsPerSec).padStart(7)} ops/s  p50 ${fmtMs(r.p50).padStart(6)} ms  p99 ${fmtMs(r.p99).padStart(6)} ms  ` +
    `CPU server ${fmtPct(r.serverCpu).padStart(4)} client ${fmtPct(r.clientCpu).padStart(4)} other ${fmtPct(r.otherCpu).padStart(4)}${err}`;
}

async function runAll(
  env: Env,
  server: BenchServer,
  uids: PackedUids,
  list: Scenario[],
  durationMs: number,
  goalRepeat = env.o.repeat,
): Promise<Map<string, ScenarioResult>> {
  const out = new Map<string, ScenarioResult>();
  for (const s of list) {
    const runs: ScenarioResult[] = [];
    const repeat = s.id === 'get-n' ? goalRepeat : 1;
    for (let i = 0; i < repeat; i++) {
      const r = await runScenario(job(env, server.port, s, { uids, durationMs }), { workers: env.o.workers, serverPid: server.pid });
      runs.push(r);
      const label = repeat > 1 ? `${s.label} (${i + 1}/${repeat})` : s.label;
      log(`  ${server.name.padEnd(8)} ${label.padEnd(50)} ${describe(r)}`);
      await sleep(300);
    }
    // The median window by throughput (the middle one of three).
    out.set(s.id, [...runs].sort((a, b) => a.opsPerSec - b.opsPerSec)[Math.floor(runs.length / 2)]!);
  }
  const any = [...out.values()][0];
  if (any) log(`  ${server.name}: TLS ${any.protocol} ${any.cipher}`);
  return out;
}

function comparisonTable(list: Scenario[], kh: Map<string, ScenarioResult>, py: Map<string, ScenarioResult> | undefined): string {
  const cols = [
    { title: 'scenario', align: 'left' as const },
    { title: 'Keyhaven ops/s' }, { title: 'p50 ms' }, { title: 'p99 ms' }, { title: 'errors' },
    { title: 'PyKMIP ops/s' }, { title: 'p50 ms' }, { title: 'p99 ms' }, { title: 'errors' },
    { title: 'ops/s ratio' }, { title: 'p50 ratio' },
  ];
  const rows = list.map((s) => {
    const a = kh.get(s.id)!;
    const b = py?.get(s.id);
    return [
      s.label,
      fmtInt(a.opsPerSec), fmtMs(a.p50), fmtMs(a.p99), fmtInt(a.errors),
      b ? fmtInt(b.opsPerSec) : '-', b ? fmtMs(b.p50) : '-', b ? fmtMs(b.p99) : '-', b ? fmtInt(b.errors) : '-',
      b ? fmtRatio(a.opsPerSec / b.opsPerSec) : '-',
      b ? fmtRatio(b.p50 / a.p50) : '-',
    ];
  });
  return table(cols, rows);
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

interface ScaleRun {
  keys: number;
  fillSeconds: number;
  dbBytes: number;
  startSeconds: number;
  get1: ScenarioResult;
  getN: ScenarioResult;
  backup?: BackupBenchResult;
}

async function scaleRun(env: Env, base: string, pkiFrom: string, owner: string, keys: number, withBackup = false): Promise<ScaleRun> {
  const dir = join(base, `scale-${keys}`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(pkiFrom, 'pki'), join(dir, 'pki'), { recursive: true });
  const step = keys >= 200_000 ? 100_000 : keys;
  const t0 = performance.now();
  const fill = fillStore(dir, keys, owner, env.createBytes, (done) => {
    if (done % step === 0 || done === keys) {
      log(`  filling ${fmtInt(keys)}-key store: ${fmtInt(done)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  });
  log(`  filled ${fmtInt(keys)} keys in ${fill.seconds.toFixed(1)} s (${fmtInt(keys / fill.seconds)} keys/s), database ${fmtBytes(fill.dbBytes)}`);
  const uids = packUids(fill.uids);
  fill.uids.length = 0;
  const t1 = performance.now();
  const server = await startKeyhaven({ dataDir: dir, port: await freePort(), ...keyhavenRoot(env) });
  const startSeconds = (performance.now() - t1) / 1000;
  log(`  Keyhaven started on the ${fmtInt(keys)}-key store in ${startSeconds.toFixed(1)} s`);
  try {
    const results = await runAll(env, server, uids, [
      { id: 'get-1', label: `Get, 1 connection, ${fmtInt(keys)} keys`, op: 'get', mode: 'persistent', connections: 1 },
      { id: 'get-n', label: `Get, ${env.o.connections} connections, ${fmtInt(keys)} keys`, op: 'get', mode: 'persistent', connections: env.o.connections },
    ], env.o.durationMs);
    let backup: BackupBenchResult | undefined;
    if (withBackup) {
      log(`== Backups (backup-bench.ts) on the ${fmtInt(keys)}-key store, its server running ==`);
      const getWindow = () =>
        runScenario(job(env, server.port, { op: 'get', mode: 'persistent', connections: env.o.connections }, { uids, durationMs: env.o.durationMs }), { workers: env.o.workers, serverPid: server.pid });
      backup = await backupBench({ dir, restoreDir: join(base, `restored-${keys}`), getWindow, log });
      if (!env.o.keep) rmSync(join(base, `restored-${keys}`), { recursive: true, force: true });
    }
    return { keys, fillSeconds: fill.seconds, dbBytes: fill.dbBytes, startSeconds, get1: results.get('get-1')!, getN: results.get('get-n')!, ...(backup ? { backup } : {}) };
  } finally {
    await server.stop();
    if (!env.o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function profileKeyhaven(env: Env, khDir: string, base: string, uids: PackedUids, which: Scenario[]): Promise<void> {
  for (const s of which) {
    log(`== Profile: Keyhaven server (node --cpu-prof, ${env.o.runtime}) under ${s.label}, ${env.o.durationMs / 1000} s ==`);
    const profDir = join(base, `profile-${s.id}`);
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    const server = await startKeyhaven({ dataDir: khDir, port: await freePort(), cpuProfDir: profDir, ...keyhavenRoot(env) });
    try {
      await runAll(env, server, uids, [s], env.o.durationMs, 1);
    } finally {
      await server.stop();
    }
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      log('no profile was written');
      continue;
    }
    log(`(${join(profDir, file)}${env.o.keep ? '' : ', removed at exit (--keep keeps it)'}; counted from the first request ` +
      'handled to the last, warm-up included; sampling slows the server somewhat)');
    // From the first request (or accepted connection) to the last: not start-up, shutdown or the
    // audit records of those.
    const active = (f: CallFrame) =>
      /\/server\/ops\/handle-request\.[jt]s$/.test(f.url) || (f.functionName === 'accept' && /\/server\/net\/tls-listener\.[jt]s$/.test(f.url));
    log(formatProfile(summariseProfile(join(profDir, file), active)));
    log();
    if (env.o.perf) await perfKeyhaven(env, khDir, base, uids, s);
  }
}

async function perfKeyhaven(env: Env, khDir: string, base: string, uids: PackedUids, s: Scenario): Promise<void> {
  log(`== Native profile: Linux perf on the Keyhaven server under ${s.label} ==`);
  if (!findPerf()) {
    log('perf is not installed (Debian: apt-get install linux-perf); skipped');
    log();
    return;
  }
  const server = await startKeyhaven({ dataDir: khDir, port: await freePort(), nodeArgs: PERF_NODE_ARGS, ...keyhavenRoot(env) });
  const out = join(base, `perf-${s.id}.data`);
  const seconds = Math.ceil((env.o.warmupMs + env.o.durationMs) / 1000) + 1;
  let perf;
  try {
    perf = startPerf(server.pid, seconds, out);
    await runAll(env, server, uids, [s], env.o.durationMs, 1);
    await new Promise((r) => perf!.once('exit', r));
  } finally {
    await server.stop();
    rmSync(`/tmp/perf-${server.pid}.map`, { force: true });
  }
  log(`(${out}; the whole recording: ${seconds} s from just before the warm-up)`);
  log(formatPerf(out));
  log();
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const base = o.dir ?? mkdtempSync(join(os.tmpdir(), 'keyhaven-bench-'));
  mkdirSync(base, { recursive: true });
  const pykmipExe = o.pykmip ? findPykmip() : undefined;
  const started = performance.now();

  log(`Keyhaven benchmark${o.quick ? ' (--quick: smoke run, figures are indicative only)' : ''}`);
  for (const l of machineInfo(o, base, pykmipExe)) log(l);
  log();

  const khDir = join(base, 'keyhaven');
  const pki = await ensureDevPki(khDir);
  const env: Env = {
    o,
    tls: {
      ca: readFileSync(pki.caCert, 'utf8'),
      cert: readFileSync(pki.clientCert, 'utf8'),
      key: readFileSync(pki.clientKey, 'utf8'),
      servername: 'localhost',
      ...(o.tls12 ? { maxVersion: 'TLSv1.2' as const } : {}),
    },
    createBytes: createRequest(o.minor),
  };
  if (o.keyhavenRoot) {
    env.compiledRoot = o.keyhavenRoot;
  } else if (o.runtime === 'compiled' || o.compareCompiled) {
    const t = performance.now();
    env.compiledRoot = buildCompiled(join(base, 'build'));
    log(`compiled the checkout with tsc into ${env.compiledRoot} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  log(`Keyhaven runs ${o.runtime === 'tsx' ? 'from this checkout through tsx (node appliance/bin/keyhaven.js serve)' : `compiled, from ${env.compiledRoot}`}; ` +
    `server and client certificates RSA-${rsaBits(pki.serverCert)}/${rsaBits(pki.clientCert)} from the dev CA`);
  log();
  const list = scenarios(o);
  let failedGoal = false;

  // --- Calibration ---------------------------------------------------------------------------
  log('== Calibration: the same client against a canned-response TLS server (Keyhaven\'s certificates and TLS settings, in the benchmark process) ==');
  const canned = await startCannedServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert }, o.minor);
  let ceiling: number;
  try {
    const fake = packUids(Array.from({ length: 1000 }, (_, i) => String(i).padStart(36, '0')));
    const r = await runAll(env, { name: 'canned', pid: process.pid, port: canned.port, output: () => '', stop: async () => {} }, fake, [list[1]!], o.durationMs, 1);
    ceiling = r.get('get-n')!.opsPerSec;
  } finally {
    await canned.close();
  }
  log(`  transport + load-generator ceiling: ${fmtInt(ceiling)} Get/s with ${o.connections} connections ` +
    `(${(ceiling / 15_000).toFixed(1)}× the 15,000 goal; "CPU server" is the whole benchmark process here)`);
  log();

  // --- Keyhaven ------------------------------------------------------------------------------
  log('== Keyhaven ==');
  const kh = await startKeyhaven({ dataDir: khDir, port: await freePort(), ...keyhavenRoot(env) });
  let khUids: PackedUids;
  let khResults: Map<string, ScenarioResult>;
  try {
    khUids = await createKeys(env, kh, o.keys);
    khResults = await runAll(env, kh, khUids, list, o.durationMs);
  } catch (err) {
    log(kh.output());
    throw err;
  } finally {
    await kh.stop();
  }
  log();

  // --- PyKMIP --------------------------------------------------------------------------------
  let pyResults: Map<string, ScenarioResult> | undefined;
  if (!o.pykmip) {
    log('== PyKMIP: skipped (--no-pykmip) ==');
  } else if (!pykmipExe) {
    log(`== PyKMIP: skipped. ${PYKMIP_INSTALL_HINT} ==`);
  } else {
    log('== PyKMIP (pykmip-server: same server certificate, CA, client certificate and requests) ==');
    if (o.pykmipDurationMs !== o.durationMs) log(`  note: PyKMIP windows are ${o.pykmipDurationMs / 1000} s (Keyhaven's ${o.durationMs / 1000} s); same load shape`);
    const pyDir = join(base, 'pykmip');
    mkdirSync(pyDir, { recursive: true });
    const py = await startPykmip(pykmipExe, { dir: pyDir, port: await freePort(), certificate: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    try {
      const pyUids = await createKeys(env, py, o.keys);
      pyResults = await runAll(env, py, pyUids, list, o.pykmipDurationMs);
    } catch (err) {
      log(py.output());
      throw err;
    } finally {
      await py.stop();
    }
  }
  log();

  // --- Side by side --------------------------------------------------------------------------
  log(`== Results: ${fmtInt(o.keys)} keys per server, random key per Get; ops/s ratio = Keyhaven / PyKMIP, p50 ratio = PyKMIP p50 / Keyhaven p50 ==`);
  log(comparisonTable(list, khResults, pyResults));
  log();
  const getN = khResults.get('get-n')!;
  const getNok = getN.opsPerSec >= 15_000 && getN.errors === 0;
  failedGoal ||= !getNok;
  log(`Get ${o.connections} conns: ${fmtInt(getN.opsPerSec)} ops/s (goal ≥ 15,000): ${verdict(getNok)}${getN.errors ? ` (${getN.errors} errors)` : ''}`);
  const pyGetN = pyResults?.get('get-n');
  if (pyGetN) {
    const ratio = getN.opsPerSec / pyGetN.opsPerSec;
    const ok = ratio >= 30 && pyGetN.errors === 0;
    failedGoal ||= !ok;
    log(`Get ratio vs PyKMIP: ${ratio.toFixed(1)}× (goal ≥ 30×): ${verdict(ok)} (${o.connections} connections; 1 connection: ${fmtRatio(khResults.get('get-1')!.opsPerSec / pyResults!.get('get-1')!.opsPerSec)})`);
  } else {
    log('Get ratio vs PyKMIP: not measured (PyKMIP skipped)');
  }
  log();

  // --- tsx vs compiled -------------------------------------------------------------------------
  if (o.compareCompiled && env.compiledRoot) {
    const other = o.runtime === 'tsx' ? 'compiled' : 'tsx';
    log(`== Runtime: the same Get load on the ${other} server (${other === 'compiled' ? 'tsc build, as the appliance ships it' : 'this checkout through tsx'}) ==`);
    const server = await startKeyhaven({ dataDir: khDir, port: await freePort(), ...(other === 'compiled' ? { root: env.compiledRoot } : {}) });
    let alt: Map<string, ScenarioResult>;
    try {
      alt = await runAll(env, server, khUids, list.filter((s) => s.id === 'get-1' || s.id === 'get-n'), o.durationMs);
    } finally {
      await server.stop();
    }
    for (const id of ['get-1', 'get-n']) {
      const a = khResults.get(id)!;
      const b = alt.get(id)!;
      const label = list.find((s) => s.id === id)!.label;
      log(`  ${label}: ${o.runtime} ${fmtInt(a.opsPerSec)} ops/s p50 ${fmtMs(a.p50)} ms, ${other} ${fmtInt(b.opsPerSec)} ops/s p50 ${fmtMs(b.p50)} ms (${other}/${o.runtime} ${fmtRatio(b.opsPerSec / a.opsPerSec)})`);
    }
    log();
  }

  // --- Scale ---------------------------------------------------------------------------------
  if (o.scale > 0) {
    log(`== Scale: Get against ${fmtInt(o.scaleSmall)} vs ${fmtInt(o.scale)} keys (stores filled through the server's own Create code path with the server stopped; random key over the whole store) ==`);
    const owner = identityOf(pki.clientCert);
    const small = await scaleRun(env, base, khDir, owner, o.scaleSmall);
    const large = await scaleRun(env, base, khDir, owner, o.scale, o.backup);
    log();
    const cols = [
      { title: 'store', align: 'left' as const }, { title: 'fill s' }, { title: 'DB size' }, { title: 'start s' },
      { title: 'Get 1 conn ops/s' }, { title: 'p50 ms' }, { title: 'p99 ms' },
      { title: `Get ${o.connections} conns ops/s` }, { title: 'p50 ms' }, { title: 'p99 ms' }, { title: 'errors' },
    ];
    const row = (r: ScaleRun) => [
      `${fmtInt(r.keys)} keys`, r.fillSeconds.toFixed(1), fmtBytes(r.dbBytes), r.startSeconds.toFixed(1),
      fmtInt(r.get1.opsPerSec), fmtMs(r.get1.p50), fmtMs(r.get1.p99),
      fmtInt(r.getN.opsPerSec), fmtMs(r.getN.p50), fmtMs(r.getN.p99), fmtInt(r.get1.errors + r.getN.errors),
    ];
    const growth = (a: number, b: number) => b / a;
    const ratioRow = [
      'large / small', '', '', '',
      fmtRatio(growth(small.get1.opsPerSec, large.get1.opsPerSec)), fmtRatio(growth(small.get1.p50, large.get1.p50)), fmtRatio(growth(small.get1.p99, large.get1.p99)),
      fmtRatio(growth(small.getN.opsPerSec, large.getN.opsPerSec)), fmtRatio(growth(small.getN.p50, large.getN.p50)), fmtRatio(growth(small.getN.p99, large.getN.p99)), '',
    ];
    log(table(cols, [row(small), row(large), ratioRow]));
    log(`fill: ${fmtInt(large.keys / large.fillSeconds)} keys/s; ${fmtBytes(large.dbBytes / large.keys)} per key on disk`);
    // Judged on p50 (service time): the worse of one connection (no queueing) and many.
    const g1 = growth(small.get1.p50, large.get1.p50);
    const gN = growth(small.getN.p50, large.getN.p50);
    const g = Math.max(g1, gN);
    const ok = g <= 1.5 && large.get1.errors + large.getN.errors === 0;
    failedGoal ||= !ok;
    log(`Get latency growth at ${fmtInt(large.keys)} keys: ${g.toFixed(2)}× (goal ≤ 1.5×): ${verdict(ok)} ` +
      `(p50, the worse of 1 connection ${g1.toFixed(2)}× and ${o.connections} connections ${gN.toFixed(2)}×)`);
    if (large.backup) failedGoal = !judgeBackup(large.backup, large.keys, log, verdict) || failedGoal;
    log();
  }

  // --- Profile -------------------------------------------------------------------------------
  if (o.profile === 'always' || (o.profile === 'auto' && failedGoal && !o.quick)) {
    const wanted = o.profileScenarios ?? ['get-n', `get-new-${Math.max(...o.perRequest)}`];
    await profileKeyhaven(env, khDir, base, khUids, list.filter((s) => wanted.includes(s.id)));
  }

  // --- Mirroring ------------------------------------------------------------------------------
  if (o.mirroring) {
    log(`== Mirroring (mirroring.ts): standalone vs a three-server group on loopback, against issue 13's goals ==`);
    const m = defaultMirroringOptions(o.quick, base);
    applyMirroringArgs(m, { sections: o.mirroringSections, copy: o.mirroringCopy, adopt: o.mirroringAdopt });
    Object.assign(m, {
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      connections: o.connections,
      minor: o.minor,
      workers: o.workers,
      keep: o.keep,
      profile: o.profile,
      ...(o.runtime === 'compiled' ? { root: env.compiledRoot! } : {}),
    });
    await runMirroring(m, log);
  } else {
    log('== Mirroring: skipped (--no-mirroring) ==');
    log();
  }

  if (worstOther > 0.15) {
    log(`warning: other processes used up to ${fmtPct(worstOther)} of a core during a measured window ` +
      '(column "other" above); figures from those windows are depressed. Re-run on a quiet machine.');
  }
  log(`total time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!o.keep) rmSync(base, { recursive: true, force: true });
  else log(`work directory kept: ${base}`);
  return 0;
}

/** Modulus size of a certificate's RSA key. */
function rsaBits(certFile: string): string {
  const key = new X509Certificate(readFileSync(certFile)).publicKey;
  return String(key.asymmetricKeyDetails?.modulusLength ?? '?');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
