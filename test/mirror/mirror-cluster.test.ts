// Mirroring between real server processes on loopback (`keyhaven dev --mirror-port --join-from`):
// a key made on one is served by the other, by the same identifier and bytes, with the first's client
// certificate; edits and destroys travel both ways; a server killed with SIGKILL catches up when
// started again with the same command (and resumes without the first running); the 6002 listener
// refuses a KMIP client's certificate before reading a byte, a connection without a certificate that
// does not join, a protocol version it does not speak, a used or expired join token, and a token
// whose CA fingerprint is not the member's.
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Enum } from '../../server/kmip/tables.js';
import { parseConfig } from '../../server/config.js';
import { issueJoinToken, joinGroup } from '../../server/mirror-cli.js';
import { frame, FrameReader } from '../../server/mirror/frames.js';
import { formatJoinToken, parseJoinToken } from '../../server/mirror/join-token.js';
import { nodeCertificatePaths } from '../../server/pki/mirror-node.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { attribute, av, createAes, withUid } from '../support/requests.js';
import { freePort, keyBytesOf, registerAes, runCli, send, tryStartWith, uidOf, type ServerProcess } from '../store/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'keyhaven-mirror-cluster-'));
const dirA = join(root, 'a');
const dirB = join(root, 'b');
let ports: { kmipA: number; mirrorA: number; kmipB: number; mirrorB: number };
const running: ServerProcess[] = [];
let files: ClientFiles;

/** Starts a dev server and waits for its banner (printed after the start). */
async function start(args: string[]): Promise<ServerProcess> {
  const r = await tryStartWith(args, 60_000);
  if ('refused' in r) throw new Error(`exited ${r.refused.code}\n${r.refused.stdout}\n${r.refused.stderr}`);
  running.push(r.started);
  await within(10_000, 'the banner', async () => /mirroring: .*other members/.test(r.started.stdout()));
  return r.started;
}

const argsA = () => ['dev', '--data-dir', dirA, '--kmip-port', String(ports.kmipA), '--mirror-port', String(ports.mirrorA)];
const argsB = () => ['dev', '--data-dir', dirB, '--kmip-port', String(ports.kmipB), '--mirror-port', String(ports.mirrorB), '--join-from', dirA];

