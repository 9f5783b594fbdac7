// The first-boot wizard joining an existing mirror group, in a pseudo-terminal, against a real
// member (`keyhaven dev --mirror-port` on loopback): a pasted text that is no token is refused as
// typed; a member that does not answer and a token the member never issued each fail with the reason,
// leave the data directory and the anchor as they were, and let the administrator paste another
// token; the member's own token joins: the appliance takes the group's CA, gets a server certificate
// of it, and, started as the appliance starts its key server, serves a key made on the member.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { asDataOwner } from '../../appliance/admin/data-owner.js';
import { appliancePaths } from '../../appliance/admin/paths.js';
import { Enum, initPki } from '../../server/index.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, withUid } from '../support/requests.js';
import { Terminal } from '../support/terminal.js';
import { KEYHAVEN, freePort, runCli, send, tryStart, tryStartWith, uidOf, type ServerProcess } from '../store/helpers.js';

const GOOD = 'Tr0ub4dor&3-Xylo9';
const dir = mkdtempSync(join(tmpdir(), 'kh-firstboot-join-'));
const running: ServerProcess[] = [];
const terminals: Terminal[] = [];
after(async () => {
  for (const t of terminals) t.close();
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
});

async function started(p: Promise<Awaited<ReturnType<typeof tryStart>>>): Promise<ServerProcess> {
  const r = await p;
  if ('refused' in r) throw new Error(`exited ${r.refused.code}\n${r.refused.stdout}\n${r.refused.stderr}`);
  running.push(r.started);
  return r.started;
}

