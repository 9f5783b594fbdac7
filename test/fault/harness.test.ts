// The fault harness on its own, before the mirroring server that will use it: a real cluster network
// of namespaces on a bridge, cut and healed with nft, processes killed, stopped and continued, and
// the seeded fault plans. The network tests need root (CI runs them as root); the plan tests do not.
import { after, before, beforeEach, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { addNetns, deleteNetns, inNetns, must, needsRootAnd, runHelper } from '../firewall/helpers/sys.js';
import { runParameters } from '../support/property.js';
import {
  Cluster, rangeClashes, describePlan, describeStep, faultPlan, faultSeed, FAULT_OPS, leftovers, newPrefix, pidsIn, planOptions, planProblems, plannedWaitMs,
  runFaultPlan, sweep, until, type ClusterNode, type FaultPlan, type FaultPlanOptions, type NodeProcess,
} from './harness/index.js';

const skip = await needsRootAnd('ip', 'nft', 'bridge', 'sysctl', 'ss');
if (skip) console.log(`skipping fault harness network tests: ${skip}`);

const ECHO_SERVER = fileURLToPath(new URL('./harness/echo-server.ts', import.meta.url));
const ECHO_PROBE = fileURLToPath(new URL('./harness/echo-probe.ts', import.meta.url));
const ECHO_TICKER = fileURLToPath(new URL('./harness/echo-ticker.ts', import.meta.url));
const PORT = 7007;

let cluster: Cluster | undefined;
/** The echo server serving each node of the shared cluster now. */
const echo: NodeProcess[] = [];

async function startEcho(node: ClusterNode, port = PORT): Promise<NodeProcess> {
  const p = node.spawn([process.execPath, '--import', 'tsx', ECHO_SERVER, String(port)], {}, { name: 'echo' });
  await p.waitForOutput(/"ready":true/);
  return p;
}

/** One TCP echo round trip from `node` to each target; the result per target (see echo-probe.ts). */
async function echoFrom(node: ClusterNode, targets: { host: string; port: number }[], timeoutMs = 1500): Promise<string[]> {
  const r = await node.run([process.execPath, '--import', 'tsx', ECHO_PROBE, JSON.stringify(targets), String(timeoutMs)], { timeoutMs: timeoutMs + 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { result: string }[]).map((x) => x.result);
}

/** Echo from every node to every other: "i>j" → result. */
async function matrix(net: Cluster, t: TestContext): Promise<Record<string, string>> {
  const rows = await Promise.all(net.nodes.map(async (from) => {
    const others = net.nodes.filter((n) => n !== from);
    const results = await echoFrom(from, others.map((n) => ({ host: n.address, port: PORT })));
    return others.map((to, k) => [`${from.index}>${to.index}`, results[k]!] as const);
  }));
  const m = Object.fromEntries(rows.flat());
  t.diagnostic(`echo: ${JSON.stringify(m)}`);
  return m;
}

/** Every ordered pair "i>j" of the cluster's nodes. */
const pairs = (net: Cluster) => net.nodes.flatMap((a) => net.nodes.filter((b) => b !== a).map((b) => `${a.index}>${b.index}`));

/** The expected echo matrix: "echoed" everywhere but the listed pairs. */
function echoesBut(net: Cluster, failing: Record<string, string>): Record<string, string> {
  return Object.fromEntries(pairs(net).map((p) => [p, failing[p] ?? 'echoed']));
}

const received = (p: NodeProcess, data: string) => p.stdout().includes(`"data":"${data}"`);

/**
 * Every node sends one UDP datagram to every other (test/firewall/helpers/probe.ts); returns the pairs
 * "i>j" whose datagram arrived: waits for all but `cut` to arrive, then 200 ms more for the others.
 */
async function udpArrivals(net: Cluster, t: TestContext, cut: string[]): Promise<string[]> {
  const nonce = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const data = (p: string) => `udp-${nonce}-${p}`;
  await Promise.all(net.nodes.map(async (from) => {
    const targets = net.nodes.filter((to) => to !== from).map((to) => ({ proto: 'udp', host: to.address, port: PORT, data: data(`${from.index}>${to.index}`) }));
    const results = await runHelper<{ result: string }[]>(from.ns, 'probe.ts', [JSON.stringify(targets), '1500']);
    assert.deepEqual(results.map((r) => r.result), targets.map(() => 'sent'));
  }));
  const arrived = () => pairs(net).filter((p) => received(echo[Number(p.split('>')[1])]!, data(p)));
  const expected = pairs(net).filter((p) => !cut.includes(p));
  await until(() => (expected.every((p) => arrived().includes(p)) ? true : undefined), 5_000, 'datagrams').catch(() => undefined); // the caller's assertion says which
  await sleep(200);
  const got = arrived();
  t.diagnostic(`udp arrived: ${got.join(' ')}`);
  return got;
}

const allBut = (net: Cluster, cut: string[]) => pairs(net).filter((p) => !cut.includes(p));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  const removed = await sweep();
  if (removed.length) console.log(`swept leftovers of crashed fault harness runs: ${removed.join(', ')}`);
  cluster = await Cluster.create({ nodes: 3 });
  for (const n of cluster.nodes) echo[n.index] = await startEcho(n);
}, { timeout: 60_000 });

