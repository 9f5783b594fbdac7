// End to end: the rendered ruleset loaded into a real kernel, in a network namespace ("appliance")
// joined by a veth pair to another ("client"). The appliance namespace listens on every TCP port,
// so what a scan finds open is decided by the firewall alone. Needs root; CI runs it as root.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNetns, deleteNetns, inNetns, must, needsRootAnd, run, runHelper, startHelper, type Background } from './helpers/sys.js';

const skip = await needsRootAnd('ip', 'nft');
if (skip) console.log(`skipping firewall namespace tests: ${skip}`);

const APP = `kh-fw-app-${process.pid}`;
const CLI = `kh-fw-cli-${process.pid}`;
const VETH_APP = `kha${process.pid}`.slice(0, 15);
const VETH_CLI = `khc${process.pid}`.slice(0, 15);
// The appliance, the client (SIEM, admin workstation) and a second client address (anyone else).
const A4 = '10.203.0.1';
const C4 = '10.203.0.2';
const O4 = '10.203.0.3';
const A6 = 'fd6b:6866::1';
const C6 = 'fd6b:6866::2';
const O6 = 'fd6b:6866::3';
const NONCE = `kh-${process.pid}-${Date.now()}`;

let dir = '';
let fdLimit = 1024;
/** Listener processes in the appliance namespace. */
const appListeners: Background[] = [];
let clientListener: Background | undefined;

interface ScanResult {
  open: number[];
  openCount: number;
  timedOut: number;
  refused: number;
  errors: Record<string, number>;
  scanned: number;
  silentSample?: number[];
  ms: number;
}
interface Probe {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  bind?: string;
  data?: string;
  result?: string;
}

async function scan(t: TestContext, host: string, bind?: string): Promise<ScanResult> {
  const concurrency = Math.max(200, Math.min(4000, fdLimit - 200));
  const args = ['--host', host, '--ports', '1-65535', '--concurrency', String(concurrency), '--timeout', '400'];
  if (bind) args.push('--bind', bind);
  const r = await runHelper<ScanResult>(CLI, 'scan.ts', args, 90_000);
  t.diagnostic(
    `scan ${host}${bind ? ` from ${bind}` : ''}: open=${JSON.stringify(r.open.length > 20 ? `${r.openCount} ports` : r.open)} ` +
      `(open ${r.openCount}, dropped/timed out ${r.timedOut}, refused ${r.refused}, other ${JSON.stringify(r.errors)}, ` +
      `${r.scanned} ports in ${r.ms} ms)`,
  );
  return r;
}

async function probe(t: TestContext, ns: string, targets: Probe[]): Promise<Probe[]> {
  const results = await runHelper<Probe[]>(ns, 'probe.ts', [JSON.stringify(targets), '1500'], 30_000);
  for (const p of results) t.diagnostic(`${ns === APP ? 'appliance' : 'client'} ${p.proto} ${p.bind ? `${p.bind} -> ` : ''}[${p.host}]:${p.port} ${p.result}`);
  return results;
}