async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  for (const until = Date.now() + ms; !(await check()); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** Same member and fingerprint, another secret: a token the member never issued (KHJ1.<base64url JSON>). */
function forged(token: string): string {
  const j = JSON.parse(Buffer.from(token.slice(5), 'base64url').toString('utf8')) as { s: string };
  return `KHJ1.${Buffer.from(JSON.stringify({ ...j, s: 'A'.repeat(32) })).toString('base64url')}`;
}
function elsewhere(token: string, address: string): string {
  const j = JSON.parse(Buffer.from(token.slice(5), 'base64url').toString('utf8')) as { a: string };
  return `KHJ1.${Buffer.from(JSON.stringify({ ...j, a: address })).toString('base64url')}`;
}

test('first boot joins a mirror group: bad tokens and an unreachable member leave nothing behind; the joined appliance serves the group\'s keys', { timeout: 300_000 }, async () => {
  const memberDir = join(dir, 'member');
  const ports = { kmipA: await freePort(), mirrorA: await freePort(), kmipB: await freePort(), mirrorB: await freePort(), closed: await freePort() };
  const member = await started(tryStartWith(['dev', '--data-dir', memberDir, '--kmip-port', String(ports.kmipA), '--mirror-port', String(ports.mirrorA)], 60_000));
  await within(10_000, "the member's banner", async () => /mirroring: /.test(member.stdout()));
  const issued = JSON.parse((await runCli(['mirror', 'token', '--data-dir', memberDir, '--json'])).stdout) as { token: string; caFingerprint: string };

  const root = join(dir, 'root');
  mkdirSync(root);
  const paths = appliancePaths(root);
  const settings = join(dir, 'settings.json');
  writeFileSync(settings, JSON.stringify({ hostname: 'kms02.example.com', address: { mode: 'static', address: '10.1.2.4', prefix: 24, gateway: '10.1.2.1' } }));
  const t = Terminal.start([process.execPath, KEYHAVEN, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', root, '--settings', settings]);
  terminals.push(t);
  const paste = async (text: string, expect: RegExp, timeoutMs?: number) => {
    t.press(...Array<string>(250).fill('BSpace'));
    t.type(text);
    t.press('Enter');
    await t.waitForTail(expect, timeoutMs, 8);
  };
  const nothingLeft = (when: string) => {
    assert.deepEqual(existsSync(paths.dataDir) ? readdirSync(paths.dataDir) : [], [], `${when}: the data directory is as it was`);
    assert.ok(!existsSync(paths.anchorFile), `${when}: no rollback anchor left`);
  };

  await t.waitFor(/Are these settings correct\?/);
  t.press('Enter');
  await t.waitFor(/\? New admin password/);
  await paste(GOOD, /^\? Repeat the password\s*$/m);
  await paste(GOOD, /\? Mirror group/);
  t.press('Down', 'Enter');
  await t.waitForTail(/\? Join token/, 20_000, 8);
  await paste('not a token at all', /that is not a join token \(it does not start with KHJ1\.\)/);

  // A member that does not answer: the reason, nothing left, another token.
  await paste(elsewhere(issued.token, `127.0.0.1:${ports.closed}`), /\? Is this the CA fingerprint the member's menu showed\? \(y\/N\)/);
  assert.ok(t.screen().replace(/\s/g, '').includes(issued.caFingerprint), 'the fingerprint the token carries is shown');
  await paste('y', /What now\?[\s\S]*Try again/, 60_000);
  assert.match(t.history(), /Joining failed: joining through 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
  nothingLeft('after an unreachable member');
  t.press('Down', 'Enter'); // paste another token
  await t.waitForTail(/\? Join token/, 20_000, 8);

  // A token the member never issued: refused by the member, nothing left.
  await paste(forged(issued.token), /\? Is this the CA fingerprint the member's menu showed\? \(y\/N\)/);
  await paste('y', /What now\?[\s\S]*Try again/, 60_000);
  assert.match(t.history(), /Joining failed: .*the join token is not one this server issued/);
  nothingLeft('after a refused join');
  t.press('Down', 'Enter');
  await t.waitForTail(/\? Join token/, 20_000, 8);

  // The member's token: joined.
  await paste(issued.token, /\? Is this the CA fingerprint the member's menu showed\? \(y\/N\)/);
  await paste('y', /Press Enter for the login prompt/, 120_000);
  const screen = t.history();
  assert.match(screen, /joined the mirror group as n[0-9a-f]+/);
  assert.match(screen, /the server certificate issued by the group's CA/);
  assert.match(screen, /Mirroring +member of a group of 2 servers/);
  t.press('Enter');
  assert.equal(await t.exitStatus(), 0);
  const ca = new X509Certificate(readFileSync(join(paths.dataDir, 'pki/ca.crt')));
  assert.equal(ca.fingerprint256, issued.caFingerprint, "the group's CA");
  assert.ok(new X509Certificate(readFileSync(join(paths.dataDir, 'pki/server.crt'))).verify(ca.publicKey), 'the server certificate is of the group CA');
  const saved = JSON.parse(readFileSync(paths.settings, 'utf8')) as { network: { mirroring: unknown } };
  // The member is on loopback here, which no firewall peer can be: 6002 stays closed to it (group-peers.test.ts covers real addresses).
  assert.deepEqual(saved.network.mirroring, { peers: [], restrictInbound: true });

  // Started as keyhaven.service starts it (the anchor where the appliance keeps it), it serves a key made on the member.
  const config = join(dir, 'keyhaven.json');
  writeFileSync(config, JSON.stringify({ dataDir: paths.dataDir, store: { anchorFile: paths.anchorFile }, listeners: { kmip: { host: '127.0.0.1', port: ports.kmipB } }, mirror: { host: '127.0.0.1', port: ports.mirrorB } }));
  await started(tryStart(config, 60_000));
  const files = { ca: join(memberDir, 'pki/ca.crt'), cert: join(memberDir, 'pki/clients/dev.crt'), key: join(memberDir, 'pki/clients/dev.key') };
  const onA = await KmipTestClient.connect(ports.kmipA, files);
  const onB = await KmipTestClient.connect(ports.kmipB, files, { servername: 'kms02.example.com' });
  try {
    const uid = uidOf(await send(onA, [createAes()]));
    await within(30_000, 'the joined appliance serves the key made on the member', async () => (await send(onB, [withUid(Enum.Operation.Get, uid)])).items[0]!.status === Enum.ResultStatus.Success);
  } finally {
    onA.socket.destroy();
    onB.socket.destroy();
  }
});

test('a join that fails can give way to a new group: the appliance then has its own CA and 6002 closed', { timeout: 300_000 }, async () => {
  const root = join(dir, 'root-new');
  mkdirSync(root);
  const paths = appliancePaths(root);
  const settings = join(dir, 'settings-new.json');
  writeFileSync(settings, JSON.stringify({ hostname: 'kms03.example.com', address: { mode: 'static', address: '10.1.2.5', prefix: 24, gateway: '10.1.2.1' } }));
  const t = Terminal.start([process.execPath, KEYHAVEN, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', root, '--settings', settings]);
  terminals.push(t);
  const enter = async (text: string, expect: RegExp, timeoutMs?: number) => {
    t.type(text);
    t.press('Enter');
    await t.waitForTail(expect, timeoutMs, 8);
  };
  // A token of a CA nobody here has, naming a port nothing listens on.
  const token = `KHJ1.${Buffer.from(JSON.stringify({ a: `127.0.0.1:${await freePort()}`, f: Array(32).fill('AB').join(':'), s: 'B'.repeat(32) })).toString('base64url')}`;
  await t.waitFor(/Are these settings correct\?/);
  t.press('Enter');
  await t.waitFor(/\? New admin password/);
  await enter(GOOD, /^\? Repeat the password\s*$/m);
  await enter(GOOD, /Join an existing mirror group[\s\S]*navigate/);
  t.press('Down', 'Enter');
  await t.waitForTail(/\? Join token/, 20_000, 8);
  await enter(token, /\? Is this the CA fingerprint the member's menu showed\? \(y\/N\)/);
  await enter('y', /What now\?[\s\S]*Create a new mirror group instead/, 60_000);
  assert.ok(!existsSync(paths.anchorFile), 'no anchor left by the attempt');
  t.press('Down', 'Down', 'Enter');
  await t.waitForTail(/Press Enter for the login prompt/, 120_000, 8);
  const screen = t.history();
  assert.match(screen, /created the appliance CA and the server certificate/);
  assert.match(screen, /Mirroring +a group of one/);
  t.press('Enter');
  assert.equal(await t.exitStatus(), 0);
  const ca = new X509Certificate(readFileSync(join(paths.dataDir, 'pki/ca.crt')));
  assert.notEqual(ca.fingerprint256, Array(32).fill('AB').join(':'));
  assert.deepEqual((JSON.parse(readFileSync(paths.settings, 'utf8')) as { network: { mirroring: unknown } }).network.mirroring, { peers: [], restrictInbound: true });
});

test('a data directory with another CA is refused before the member is asked: the token stays unused, the CA placed there stays, nothing else is left', { timeout: 120_000 }, async () => {
  const memberDir = join(dir, 'member-ca');
  const ports = { kmip: await freePort(), mirror: await freePort() };
  const member = await started(tryStartWith(['dev', '--data-dir', memberDir, '--kmip-port', String(ports.kmip), '--mirror-port', String(ports.mirror)], 60_000));
  await within(10_000, "the member's banner", async () => /mirroring: /.test(member.stdout()));
  const { token } = JSON.parse((await runCli(['mirror', 'token', '--data-dir', memberDir, '--json'])).stdout) as { token: string };
  const other = appliancePaths(join(dir, 'root-other-ca'));
  mkdirSync(other.dataDir, { recursive: true });
  await initPki(other.dataDir, { name: 'another-ca', bits: 2048 });
  await assert.rejects(asDataOwner(other, 'mirror.join', { token, advertise: '10.1.2.6:6002', anchorFile: other.anchorFile }), /is another CA than the group's/);
  assert.deepEqual(readdirSync(other.dataDir), ['pki'], 'the CA placed there stays; the store the attempt opened is gone');
  assert.ok(!existsSync(other.anchorFile), 'no anchor left');
  // The member was never asked: its token still joins a server with an empty data directory.
  const fresh = appliancePaths(join(dir, 'root-fresh'));
  mkdirSync(fresh.dataDir, { recursive: true });
  const joined = await asDataOwner(fresh, 'mirror.join', { token, advertise: '10.1.2.7:6002', anchorFile: fresh.anchorFile });
  assert.equal(joined.result, 'joined');
  assert.deepEqual(joined.members.map((m) => m.address).sort(), [`127.0.0.1:${ports.mirror}`, '10.1.2.7:6002'].sort());
});