// Each test starts from a healed cluster, also when the one before failed half-way.
beforeEach(async () => {
  await cluster?.healAll();
});

after(async () => {
  await cluster?.dispose();
});

test('connectivity: every node echoes with every other; each node routes only the cluster /24', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  t.diagnostic(`nodes: ${net.nodes.map((n) => `${n.index}=${n.address} in ${n.ns}`).join(', ')}; bridge in ${net.bridgeNs}`);
  assert.deepEqual(await matrix(net, t), echoesBut(net, {}));
  for (const n of net.nodes) {
    const routes = JSON.parse(await must('ip', ['-n', n.ns, '-j', '-4', 'route', 'show', 'table', 'all'])) as { dst: string; type?: string }[];
    assert.deepEqual(routes.filter((r) => (r.type ?? 'unicast') === 'unicast').map((r) => r.dst), [`10.213.${net.subnet}.0/24`], `node ${n.index} routes`);
  }
});

test('nothing outside: a listener in the root namespace, reachable there, is not routed from any node', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  const ifaces = JSON.parse(await must('ip', ['-j', '-4', 'addr', 'show'])) as { addr_info: { local: string }[] }[];
  const rootAddrs = ifaces.flatMap((i) => i.addr_info.map((a) => a.local)).filter((a) => !a.startsWith('127.'));
  assert.ok(rootAddrs.length > 0, 'the root namespace has an address to try');
  const server = createServer((s) => s.destroy());
  t.after(() => server.close());
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const port = (server.address() as AddressInfo).port;
  // Control: from the root namespace the listener answers on every one of these addresses.
  for (const host of rootAddrs) {
    await new Promise<void>((resolve, reject) => {
      const s: Socket = connect({ host, port }).once('connect', () => resolve(void s.destroy())).once('error', reject);
    });
  }
  const targets = [...rootAddrs, '127.0.0.1'].map((host) => ({ proto: 'tcp', host, port }));
  for (const n of net.nodes) {
    const results = await runHelper<{ host: string; result: string }[]>(n.ns, 'probe.ts', [JSON.stringify(targets), '1500']);
    t.diagnostic(`node ${n.index}: ${results.map((r) => `${r.host}:${port} ${r.result}`).join(', ')}`);
    // Not routed: the node has no route to them. Its loopback is its own, where nobody listens.
    assert.deepEqual(results.map((r) => r.result), [...rootAddrs.map(() => 'ENETUNREACH'), 'ECONNREFUSED']);
  }
  const bridgeAddrs = JSON.parse(await must('ip', ['-n', net.bridgeNs, '-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string }[] }[];
  assert.deepEqual(bridgeAddrs.filter((i) => i.ifname !== 'lo').flatMap((i) => i.addr_info.map((a) => `${i.ifname} ${a.local}`)), [], 'the bridge namespace has no address but loopback\'s');
});

test('partition(a, b): neither hears the other, both still reach c; idempotent; heal restores', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  await net.partition(0, 1);
  await net.partition(net.nodes[1]!, net.nodes[0]!); // again, and by node: the same state
  assert.deepEqual(net.cuts(), [{ from: 0, to: 1 }, { from: 1, to: 0 }]);
  assert.deepEqual(await matrix(net, t), echoesBut(net, { '0>1': 'connect-timeout', '1>0': 'connect-timeout' }));
  assert.deepEqual(await udpArrivals(net, t, ['0>1', '1>0']), allBut(net, ['0>1', '1>0']));
  await net.heal(0, 1);
  await net.heal(1, 0);
  assert.deepEqual(net.cuts(), []);
  assert.deepEqual(await matrix(net, t), echoesBut(net, {}));
  assert.deepEqual(await udpArrivals(net, t, []), allBut(net, []));
});

test('isolate(a) cuts a from everyone, both ways; healAll restores', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  await net.isolate(2);
  const cut = 'connect-timeout';
  assert.deepEqual(await matrix(net, t), echoesBut(net, { '0>2': cut, '2>0': cut, '1>2': cut, '2>1': cut }));
  assert.deepEqual(await udpArrivals(net, t, ['0>2', '2>0', '1>2', '2>1']), allBut(net, ['0>2', '2>0', '1>2', '2>1']));
  await net.healAll();
  assert.deepEqual(await matrix(net, t), echoesBut(net, {}));
  assert.deepEqual(await udpArrivals(net, t, []), allBut(net, []));
});

