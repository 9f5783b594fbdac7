// Strict mirroring (mirror.acknowledge 'peer'), with servers run from configuration files as the
// appliance runs them, the second joined with `keyhaven mirror join` (token on standard input): a
// Create is acknowledged once a peer holds it; with the only peer down it is not acknowledged (the
// connection closes, and the audit log says why), yet the key is kept and reaches the peer when it
// returns. With whenNoPeer 'acknowledge' the answer comes after the timeout instead.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Enum } from '../../server/kmip/tables.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, withUid } from '../support/requests.js';
import { freePort, KEYHAVEN, ROOT, runCli, send, tryStart, uidOf, type ServerProcess } from '../store/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'keyhaven-strict-'));
const running: ServerProcess[] = [];
after(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  rmSync(root, { recursive: true, force: true });
});

function config(name: string, kmip: number, mirror: number, extra: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(root, `${name}.json`);
  writeFileSync(file, JSON.stringify({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: kmip } }, mirror: { host: '127.0.0.1', port: mirror, ...extra } }));
  return file;
}

async function start(file: string): Promise<ServerProcess> {
  const r = await tryStart(file, 60_000);
  if ('refused' in r) throw new Error(`exited ${r.refused.code}\n${r.refused.stdout}\n${r.refused.stderr}`);
  running.push(r.started);
  return r.started;
}

function withInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KEYHAVEN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

for (const whenNoPeer of ['refuse', 'acknowledge'] as const) {
  test(`acknowledge 'peer', whenNoPeer '${whenNoPeer}'`, { timeout: 180_000 }, async () => {
    const [kA, mA, kB, mB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const strict = { acknowledge: 'peer', peerTimeoutMs: 1500, whenNoPeer };
    const fileA = config(`a-${whenNoPeer}`, kA, mA, strict);
    const fileB = config(`b-${whenNoPeer}`, kB, mB, strict);
    const dirA = join(root, `a-${whenNoPeer}`);
    // A needs a client certificate: the PKI of a server run from a configuration is made with `pki`.
    for (const args of [['pki', 'init', '--dir', dirA], ['pki', 'server', '--dir', dirA, '--dns', 'localhost', '--ip', '127.0.0.1'], ['pki', 'client', '--dir', dirA, '--name', 'app']]) {
      const r = await runCli(args, 60_000);
      assert.equal(r.code, 0, r.stderr);
    }
    await start(fileA);
    const token = await runCli(['mirror', 'token', '--config', fileA, '--json']);
    assert.equal(token.code, 0, token.stderr);
    const joined = await withInput(['mirror', 'join', '--config', fileB], `${JSON.parse(token.stdout).token}\n`);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /joined as n[0-9a-f]+/);
    const dirB = join(root, `b-${whenNoPeer}`);
    const server = await runCli(['pki', 'server', '--dir', dirB, '--dns', 'localhost', '--ip', '127.0.0.1'], 60_000);
    assert.equal(server.code, 0, server.stderr);
    let b = await start(fileB);
    const files = { ca: join(dirA, 'pki/ca.crt'), cert: join(dirA, 'pki/clients/app.crt'), key: join(dirA, 'pki/clients/app.key') };
    // Linked: a Create is acknowledged, and B has it by then.
    await within(15_000, 'linked', async () => JSON.parse((await runCli(['mirror', 'status', '--config', fileA, '--json'])).stdout).peers.some((p: { connected: boolean }) => p.connected));
    const onA = await KmipTestClient.connect(kA, files);
    const uid = uidOf(await send(onA, [createAes()]));
    const onB = await KmipTestClient.connect(kB, files);
    assert.equal((await send(onB, [withUid(Enum.Operation.Get, uid)])).items[0]!.status, Enum.ResultStatus.Success, 'acknowledged only once B holds it');
    onB.socket.end();
    // B down: no peer confirms.
    b.child.kill('SIGKILL');
    await b.exited;
    const t0 = Date.now();
    const outcome = await send(onA, [createAes()]).then(
      (r) => ({ answered: uidOf(r) }),
      () => ({ answered: undefined }),
    );
    const waited = Date.now() - t0;
    assert.ok(waited >= 1400, `waited ${waited} ms for a peer`);
    const audit = await runCli(['audit', 'tail', '--config', fileA, '-n', '30']);
    if (whenNoPeer === 'refuse') {
      assert.equal(outcome.answered, undefined, 'not acknowledged');
      assert.match(audit.stdout, /Mirror Acknowledgement.*no peer confirmed change \d+ within 1500 ms.*not acknowledged to the client/);
    } else {
      assert.ok(outcome.answered, 'acknowledged after the timeout');
      assert.match(audit.stdout, /Mirror Acknowledgement.*acknowledged anyway/);
    }
    onA.socket.destroy();
    // The key made while B was down is kept and reaches B when it returns.
    const objectsOnA = JSON.parse((await runCli(['mirror', 'status', '--config', fileA, '--json'])).stdout).objects as number;
    assert.equal(objectsOnA, 2);
    b = await start(fileB);
    await within(20_000, 'B holds both keys', async () => JSON.parse((await runCli(['mirror', 'status', '--config', fileB, '--json'])).stdout).objects === 2);
  });
}
