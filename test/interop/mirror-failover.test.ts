// Failover as a KMIP client sees it (issue 13): PyKMIP (Debian python3-pykmip, driven by
// pykmip_client.py) creates a key on server A of a mirror group of two `keyhaven dev` servers on
// 127.0.0.1; once B has it, A is killed with SIGKILL; PyKMIP then reads the same key, by the same
// Unique Identifier, from B, with the same bytes. Skips when PyKMIP is absent, as pykmip.test.ts does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { field, parseResponse, request, withUid } from '../support/requests.js';

const PYTHON = process.env['PYKMIP_PYTHON'] ?? '/usr/bin/python3';
const DRIVER = fileURLToPath(new URL('./pykmip_client.py', import.meta.url));
const KEYHAVEN = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));
const HOST = '127.0.0.1';

function pykmipMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import kmip'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is not available (${r.error.message}); install python3-pykmip to run the PyKMIP failover test`;
  if (r.status !== 0) return `${PYTHON} has no kmip module; install the Debian package python3-pykmip to run the PyKMIP failover test`;
  return false;
}
const missing = pykmipMissing();

interface Step {
  step: string;
  ok: boolean;
  detail?: Record<string, unknown>;
  error?: { reason: string | null; message: string };
}

function pykmip(scenario: string, port: number, files: ClientFiles, extra: string[] = []): Promise<Step[]> {
  const args = [DRIVER, scenario, '--host', HOST, '--port', String(port), '--cert', files.cert, '--key', files.key, '--ca', files.ca, ...extra];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pykmip_client.py ${scenario} failed: ${err.message}\n${stderr}`));
      try {
        resolve((JSON.parse(stdout) as { steps: Step[] }).steps);
      } catch {
        reject(new Error(`pykmip_client.py ${scenario} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

function ok<T = Record<string, unknown>>(steps: Step[], name: string): T {
  const s = steps.find((x) => x.step === name);
  assert.ok(s, `no step "${name}" in ${JSON.stringify(steps)}`);
  assert.equal(s.ok, true, `${name} failed: ${JSON.stringify(s.error)}`);
  return s.detail as T;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

interface Dev {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Dev[] = [];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `keyhaven dev …`; resolves once it prints both ready lines (KMIP and mirroring). */
async function startDev(dir: string, kmipPort: number, mirrorPort: number, joinFrom?: string): Promise<Dev> {
  const proc = spawn(process.execPath, [KEYHAVEN, 'dev', '--data-dir', dir, '--host', HOST, '--kmip-port', String(kmipPort), '--mirror-port', String(mirrorPort), ...(joinFrom ? ['--join-from', joinFrom] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const dev = { proc, out: () => out, exited };
  running.push(dev);
  const deadline = Date.now() + 60_000;
  while (!(/^Keyhaven dev server: KMIP on/m.test(out) && /mirroring:/.test(out))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`keyhaven dev --data-dir ${dir} exited before it was ready: ${err.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`keyhaven dev --data-dir ${dir} not ready after 60 s; stdout: ${out.slice(-1000)}; stderr: ${err.slice(-1000)}`);
    await sleep(50);
  }
  return dev;
}

after(async () => {
  for (const d of running) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
  await Promise.all(running.map((d) => d.exited));
});

test('PyKMIP: a key created on A is read, same identifier and bytes, from B after A is killed with SIGKILL', { skip: missing, timeout: 240_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-failover-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [aDir, bDir] = [join(work, 'a'), join(work, 'b')];
  const [aKmip, aMirror, bKmip, bMirror] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const a = await startDev(aDir, aKmip, aMirror);
  const b = await startDev(bDir, bKmip, bMirror, aDir);
  // The first server's dev client, against each server with that server's CA (the group's).
  const dev = (dir: string): ClientFiles => ({ ca: join(dir, 'pki/ca.crt'), cert: join(aDir, 'pki/clients/dev.crt'), key: join(aDir, 'pki/clients/dev.key') });

  const c = await KmipTestClient.connect(bKmip, dev(bDir));
  const made = await pykmip('credential', aKmip, dev(aDir));
  const t0 = Date.now();
  const uid = ok<{ uid: string }>(made, 'create').uid;
  // Wait (bounded) until B serves it: mirroring is asynchronous, A acknowledged after its own commit.
  let lastAnswer = '';
  try {
    for (;;) {
      const answer = await Promise.race([c.send(request([withUid(Enum.Operation.Get, uid)])), sleep(5_000)]);
      if (!answer) assert.fail(`B did not answer a Get within 5 s`);
      const r = parseResponse(answer).items[0]!;
      if (r.status === Enum.ResultStatus.Success && field<string>(r.payload, Tag.UniqueIdentifier) === uid) break;
      lastAnswer = `${r.reason}: ${r.message}`;
      if (Date.now() - t0 > 30_000) assert.fail(`B did not serve ${uid} within 30 s (last answer ${lastAnswer})`);
      await sleep(50);
    }
  } finally {
    c.close();
  }
  t.diagnostic(`PyKMIP created ${uid} on A; B served it ${Date.now() - t0} ms after the PyKMIP process returned`);
  const onA = ok<{ value_hex: string; algorithm: string; cryptographic_length: number }>(await pykmip('owner', aKmip, dev(aDir), ['--uid', uid]), 'get');

  a.proc.kill('SIGKILL');
  assert.deepEqual(await a.exited, { code: null, signal: 'SIGKILL' });

  const fromB = await pykmip('owner', bKmip, dev(bDir), ['--uid', uid]);
  const got = ok<{ value_hex: string; object_type: string; algorithm: string; cryptographic_length: number }>(fromB, 'get');
  assert.equal(got.object_type, 'SymmetricKey');
  assert.equal(got.value_hex, onA.value_hex, 'B returns the bytes A created');
  assert.deepEqual([got.algorithm, got.cryptographic_length], [onA.algorithm, onA.cryptographic_length]);
  const attrs = ok<{ attributes: Record<string, unknown[]> }>(fromB, 'get attributes').attributes;
  t.diagnostic(`with A dead, PyKMIP read ${uid} from B: ${got.algorithm}-${got.cryptographic_length}, same bytes, State ${JSON.stringify(attrs['State'])}`);
  assert.deepEqual(attrs['State'], ['PRE_ACTIVE']);
  assert.equal(b.proc.exitCode, null, 'B still runs');
});
