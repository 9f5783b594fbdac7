// Failover as a KMIP client sees it (issue 13): PyKMIP (Debian python3-pykmip, driven by
// pykmip_client.py) creates a key on server A of a mirror group of two `keyhaven dev` servers on
// 127.0.0.1; once B has it, A is killed with SIGKILL; PyKMIP then reads the same key, by the same
// Unique Identifier, from B, with the same bytes. Skips when PyKMIP is absent, as pykmip.test.ts does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { field, parseResponse, request, withUid } from '../support/requests.js';
import { pykmip as pykmipDriver, pykmipMissing, stepOk } from '../support/pykmip-driver.js';
import { DEV_HOST, freePort, killAllDev, sleep, startDev } from '../support/dev-process.js';

const HOST = DEV_HOST;
const missing = pykmipMissing('the PyKMIP failover test');
const pykmip = (scenario: string, port: number, files: ClientFiles, extra: string[] = []) => pykmipDriver(scenario, HOST, port, files, extra);
const ok = stepOk;

after(killAllDev);

test('PyKMIP: a key created on A is read, same identifier and bytes, from B after A is killed with SIGKILL', { skip: missing, timeout: 240_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-failover-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [aDir, bDir] = [join(work, 'a'), join(work, 'b')];
  const [aKmip, aMirror, bKmip, bMirror] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const a = await startDev(aDir, aKmip, { mirrorPort: aMirror });
  const b = await startDev(bDir, bKmip, { mirrorPort: bMirror, joinFrom: aDir });
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