test('partitionOneWay(a, b): what a sends never arrives at b, what b sends arrives at a (UDP); TCP handshakes fail both ways, b\'s SYN reaching a', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  const [a, b, c] = net.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await net.partitionOneWay(a, b);
  assert.deepEqual(net.cuts(), [{ from: 0, to: 1 }]);
  assert.equal(net.reaches(a, b), false);
  assert.equal(net.reaches(b, a), true);
  // UDP: only a's datagrams to b are lost; c's, sent alongside, reach b.
  assert.deepEqual(await udpArrivals(net, t, ['0>1']), allBut(net, ['0>1']));

  // TCP: a's SYN is dropped at b; b's SYN reaches a (a holds it in SYN-RECV), a's SYN-ACK is dropped.
  const [aToB] = await echoFrom(a, [{ host: b.address, port: PORT }], 1000);
  const [bToA] = await echoFrom(b, [{ host: a.address, port: PORT }], 1000);
  const synRecv = async (n: ClusterNode) => (await must('ip', inNetns(n.ns, 'ss', '-Htn', 'state', 'syn-recv'))).trim();
  const [atA, atB] = [await synRecv(a), await synRecv(b)];
  t.diagnostic(`a -> b ${aToB}, b -> a ${bToA}; SYN-RECV at a: ${JSON.stringify(atA)}, at b: ${JSON.stringify(atB)}`);
  assert.deepEqual([aToB, bToA], ['connect-timeout', 'connect-timeout']);
  assert.match(atA, new RegExp(`${b.address.replaceAll('.', '\\.')}:\\d+\\s*$`, 'm'), 'b\'s SYN arrived at a');
  assert.doesNotMatch(atB, new RegExp(a.address.replaceAll('.', '\\.')), 'a\'s SYN did not arrive at b');

  await net.healAll();
  assert.deepEqual(await udpArrivals(net, t, []), allBut(net, []));
  assert.deepEqual(await matrix(net, t), echoesBut(net, {}));
});

test('partitionOneWay(a, b) on an open connection from b to a: b\'s bytes reach a\'s server, a\'s echoes never reach b; after heal they do', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  const [a, b] = net.nodes as [ClusterNode, ClusterNode];
  const ticker = b.spawn([process.execPath, '--import', 'tsx', ECHO_TICKER, a.address, String(PORT), '100', '200'], {}, { name: 'ticker' });
  t.after(() => ticker.kill9());
  const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const echoed = () => Math.max(0, ...lines(ticker.stdout()).map((l) => Number(l['echoed'] ?? 0)));
  const ticksAtA = () => Math.max(0, ...lines(echo[0]!.stdout()).filter((l) => l['from'] === b.address && String(l['data']).startsWith('tick-')).map((l) => Number(String(l['data']).slice(5))));
  await until(() => (echoed() >= 3 ? true : undefined), 15_000, 'ticks echoed before the cut');
  await net.partitionOneWay(a, b);
  // What was in flight or being logged when the cut came is in by now: anything after this was sent after the cut.
  await sleep(150);
  const atCut = { echoed: echoed(), atA: ticksAtA() };
  await sleep(1500);
  const later = { echoed: echoed(), atA: ticksAtA() };
  t.diagnostic(`150 ms after the cut: ${JSON.stringify(atCut)}; 1.5 s later: ${JSON.stringify(later)}`);
  assert.ok(later.atA > atCut.atA, 'ticks b sent after the cut reached a');
  assert.equal(later.echoed, atCut.echoed, 'no echo came back to b after the cut');
  const healed = Date.now();
  await net.healAll();
  await until(() => (echoed() > later.atA ? true : undefined), 20_000, 'echoes after heal');
  t.diagnostic(`${Date.now() - healed} ms after heal: ${JSON.stringify({ echoed: echoed(), atA: ticksAtA() })}`);
});