/** Runs the CLI inside the appliance namespace, exactly as an administrator would. */
async function applyConfig(network: unknown): Promise<{ code: number | null; stderr: string }> {
  const file = join(dir, `config-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ network }));
  return run('ip', inNetns(APP, process.execPath, 'appliance/bin/keyhaven.js', 'firewall', 'apply', '--config', file), { timeoutMs: 30_000 });
}

/** Datagrams the client's UDP listener received with this payload. */
function arrived(data: string): boolean {
  return (clientListener?.lines ?? []).some((l) => (l as { data?: string }).data === data);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'kh-fw-netns-'));
  await deleteNetns(APP);
  await deleteNetns(CLI);
  await addNetns(APP);
  await addNetns(CLI);
  await run('ip', ['link', 'del', VETH_APP]); // left over from an interrupted run, if any
  await must('ip', ['link', 'add', VETH_APP, 'type', 'veth', 'peer', 'name', VETH_CLI]);
  await must('ip', ['link', 'set', VETH_APP, 'netns', APP]);
  await must('ip', ['link', 'set', VETH_CLI, 'netns', CLI]);
  for (const [ns, dev, v4s, v6s] of [
    [APP, VETH_APP, [A4], [A6]],
    [CLI, VETH_CLI, [C4, O4], [C6, O6]],
  ] as const) {
    for (const a of v4s) await must('ip', ['-n', ns, 'addr', 'add', `${a}/24`, 'dev', dev]);
    // nodad: the addresses are usable at once instead of after duplicate address detection.
    for (const a of v6s) await must('ip', ['-n', ns, '-6', 'addr', 'add', `${a}/64`, 'dev', dev, 'nodad']);
    await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  fdLimit = Number((await must('sh', ['-c', 'ulimit -Hn'])).trim()) || 1024;
  // One listener process per shard of ports, each within the hard fd limit.
  const perShard = Math.max(500, Math.min(16_384, fdLimit - 200));
  for (let from = 1; from <= 65535; from += perShard) {
    const to = Math.min(65535, from + perShard - 1);
    appListeners.push(await startHelper(APP, 'listen.ts', ['--tcp', `${from}-${to}`], 60_000));
  }
  // The client side plays SIEM, backup host, NTP server and "anywhere else" for the outbound tests.
  clientListener = await startHelper(CLI, 'listen.ts', ['--tcp', '22,25,53,80,443,514,6002', '--udp', '53,123,514'], 30_000);
}, { timeout: 120_000 });

after(async () => {
  await Promise.all([...appListeners, ...(clientListener ? [clientListener] : [])].map((h) => h.stop()));
  await deleteNetns(APP); // deleting a namespace deletes the veth end in it, and so the pair
  await deleteNetns(CLI);
  if (!skip) await run('ip', ['link', 'del', VETH_APP]); // only still there if setup stopped half-way
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('setup: the appliance namespace listens on every TCP port 1–65535', { skip }, (t) => {
  const tcp = appListeners.reduce((n, h) => n + Number(h.ready.tcp), 0);
  const failed = appListeners.reduce((n, h) => n + Number(h.ready.failedCount), 0);
  t.diagnostic(`listeners: ${tcp} TCP ports in ${appListeners.length} processes (fd hard limit ${fdLimit}), ${failed} failed`);
  assert.equal(tcp, 65535);
  assert.equal(failed, 0);
});

test('control, no firewall loaded: the scan finds every port open', { skip, timeout: 120_000 }, async (t) => {
  const r = await scan(t, A4);
  assert.equal(r.openCount, 65535, `without a firewall every listener must be reachable, else the scan proves nothing; silent: ${JSON.stringify(r.silentSample)}`);
});

test('default settings: an IPv4 scan of TCP 1–65535 finds exactly 6000, 6002, 6003', { skip, timeout: 120_000 }, async (t) => {
  const applied = await applyConfig(undefined);
  assert.equal(applied.code, 0, applied.stderr);
  const r = await scan(t, A4);
  assert.deepEqual(r.open, [6000, 6002, 6003]);
  assert.equal(r.timedOut, 65535 - 3, 'every other port must be silently dropped');
});

test('default settings: the same scan over IPv6 finds exactly 6000, 6002, 6003', { skip, timeout: 120_000 }, async (t) => {
  const r = await scan(t, A6);
  assert.deepEqual(r.open, [6000, 6002, 6003]);
  assert.equal(r.timedOut, 65535 - 3);
});

test('SSH opened for an admin network: reachable from it, not from elsewhere', { skip, timeout: 120_000 }, async (t) => {
  const applied = await applyConfig({ ssh: { enabled: true }, adminNetworks: [`${C4}/32`, `${C6}/128`] });
  assert.equal(applied.code, 0, applied.stderr);
  const results = await probe(t, CLI, [
    { proto: 'tcp', host: A4, port: 22, bind: C4 },
    { proto: 'tcp', host: A6, port: 22, bind: C6 },
    { proto: 'tcp', host: A4, port: 22, bind: O4 },
    { proto: 'tcp', host: A6, port: 22, bind: O6 },
  ]);
  assert.deepEqual(
    results.map((r) => r.result === 'open'),
    [true, true, false, false],
  );
  const fromAdmin = await scan(t, A4, C4);
  assert.deepEqual(fromAdmin.open, [22, 6000, 6002, 6003]);
  const fromOther = await scan(t, A4, O4);
  assert.deepEqual(fromOther.open, [6000, 6002, 6003]);
});

test('mirroring as the appliance runs it: 6002 from the group\'s peers only, and from nobody in a group of one', { skip, timeout: 120_000 }, async (t) => {
  const alone = await applyConfig({ mirroring: { peers: [], restrictInbound: true } });
  assert.equal(alone.code, 0, alone.stderr);
  assert.deepEqual((await scan(t, A4, C4)).open, [6000, 6003], 'a group of one: 6002 closed');
  const grouped = await applyConfig({ mirroring: { peers: [C4, C6], restrictInbound: true } });
  assert.equal(grouped.code, 0, grouped.stderr);
  const results = await probe(t, CLI, [
    { proto: 'tcp', host: A4, port: 6002, bind: C4 },
    { proto: 'tcp', host: A6, port: 6002, bind: C6 },
    { proto: 'tcp', host: A4, port: 6002, bind: O4 },
    { proto: 'tcp', host: A6, port: 6002, bind: O6 },
  ]);
  assert.deepEqual(results.map((r) => r.result === 'open'), [true, true, false, false]);
});

// Outbound tests need free ephemeral ports in the appliance namespace, which the all-port listeners
// hold; from here on the appliance listens only on the ports the remaining tests look at.
test('control, outbound, no firewall loaded: every outbound target answers', { skip, timeout: 60_000 }, async (t) => {
  await Promise.all(appListeners.splice(0).map((h) => h.stop()));
  appListeners.push(await startHelper(APP, 'listen.ts', ['--tcp', '22,4444,6000-6003'], 30_000));
  await must('ip', inNetns(APP, 'nft', 'delete', 'table', 'inet', 'keyhaven'));
  const out = await probe(t, APP, [
    ...[22, 25, 53, 80, 443, 514, 6002].flatMap((port) => [C4, O4, C6, O6].map((host): Probe => ({ proto: 'tcp', host, port }))),
    ...[53, 123, 514].map((port): Probe => ({ proto: 'udp', host: O4, port, data: `${NONCE}-control-${port}` })),
  ]);
  for (const p of out) assert.equal(p.result, p.proto === 'tcp' ? 'open' : 'sent', `${p.host}:${p.port}`);
  await sleep(300);
  for (const port of [53, 123, 514]) assert.ok(arrived(`${NONCE}-control-${port}`), `control datagram to ${port} must arrive`);
});

test('default settings: loopback works inside the appliance; nothing starts outbound', { skip, timeout: 60_000 }, async (t) => {
  const applied = await applyConfig(undefined);
  assert.equal(applied.code, 0, applied.stderr);
  const loop = await probe(t, APP, [
    { proto: 'tcp', host: '127.0.0.1', port: 4444 },
    { proto: 'tcp', host: '::1', port: 22 },
  ]);
  for (const p of loop) assert.equal(p.result, 'open', `loopback ${p.host}:${p.port}`);
  const out = await probe(t, APP, [
    ...[22, 25, 53, 80, 443, 514, 6002].map((port): Probe => ({ proto: 'tcp', host: C4, port })),
    { proto: 'tcp', host: C6, port: 514 },
    { proto: 'udp', host: C4, port: 514, data: `${NONCE}-default` },
    { proto: 'udp', host: C4, port: 53, data: `${NONCE}-default-dns` },
  ]);
  for (const p of out) assert.ok(p.result !== 'open' && p.result !== 'sent', `${p.proto} ${p.host}:${p.port} must be refused, got ${p.result}`);
  await sleep(300);
  assert.ok(!arrived(`${NONCE}-default`) && !arrived(`${NONCE}-default-dns`));
});

test('outbound: only the configured destinations, pinned by address and port', { skip, timeout: 60_000 }, async (t) => {
  const applied = await applyConfig({ siemHosts: [C4, C6], backupHost: O4, ntpServers: [C4] });
  assert.equal(applied.code, 0, applied.stderr);
  const allowed: Probe[] = [
    { proto: 'tcp', host: C4, port: 514 }, // syslog to the SIEM
    { proto: 'tcp', host: C6, port: 514 },
    { proto: 'tcp', host: O4, port: 22 }, // SFTP to the backup host
  ];
  const refused: Probe[] = [
    { proto: 'tcp', host: O4, port: 514 }, // syslog port, but not a SIEM host
    { proto: 'tcp', host: O6, port: 514 },
    { proto: 'tcp', host: C4, port: 22 }, // SFTP port, but not the backup host
    { proto: 'tcp', host: C4, port: 6002 }, // no mirroring peers configured
    ...[25, 53, 80, 443].flatMap((port) => [C4, C6, O4].map((host): Probe => ({ proto: 'tcp', host, port }))),
  ];
  const udpAllowed: Probe[] = [
    { proto: 'udp', host: C4, port: 514, data: `${NONCE}-syslog4` },
    { proto: 'udp', host: C6, port: 514, data: `${NONCE}-syslog6` },
    { proto: 'udp', host: C4, port: 123, data: `${NONCE}-ntp` },
  ];
  const udpRefused: Probe[] = [
    { proto: 'udp', host: O4, port: 514, data: `${NONCE}-syslog-other` },
    { proto: 'udp', host: O4, port: 123, data: `${NONCE}-ntp-other` },
    { proto: 'udp', host: C4, port: 53, data: `${NONCE}-dns` }, // DNS closed: no servers configured
  ];
  const results = await probe(t, APP, [...allowed, ...refused, ...udpAllowed, ...udpRefused]);
  const result = (p: Probe) => results.find((r) => r.proto === p.proto && r.host === p.host && r.port === p.port)?.result;
  for (const p of allowed) assert.equal(result(p), 'open', `${p.host}:${p.port} must be allowed`);
  for (const p of refused) assert.notEqual(result(p), 'open', `${p.host}:${p.port} must be refused`);
  await sleep(300);
  for (const p of udpAllowed) assert.ok(arrived(p.data ?? ''), `udp ${p.host}:${p.port} must arrive`);
  for (const p of udpRefused) assert.ok(!arrived(p.data ?? ''), `udp ${p.host}:${p.port} must not arrive (${result(p)})`);
});

test('invalid settings: apply loads the fail-closed ruleset and exits non-zero', { skip, timeout: 60_000 }, async (t) => {
  const applied = await applyConfig({ ssh: { enabled: true }, adminNetworks: ['10.0.0.300/24'] });
  t.diagnostic(`apply with invalid settings: exit ${applied.code}; ${applied.stderr.trim().replaceAll('\n', ' | ')}`);
  assert.equal(applied.code, 1);
  assert.match(applied.stderr, /network\.adminNetworks\[0\]: "10\.0\.0\.300\/24" is not an IPv4 or IPv6 network/);
  assert.match(applied.stderr, /FAIL-CLOSED/);
  const listed = await must('ip', inNetns(APP, 'nft', 'list', 'table', 'inet', 'keyhaven'));
  assert.match(listed, /keyhaven-closed-in: /);
  const inbound = await probe(t, CLI, [6000, 6002, 6003, 22].flatMap((port) => [A4, A6].map((host): Probe => ({ proto: 'tcp', host, port }))));
  for (const p of inbound) assert.notEqual(p.result, 'open', `${p.host}:${p.port} must be closed`);
  const local = await probe(t, APP, [
    { proto: 'tcp', host: '127.0.0.1', port: 6000 },
    { proto: 'tcp', host: '::1', port: 6000 },
    { proto: 'tcp', host: C4, port: 514 },
  ]);
  assert.deepEqual(
    local.map((p) => p.result === 'open'),
    [true, true, false],
  );
});