async function kill9(p: ServerProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/** Polls `check` every 50 ms until it returns true or `ms` pass; returns the time it took. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

async function status(dir: string): Promise<{ digest: string; running: boolean; peers: { node: string; queueDepth: number; connected: boolean; lastDigestCheck?: { result: string } }[] }> {
  const r = await runCli(['mirror', 'status', '--data-dir', dir, '--json']);
  return JSON.parse(r.stdout);
}

async function converged(): Promise<boolean> {
  const [a, b] = await Promise.all([status(dirA), status(dirB)]);
  // Removed members (the later tests remove some) are listed, never connected.
  const live = [...a.peers, ...b.peers].filter((p) => !(p as { removed?: boolean }).removed);
  return a.digest === b.digest && live.every((p) => p.queueDepth === 0 && p.connected);
}

let a: ServerProcess;
let b: ServerProcess;

before(async () => {
  ports = { kmipA: await freePort(), mirrorA: await freePort(), kmipB: await freePort(), mirrorB: await freePort() };
  a = await start(argsA());
  assert.match(a.stdout(), /mirroring: +127\.0\.0\.1:\d+, server n[0-9a-f]+ of group g[0-9a-f]+, 0 other members/);
  b = await start(argsB());
  assert.match(b.stdout(), /joined the mirror group of/);
  assert.match(b.stdout(), /1 other members/);
  files = { ca: join(dirA, 'pki/ca.crt'), cert: join(dirA, 'pki/clients/dev.crt'), key: join(dirA, 'pki/clients/dev.key') };
});

after(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  rmSync(root, { recursive: true, force: true });
});

test('one group: the same CA, a key registered on A is served by B with the same identifier and bytes, to A\'s client certificate', async () => {
  assert.equal(readFileSync(join(dirB, 'pki/ca.crt'), 'utf8'), readFileSync(join(dirA, 'pki/ca.crt'), 'utf8'));
  const onA = await KmipTestClient.connect(ports.kmipA, files);
  const onB = await KmipTestClient.connect(ports.kmipB, files);
  try {
    const secret = randomBytes(32);
    const uid = uidOf(await send(onA, [registerAes(secret)]));
    const took = await within(5000, 'B serves the key', async () => (await send(onB, [withUid(Enum.Operation.Get, uid)])).items[0]!.status === Enum.ResultStatus.Success);
    assert.ok(keyBytesOf(await send(onB, [withUid(Enum.Operation.Get, uid)])).equals(secret));
    // Made on B, edited on A, destroyed on B: each reaches the other.
    const made = uidOf(await send(onB, [createAes()]));
    await within(5000, 'A serves the key made on B', async () => (await send(onA, [withUid(Enum.Operation.Get, made)])).items[0]!.status === Enum.ResultStatus.Success);
    const mod = await send(onA, [withUid(Enum.Operation.AddAttribute, made, [attribute('Contact Information', av.text('ops@example.com'))])]);
    assert.equal(mod.items[0]!.status, Enum.ResultStatus.Success, mod.items[0]!.message);
    await within(5000, 'B sees the attribute set on A', async () => {
      const r = await send(onB, [withUid(Enum.Operation.GetAttributes, made, [])]);
      return JSON.stringify(r.items[0]?.payload ?? '').includes('ops@example.com');
    });
    assert.equal((await send(onB, [withUid(Enum.Operation.Destroy, uid)])).items[0]!.status, Enum.ResultStatus.Success);
    await within(5000, 'A no longer serves the destroyed key', async () => (await send(onA, [withUid(Enum.Operation.Get, uid)])).items[0]!.status !== Enum.ResultStatus.Success);
    await within(10_000, 'digests agree', converged);
    assert.ok(took < 5000);
  } finally {
    onA.socket.end();
    onB.socket.end();
  }
});

test('B killed with SIGKILL misses keys made on A; started again with the same command, it catches up; it also resumes with A down', async () => {
  await kill9(b);
  const onA = await KmipTestClient.connect(ports.kmipA, files);
  const made: string[] = [];
  for (let i = 0; i < 40; i++) made.push(uidOf(await send(onA, [createAes()])));
  onA.socket.end();
  // The status file is rewritten every second.
  await within(5000, 'A shows the 40 changes queued for B', async () => (await status(dirA)).peers.some((p) => p.queueDepth >= 40 && !p.connected));
  b = await start(argsB());
  assert.doesNotMatch(b.stdout(), /joined the mirror group/, 'it resumed; it did not join again');
  await within(15_000, 'B caught up and the digests agree', converged);
  const onB = await KmipTestClient.connect(ports.kmipB, files);
  for (const uid of made) assert.equal((await send(onB, [withUid(Enum.Operation.Get, uid)])).items[0]!.status, Enum.ResultStatus.Success, uid);
  onB.socket.end();
  // With A down, B's command still starts B (it never asks A again) and B serves what it has.
  await kill9(b);
  await kill9(a);
  b = await start(argsB());
  const again = await KmipTestClient.connect(ports.kmipB, files);
  assert.equal((await send(again, [withUid(Enum.Operation.Get, made[0]!)])).items[0]!.status, Enum.ResultStatus.Success);
  // A key made on B while A is down reaches A once A is back.
  const whileDown = uidOf(await send(again, [createAes()]));
  again.socket.end();
  a = await start(argsA());
  await within(15_000, 'A back: converged', converged);
  const onA2 = await KmipTestClient.connect(ports.kmipA, files);
  assert.equal((await send(onA2, [withUid(Enum.Operation.Get, whileDown)])).items[0]!.status, Enum.ResultStatus.Success);
  onA2.socket.end();
});

/** Opens a TLS connection to A's mirror port; resolves with what happened. */
function probe(options: tls.ConnectionOptions, send?: unknown[]): Promise<{ handshake: boolean; received: unknown[]; closed: string }> {
  return new Promise((resolve) => {
    const received: unknown[] = [];
    const reader = new FrameReader();
    let handshake = false;
    const socket = tls.connect({ host: '127.0.0.1', port: ports.mirrorA, rejectUnauthorized: false, minVersion: 'TLSv1.3', ...options });
    socket.on('secureConnect', () => {
      handshake = true;
      for (const m of send ?? []) socket.write(frame(m));
    });
    socket.on('data', (d: Buffer) => {
      for (const body of reader.push(d)) received.push(JSON.parse(body.toString()));
    });
    const done = (closed: string) => resolve({ handshake, received, closed });
    socket.on('error', (e) => done(`error ${e.message}`));
    socket.on('close', () => done('closed'));
    setTimeout(() => {
      socket.destroy();
      done('timeout');
    }, 8000).unref();
  });
}

test('6002 refuses a KMIP client certificate before reading anything, and a connection without one that does not join', async () => {
  const asClient = await probe({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, [{ t: 'hello', versions: [1, 1], node: 'x', group: 'g', log: 'l', head: 0 }]);
  assert.notEqual(asClient.closed, 'timeout');
  assert.deepEqual(asClient.received, [], 'not a byte of answer');
  const bare = await probe({}, [{ t: 'hello', versions: [1, 1], node: 'x', group: 'g', log: 'l', head: 0 }]);
  assert.equal(bare.handshake, true);
  assert.equal((bare.received[0] as { t: string; reason: string }).t, 'refuse');
  assert.match((bare.received[0] as { reason: string }).reason, /without a certificate may only join/);
  const audit = await runCli(['audit', 'tail', '--data-dir', dirA, '-n', '50']);
  assert.match(audit.stdout, /Mirror Connection Refused.*a client certificate has no business on 6002/);
});

test('a member speaking another protocol version is refused, naming both ranges', async () => {
  const node = nodeCertificatePaths(dirB);
  const r = await probe({ cert: readFileSync(node.cert), key: readFileSync(node.key), ca: readFileSync(files.ca), checkServerIdentity: () => undefined }, [
    { t: 'hello', versions: [7, 9], node: 'whoever', group: 'g', log: 'l', head: 0 },
  ]);
  assert.equal((r.received[0] as { t: string }).t, 'refuse');
  assert.match((r.received[0] as { reason: string }).reason, /versions 7–9 were offered; this server speaks 1–2/);
});

test('join tokens: single use, expiring, and bound to the group CA', async () => {
  const member = parseConfig({ dataDir: dirA }, 'test');
  const fresh = (name: string) => parseConfig({ dataDir: join(root, name) }, 'test');
  const t = await issueJoinToken(member);
  assert.equal(t.caFingerprint, new X509Certificate(readFileSync(files.ca)).fingerprint256);
  const c = fresh('c');
  const cMirror = await freePort();
  const joinedC = await joinGroup(c, t.token, `127.0.0.1:${cMirror}`);
  assert.equal(joinedC.result, 'joined');
  // Used: refused, and the refusal says so.
  await assert.rejects(joinGroup(fresh('d'), t.token, '127.0.0.1:1'), /the join token was used already/);
  // Expired.
  const short = await issueJoinToken(member, 1);
  await new Promise((r) => setTimeout(r, 20));
  await assert.rejects(joinGroup(fresh('e'), short.token, '127.0.0.1:1'), /the join token expired/);
  // A token naming another CA: nothing is sent to a server that cannot prove it is of that CA.
  const good = await issueJoinToken(member);
  const forged = formatJoinToken({ ...parseJoinToken(good.token), caFingerprint: 'AB:'.repeat(31) + 'AB' });
  await assert.rejects(joinGroup(fresh('f'), forged, '127.0.0.1:1'), /does not hold a certificate of the CA the token names .* nothing was sent/);
  // The good token is still unused (the forged attempt sent nothing) and works.
  const joinedG = await joinGroup(fresh('g'), good.token, '127.0.0.1:2');
  assert.equal(joinedG.result, 'joined');
  await assert.rejects(joinGroup(fresh('h'), 'KHJ1.nonsense', '127.0.0.1:1'), /not a join token/);
  // The two that joined never run: remove them (their node certificates were never made: none to revoke).
  for (const node of [joinedC.node, joinedG.node]) {
    const r = await runCli(['mirror', 'remove', '--data-dir', dirA, node]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /not known here yet/);
  }
  const self = JSON.parse((await runCli(['mirror', 'status', '--data-dir', dirA, '--json'])).stdout).node as string;
  const refused = await runCli(['mirror', 'remove', '--data-dir', dirA, self]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /is this server: remove a server from another member/);
});

test('a client certificate revoked on A is refused by B within seconds', async () => {
  const made = await runCli(['pki', 'client', '--dir', dirA, '--name', 'app1']);
  assert.equal(made.code, 0, made.stderr);
  const app1 = { ca: files.ca, cert: join(dirA, 'pki/clients/app1.crt'), key: join(dirA, 'pki/clients/app1.key') };
  const before = await KmipTestClient.connect(ports.kmipB, app1);
  assert.equal((await send(before, [createAes()])).items[0]!.status, Enum.ResultStatus.Success, 'B serves a client certificate issued on A');
  before.socket.end();
  const r = await runCli(['pki', 'revoke', '--dir', dirA, '--name', 'app1', '--reason', 'keyCompromise']);
  assert.equal(r.code, 0, r.stderr);
  const took = await within(15_000, 'B refuses the revoked certificate', async () => {
    try {
      const c = await KmipTestClient.connect(ports.kmipB, app1);
      const answer = await send(c, [createAes()]).then(() => 'answered', () => 'refused');
      c.socket.destroy();
      return answer === 'refused';
    } catch {
      return true;
    }
  });
  assert.ok(took < 15_000);
  const audit = await runCli(['audit', 'tail', '--data-dir', dirB, '-n', '200']);
  assert.match(audit.stdout, /Mirror Revocation.*revoked .*app1/);
});

test('a server removed from the group is refused by all: nothing it makes afterwards reaches them', async () => {
  const dirC = join(root, 'c-running');
  const kmipC = await freePort();
  const mirrorC = await freePort();
  const c = await start(['dev', '--data-dir', dirC, '--kmip-port', String(kmipC), '--mirror-port', String(mirrorC), '--join-from', dirA]);
  const nodeC = JSON.parse((await runCli(['mirror', 'status', '--data-dir', dirC, '--json'])).stdout).node as string;
  await within(20_000, 'C converged with A and B', async () => {
    const [sa, sb, sc] = await Promise.all([status(dirA), status(dirB), status(dirC)]);
    const live = sc.peers.filter((p) => !(p as { removed?: boolean }).removed);
    return sa.digest === sb.digest && sb.digest === sc.digest && live.length === 2 && live.every((p) => p.connected);
  });
  const removed = await runCli(['mirror', 'remove', '--data-dir', dirA, nodeC]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed from the group and its node certificate revoked/);
  await within(15_000, 'A and B stop talking to C', async () => {
    const [sa, sb] = await Promise.all([status(dirA), status(dirB)]);
    const gone = (s: typeof sa) => s.peers.filter((p) => p.node === nodeC).every((p) => (p as { removed?: boolean }).removed && !p.connected);
    return gone(sa) && gone(sb);
  });
  const onC = await KmipTestClient.connect(kmipC, files);
  const afterRemoval = uidOf(await send(onC, [createAes()]));
  onC.socket.end();
  await new Promise((r) => setTimeout(r, 3000));
  const onB = await KmipTestClient.connect(ports.kmipB, files);
  assert.notEqual((await send(onB, [withUid(Enum.Operation.Get, afterRemoval)])).items[0]!.status, Enum.ResultStatus.Success, 'a key made on the removed server does not reach B');
  onB.socket.end();
  const auditA = await runCli(['audit', 'tail', '--data-dir', dirA, '-n', '300']);
  assert.match(auditA.stdout, new RegExp(`Mirror Connection Refused.*(${nodeC} is removed from this group|certificate is refused)`));
  await kill9(c);
});

test("a peer whose log went backwards (its store restored) is sent everything again; an item naming another object than its replica is refused", async () => {
  // A change on B, so that A has applied some of B's log.
  const onB = await KmipTestClient.connect(ports.kmipB, files);
  await send(onB, [createAes()]);
  onB.socket.end();
  await within(15_000, 'converged', converged);
  const { default: Database } = await import('better-sqlite3');
  const dbB = new Database(join(dirB, 'keyhaven.db'), { readonly: true });
  const idB = JSON.parse(String((dbB.prepare(`SELECT value FROM meta WHERE key = 'mirror_identity'`).get() as { value: Buffer }).value)) as { node: string; group: string; log: string };
  const someReplica = (dbB.prepare('SELECT uid, replica FROM objects WHERE change_seq IS NOT NULL LIMIT 1').get() as { uid: string; replica: Buffer });
  dbB.close();
  const dbA = new Database(join(dirA, 'keyhaven.db'), { readonly: true });
  const appliedByA = (dbA.prepare('SELECT applied FROM mirror_cursors WHERE peer = ? AND log_id = ?').get(idB.node, idB.log) as { applied: number }).applied;
  dbA.close();
  assert.ok(appliedByA > 0, 'A has applied part of B\'s log');
  // The connection presents B's node certificate and says hello as B.
  const node = nodeCertificatePaths(dirB);
  const asB = { cert: readFileSync(node.cert), key: readFileSync(node.key), ca: readFileSync(files.ca), checkServerIdentity: () => undefined };
  const hello = (head: number) => ({ t: 'hello', versions: [1, 1], node: idB.node, group: idB.group, log: idB.log, head });
  const welcomed = async (head: number) => {
    const r = await probe(asB, [hello(head)]);
    const w = r.received[0] as { t: string; applied: number };
    assert.equal(w.t, 'welcome', JSON.stringify(r.received));
    return w.applied;
  };
  assert.equal(await welcomed(appliedByA), appliedByA, 'a log at least as long as what A applied: resumed where A stands');
  assert.equal(await welcomed(appliedByA - 1), 0, 'a log shorter than what A applied: everything again, from the start');
  // Protocol 2's digest answer says how far A applied each member it hears; a protocol 1 peer (whose
  // schema refuses unknown fields) never gets that field.
  const digestAnswer = async (versions: [number, number]) => {
    const r = await probe(asB, [{ ...hello(appliedByA), versions }, { t: 'digest', digest: '0'.repeat(64), head: appliedByA, applied: 0 }]);
    assert.equal((r.received[0] as { version: number }).version, versions[1]);
    const answer = r.received.find((m) => (m as { t: string }).t === 'digest-result') as { cursors?: { node: string; log: string; applied: number }[] } | undefined;
    assert.ok(answer, JSON.stringify(r.received));
    return answer;
  };
  assert.equal('cursors' in (await digestAnswer([1, 1])), false, 'protocol 1: no cursors');
  const v2 = await digestAnswer([1, 2]);
  assert.deepEqual(v2.cursors?.find((c) => c.node === idB.node), { node: idB.node, log: idB.log, applied: appliedByA }, `protocol 2: B's cursor in ${JSON.stringify(v2.cursors)}`);
  // The replica (past its 32-byte HMAC) of one object, shipped under another identifier.
  const r = await probe(asB, [hello(appliedByA + 1), { t: 'changes', items: [{ seq: appliedByA + 1, u: `not-${someReplica.uid}`, r: someReplica.replica.subarray(32).toString('utf8') }], upTo: appliedByA + 1 }]);
  const refused = r.received.find((m) => (m as { t: string }).t === 'refuse') as { reason: string } | undefined;
  assert.ok(refused, `refused: ${JSON.stringify(r.received)}`);
  assert.match(refused.reason, /names object not-.* but carries/);
  await within(15_000, 'converged after the probes', converged);
});

test('a divergence the logs do not explain is found by the digest comparison, reported, and repaired', async () => {
  // B is stopped and told (in its own store) that it applied more of A's log than it did: A then
  // never sends those changes, and only the digest comparison can notice.
  b.child.kill('SIGTERM');
  await b.exited;
  const onA = await KmipTestClient.connect(ports.kmipA, files);
  const missed: string[] = [];
  for (let i = 0; i < 5; i++) missed.push(uidOf(await send(onA, [createAes()])));
  onA.socket.end();
  const { default: Database } = await import('better-sqlite3');
  // A's log head read from its store (the status file may be a second old).
  const dbA = new Database(join(dirA, 'keyhaven.db'), { readonly: true });
  const headA = (dbA.prepare('SELECT max(change_seq) AS n FROM objects WHERE change_seq IS NOT NULL').get() as { n: number }).n;
  dbA.close();
  const db = new Database(join(dirB, 'keyhaven.db'));
  const nodeA = JSON.parse((await runCli(['mirror', 'status', '--data-dir', dirA, '--json'])).stdout).node as string;
  db.prepare('UPDATE mirror_cursors SET applied = ? WHERE peer = ?').run(headA, nodeA);
  db.close();
  b = await start(argsB());
  await within(30_000, 'converged again', converged);
  const onB = await KmipTestClient.connect(ports.kmipB, files);
  for (const uid of missed) assert.equal((await send(onB, [withUid(Enum.Operation.Get, uid)])).items[0]!.status, Enum.ResultStatus.Success, `${uid} repaired onto B`);
  onB.socket.end();
  const audit = await runCli(['audit', 'tail', '--data-dir', dirA, '-n', '300']);
  const auditB = await runCli(['audit', 'tail', '--data-dir', dirB, '-n', '300']);
  assert.match(audit.stdout + auditB.stdout, /Mirror Divergence/);
});