test('nft read-back: a table changed behind the harness\'s back fails the check; healAll rewrites it', { skip, timeout: 30_000 }, async () => {
  const net = cluster!;
  await net.partition(0, 1);
  await must('ip', inNetns(net.nodes[1]!.ns, 'nft', 'flush', 'set', 'inet', 'khfault', 'blocked'));
  await assert.rejects(net.verifyCuts(), new RegExp(`node 1 .*blocks \\[\\], should block \\["${net.nodes[0]!.address.replaceAll('.', '\\.')}"\\]`));
  await net.healAll();
  await net.verifyCuts();
});

test('processes: kill9 exits by SIGKILL; stop() silences the echo (connected, no reply), cont() resumes; terminate and env', { skip, timeout: 60_000 }, async (t) => {
  const net = cluster!;
  const [a, b] = net.nodes as [ClusterNode, ClusterNode];
  const port = PORT + 1;
  const p = await startEcho(b, port);
  const target = [{ host: b.address, port }];
  assert.match(p.stdout(), /"ready":true/, 'standard output is in its log file');
  assert.deepEqual(await echoFrom(a, target), ['echoed']);

  await p.stop();
  assert.equal(p.procState(), 'T');
  const started = Date.now();
  assert.deepEqual(await echoFrom(a, target, 1000), ['reply-timeout'], 'the kernel still accepts, the stopped process does not echo');
  t.diagnostic(`stopped: no echo (probe took ${Date.now() - started} ms with its start-up)`);
  await p.cont();
  assert.deepEqual(await echoFrom(a, target), ['echoed']);

  assert.deepEqual(await p.kill9(), { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(p.running, false);
  assert.deepEqual(await echoFrom(a, target), ['ECONNREFUSED']);

  // terminate: SIGKILL after the grace period when SIGTERM is ignored…
  const stubborn = b.spawn([process.execPath, '-e', "process.on('SIGTERM', () => console.log('ignored SIGTERM')); console.log('up'); setInterval(() => {}, 1000)"]);
  await stubborn.waitForOutput(/up/);
  const t0 = Date.now();
  assert.deepEqual(await stubborn.terminate(300), { code: null, signal: 'SIGKILL' });
  const graceMs = Date.now() - t0;
  assert.ok(graceMs >= 300 && graceMs < 5_000, `killed after ${graceMs} ms`);
  assert.match(stubborn.stdout(), /ignored SIGTERM/);
  // …SIGTERM when heeded, also by a stopped process; the env given reaches it.
  const polite = b.spawn([process.execPath, '-e', 'console.log(process.env.KHF_PROBE); setInterval(() => {}, 1000)'], { KHF_PROBE: 'env-passed' });
  await polite.waitForOutput(/env-passed/);
  await polite.stop();
  assert.deepEqual(await polite.terminate(5_000), { code: null, signal: 'SIGTERM' });
});

test('dispose: no namespace, link, nft table or process of the prefix is left, stopped and stray processes included', { skip, timeout: 60_000 }, async (t) => {
  const net = await Cluster.create({ nodes: 2 });
  let stray: ReturnType<typeof spawn> | undefined;
  try {
    const server = await startEcho(net.nodes[0]!);
    const sleeper = net.nodes[1]!.spawn(['sleep', '300']);
    await sleeper.stop();
    // Started behind the harness's back: found by its namespace.
    stray = spawn('ip', inNetns(net.nodes[1]!.ns, 'sleep', '300'), { stdio: 'ignore', detached: true });
    await until(async () => ((await pidsIn(net.nodes[1]!.ns)).includes(stray!.pid!) ? true : undefined), 5_000, 'stray process in the namespace');
    const before = await leftovers(net.prefix, net.namespaceInodes);
    t.diagnostic(`before dispose: ${JSON.stringify(before)}`);
    assert.equal(before.namespaces.length, 3);
    assert.ok([server.pid, sleeper.pid, stray.pid!].every((pid) => before.processes.includes(pid)), 'the processes are seen in the namespaces');
    const strayExit = new Promise((r) => stray!.once('exit', (code, signal) => r({ code, signal })));

    const t0 = Date.now();
    await net.dispose();
    t.diagnostic(`dispose took ${Date.now() - t0} ms`);
    assert.deepEqual(await leftovers(net.prefix, net.namespaceInodes), { namespaces: [], links: [], processes: [] });
    const netnsList = await must('ip', ['netns', 'list']);
    const rootLinks = await must('ip', ['-o', 'link']);
    assert.ok(!netnsList.includes(net.prefix), `ip netns list: ${netnsList}`);
    assert.ok(!rootLinks.includes(net.prefix), `ip link: ${rootLinks}`);
    // The nft tables lived in the namespaces: gone with them, since no process holds one any more.
    assert.ok(!(await must('nft', ['list', 'tables'])).includes('khfault'));
    assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' });
    assert.deepEqual(await sleeper.exited, { code: null, signal: 'SIGKILL' });
    assert.deepEqual(await strayExit, { code: null, signal: 'SIGKILL' });
    assert.equal(existsSync(net.logDir), false, 'the logs are removed');
    await net.dispose(); // again: nothing to do
  } finally {
    await net.dispose();
    if (stray?.exitCode === null && stray.signalCode === null) stray.kill('SIGKILL');
  }
});

test('sweep: removes a crashed run\'s namespace, its processes and logs; leaves a live run\'s alone', { skip, timeout: 30_000 }, async (t) => {
  const prefix = newPrefix();
  let deadPid = 0;
  for (let i = 0; i < 10 && (deadPid === 0 || existsSync(`/proc/${deadPid}`)); i++) deadPid = spawnSync('true').pid!;
  const deadNs = `${prefix}${deadPid}-n0`;
  const liveNs = `${prefix}${process.pid}-n0`;
  const deadLogs = join(tmpdir(), `${prefix}${deadPid}-logs-x`);
  let stray: ReturnType<typeof spawn> | undefined;
  try {
    await addNetns(deadNs);
    await addNetns(liveNs);
    await must('ip', ['-n', deadNs, 'link', 'add', `${prefix}v0`, 'type', 'veth', 'peer', 'name', `${prefix}p0`]);
    mkdirSync(deadLogs);
    stray = spawn('ip', inNetns(deadNs, 'sleep', '300'), { stdio: 'ignore', detached: true });
    const strayExit = new Promise((r) => stray!.once('exit', (code, signal) => r({ code, signal })));
    await until(async () => ((await pidsIn(deadNs)).length === 1 ? true : undefined), 5_000, 'stray process in the namespace');

    const removed = await sweep();
    t.diagnostic(`swept: ${removed.join(', ')}`);
    assert.ok(removed.includes(`namespace ${deadNs}`), `the dead owner's namespace is swept: ${JSON.stringify(removed)}`);
    assert.ok(removed.includes(`log directory ${prefix}${deadPid}-logs-x`), 'the dead owner\'s logs are swept');
    assert.ok(!removed.some((r) => r.includes(liveNs)), 'a live owner\'s namespace stays');
    assert.deepEqual(await strayExit, { code: null, signal: 'SIGKILL' });
    assert.deepEqual((await leftovers(prefix)).namespaces, [liveNs]);
    assert.equal(existsSync(deadLogs), false);
  } finally {
    if (stray?.exitCode === null && stray.signalCode === null) stray.kill('SIGKILL');
    await deleteNetns(deadNs);
    await deleteNetns(liveNs);
    rmSync(deadLogs, { recursive: true, force: true });
  }
});

test('runFaultPlan: every op once, then a random plan, against echo servers: within the deadline, ending healed and serving; a late or unbounded plan is refused', { skip, timeout: 120_000 }, async (t) => {
  const net = cluster!;
  const options = planOptions({ nodes: 3, maxSteps: 14, maxWaitMs: 300, totalWaitMs: 1500 });
  const everyOp: FaultPlan = {
    seed: 0,
    options,
    steps: [
      { op: 'partition', a: 0, b: 1 }, { op: 'one-way', from: 1, to: 2 }, { op: 'isolate', node: 2 }, { op: 'heal', a: 0, b: 1 },
      { op: 'kill9', node: 0 }, { op: 'stop', node: 1 }, { op: 'wait', ms: 100 }, { op: 'restart', node: 0 }, { op: 'cont', node: 1 }, { op: 'heal-all' },
    ],
  };
  const random = faultPlan(faultSeed(t), options);
  for (const plan of [everyOp, random]) {
    t.diagnostic(describePlan(plan));
    const kills: string[] = [];
    const done: number[] = [];
    const deadline = plannedWaitMs(plan) + 2_000 * plan.steps.length;
    const { elapsedMs } = await runFaultPlan(net, plan, {
      process: (i) => echo[i]!,
      restart: async (i) => void (echo[i] = await startEcho(net.nodes[i]!)),
      onStep: (s, i, ms) => {
        done.push(i);
        if (s.op === 'stop' || s.op === 'cont' || s.op === 'kill9') t.diagnostic(`${ms} ms: step ${i} ${describeStep(s)}`);
      },
      onKilled: (i, exit) => kills.push(`${i}:${exit.signal}`),
    }, deadline);
    t.diagnostic(`plan done in ${elapsedMs} ms (deadline ${deadline} ms); kills ${JSON.stringify(kills)}`);
    assert.deepEqual(done, plan.steps.map((_, i) => i));
    assert.ok(elapsedMs <= deadline, `${elapsedMs} ms, deadline ${deadline} ms`);
    assert.deepEqual(kills, plan.steps.flatMap((s) => (s.op === 'kill9' ? [`${s.node}:SIGKILL`] : [])));
    assert.deepEqual(net.cuts(), []);
    assert.ok(echo.every((p) => p.running && p.procState() !== 'T'), 'every node serves again');
    assert.deepEqual(await matrix(net, t), echoesBut(net, {}));
  }
  const hooks = { process: (i: number) => echo[i]!, restart: () => Promise.reject(new Error('not called')) };
  const slow: FaultPlan = { seed: 0, options, steps: [{ op: 'wait', ms: 200 }, { op: 'wait', ms: 200 }, { op: 'heal-all' }] };
  await assert.rejects(runFaultPlan(net, slow, hooks, 100), /past its deadline of 100 ms at step 1 \(wait 200 ms\)/);
  const unbounded: FaultPlan = { seed: 0, options, steps: [{ op: 'wait', ms: 301 }, { op: 'heal-all' }] };
  await assert.rejects(runFaultPlan(net, unbounded, hooks), /refusing a fault plan outside its bounds: step 0: wait 301 ms/);
});

test('the range check names an address of 10.213.0.0/16 on this machine, and only those', () => {
  const ifaces = [
    { ifname: 'eth0', addr_info: [{ local: '192.0.2.2', prefixlen: 24 }, { local: '10.2.13.1', prefixlen: 24 }, { local: '10.21.3.1', prefixlen: 16 }] },
    { ifname: 'br9', addr_info: [{ local: '10.213.7.1', prefixlen: 24 }] },
  ];
  assert.deepEqual(rangeClashes(ifaces), ['10.213.7.1/24 on br9']);
  assert.deepEqual(rangeClashes(ifaces.slice(0, 1)), []);
});

// Fault plans: no root needed.

const optionSets: FaultPlanOptions[] = [{ nodes: 2 }, { nodes: 3, maxSteps: 40 }, { nodes: 8, maxSteps: 100, maxWaitMs: 50, totalWaitMs: 2000, maxDown: 2 }];

test('fault plans: the same seed gives the same plan; KEYHAVEN_FAULT_SEED replays a seed', (t) => {
  const seed = faultSeed(t);
  for (const o of optionSets) assert.deepEqual(faultPlan(seed, o), faultPlan(seed, o));
  const saved = process.env['KEYHAVEN_FAULT_SEED'];
  try {
    process.env['KEYHAVEN_FAULT_SEED'] = '424242';
    assert.equal(faultSeed(), 424242);
    process.env['KEYHAVEN_FAULT_SEED'] = 'x';
    assert.throws(() => faultSeed(), /not an integer/);
  } finally {
    if (saved === undefined) delete process.env['KEYHAVEN_FAULT_SEED'];
    else process.env['KEYHAVEN_FAULT_SEED'] = saved;
  }
});

test('fault plans: different seeds give different plans (200 seeds)', (t) => {
  const base = faultSeed(t);
  for (const o of optionSets) {
    const plans = new Set(Array.from({ length: 200 }, (_, k) => JSON.stringify(faultPlan((base + k) % 2 ** 31, o).steps)));
    assert.equal(plans.size, 200, `distinct plans for ${JSON.stringify(o)}`);
  }
});

test('fault plans: every plan is within its bounds and names only existing nodes; the check finds plans that are not', (t) => {
  const options = fc.record({
    nodes: fc.integer({ min: 2, max: 8 }),
    maxSteps: fc.integer({ min: 2, max: 200 }),
    maxWaitMs: fc.integer({ min: 1, max: 5000 }),
    totalWaitMs: fc.integer({ min: 0, max: 60_000 }),
    down: fc.nat(8),
    ops: fc.subarray([...FAULT_OPS]),
  }).map(({ down, ...o }) => ({ ...o, maxDown: down % (o.nodes + 1) }));
  let steps = 0;
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), options, (seed, o) => {
    const plan = faultPlan(seed, o);
    steps += plan.steps.length;
    assert.deepEqual(planProblems(plan), []);
    // Said again without the checker, so that a checker bug cannot hide a generator bug.
    assert.ok(plan.steps.length <= o.maxSteps, `${plan.steps.length} steps, at most ${o.maxSteps}`);
    assert.ok(plannedWaitMs(plan) <= o.totalWaitMs, `waits ${plannedWaitMs(plan)} ms, at most ${o.totalWaitMs}`);
    for (const s of plan.steps) {
      for (const i of Object.entries(s).filter(([k]) => k !== 'op' && k !== 'ms').map(([, v]) => v as number)) assert.ok(Number.isInteger(i) && i >= 0 && i < o.nodes, `${describeStep(s)} names node ${i} of ${o.nodes}`);
      if (s.op === 'wait') assert.ok(s.ms >= 1 && s.ms <= o.maxWaitMs, `wait ${s.ms} ms, 1..${o.maxWaitMs}`);
      assert.ok(o.ops.includes(s.op) || ['cont', 'restart', 'heal-all'].includes(s.op), `${s.op} not allowed`);
    }
  }), runParameters(t, 300));
  t.diagnostic(`300 plans, ${steps} steps`);

  // The checker itself: each of these plans is wrong in one way.
  const ok = faultPlan(1, { nodes: 3, maxSteps: 10, maxWaitMs: 100, totalWaitMs: 150 });
  const wrong = (steps: FaultPlan['steps']): FaultPlan => ({ ...ok, steps });
  const cases: [FaultPlan, RegExp][] = [
    [wrong([{ op: 'partition', a: 0, b: 3 }, { op: 'heal-all' }]), /no node 3/],
    [wrong([{ op: 'one-way', from: 1, to: 1 }, { op: 'heal-all' }]), /to itself/],
    [wrong([{ op: 'wait', ms: 100 }, { op: 'wait', ms: 100 }, { op: 'heal-all' }]), /more than 150/],
    [wrong([{ op: 'wait', ms: 101 }, { op: 'heal-all' }]), /not 1\.\.100/],
    [wrong([{ op: 'kill9', node: 0 }, { op: 'heal-all' }]), /ends with node 0 down/],
    [wrong([{ op: 'cont', node: 0 }, { op: 'heal-all' }]), /which is up/],
    [wrong([{ op: 'partition', a: 0, b: 1 }]), /does not end with heal-all/],
    [wrong(Array.from({ length: 11 }, () => ({ op: 'heal-all' as const }))), /more than 10/],
    [{ ...wrong([{ op: 'stop', node: 0 }, { op: 'stop', node: 1 }, { op: 'cont', node: 0 }, { op: 'cont', node: 1 }, { op: 'heal-all' }]), options: { ...ok.options, maxDown: 1 } }, /more than 1 processes down/],
    [{ ...wrong([{ op: 'isolate', node: 0 }, { op: 'heal-all' }]), options: { ...ok.options, ops: ['wait'] } }, /isolate is not allowed/],
  ];
  for (const [plan, problem] of cases) assert.match(planProblems(plan).join('; '), problem, JSON.stringify(plan.steps));
});
