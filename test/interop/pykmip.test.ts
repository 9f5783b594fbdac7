// Interoperability with PyKMIP (Debian python3-pykmip 0.10, the system /usr/bin/python3): a real
// Keyhaven server in this process, PyKMIP's ProxyKmipClient and KMIPProxy in a subprocess driven by
// pykmip_client.py. Proves that a third-party KMIP client can create AES keys of each length, read
// them back, activate, read attributes, locate by name, register and read back Secret Data over
// KMIP 1.2 (as MongoDB does), revoke for key compromise, destroy, manage custom x- attributes,
// Query, Discover Versions, Locate with Maximum Items, speak every protocol version 1.0–1.4, send a
// Username/Password credential; and that a second client identity is refused the first one's key.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { hashPassword } from '../../server/net/credentials.js';
import { OPERATIONS } from '../../server/ops/pipeline/registry.js';
import { subjectFromX509 } from '../../server/pki/index.js';
import { PRODUCT } from '../../server/server.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The Debian system Python (python3-pykmip), not whatever python3 is first on PATH. */
const PYTHON = process.env['PYKMIP_PYTHON'] ?? '/usr/bin/python3';
const DRIVER = fileURLToPath(new URL('./pykmip_client.py', import.meta.url));

function pykmipMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import kmip; print(kmip.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is not available (${r.error.message}); install python3-pykmip to run the PyKMIP interop tests`;
  if (r.status !== 0) return `${PYTHON} has no kmip module; install the Debian package python3-pykmip to run the PyKMIP interop tests`;
  return false;
}

interface StepError {
  kind: string;
  status: string | null;
  reason: string | null;
  message: string;
  trace?: string;
}
interface Step {
  step: string;
  ok: boolean;
  detail?: Record<string, unknown>;
  error?: StepError;
}
interface DriverResult {
  scenario: string;
  steps: Step[];
  [k: string]: unknown;
}
interface KeySummary {
  object_type: string;
  algorithm: string | null;
  cryptographic_length: number | null;
  value_bytes: number;
  value_hex: string;
}
type Attrs = Record<string, unknown[]>;

/** Runs the driver asynchronously (the server shares this event loop) and parses its JSON. */
function pykmip(scenario: string, port: number, files: ClientFiles, extra: string[] = []): Promise<DriverResult> {
  const args = [DRIVER, scenario, '--port', String(port), '--cert', files.cert, '--key', files.key, '--ca', files.ca, ...extra];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pykmip_client.py ${scenario} failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as DriverResult);
      } catch {
        reject(new Error(`pykmip_client.py ${scenario} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

function step(r: DriverResult, name: string): Step {
  const s = r.steps.find((x) => x.step === name);
  assert.ok(s, `PyKMIP scenario ${r.scenario} has no step "${name}"`);
  return s;
}

/** The detail of a step that must have succeeded (the PyKMIP error otherwise). */
function ok<T = Record<string, unknown>>(r: DriverResult, name: string): T {
  const s = step(r, name);
  assert.equal(s.ok, true, `${name} failed: ${JSON.stringify(s.error)}`);
  return s.detail as T;
}

/** The error of a step that must have failed with a KMIP Operation Failed. */
function refused(r: DriverResult, name: string): StepError {
  const s = step(r, name);
  assert.equal(s.ok, false, `${name} must fail, but succeeded: ${JSON.stringify(s.detail)}`);
  assert.equal(s.error?.status, 'OPERATION_FAILED', `${name}: expected a KMIP Operation Failed, got ${JSON.stringify(s.error)}`);
  return s.error!;
}

function summary(s: Step): string {
  if (!s.ok) return `${s.error?.reason ?? s.error?.kind}: ${s.error?.message.slice(0, 70)}`;
  const d = s.detail ?? {};
  if ('value_bytes' in d) return `${d['object_type']} ${d['algorithm']}-${d['cryptographic_length']}, ${d['value_bytes']} bytes`;
  if ('attributes' in d) return JSON.stringify(d['attributes']).slice(0, 90);
  if ('uids' in d) return `${(d['uids'] as string[]).length} uid(s)`;
  if ('versions' in d) return `versions ${(d['versions'] as string[]).join(', ')}`;
  if ('operations' in d) return `${(d['operations'] as string[]).length} operations, ${(d['object_types'] as string[]).length} object types, vendor ${d['vendor']}`;
  if ('names' in d) return `${(d['names'] as string[]).length} attribute names`;
  if ('value_hex' in d) return `${d['object_type']} ${d['data_type']}, ${String(d['value_hex']).length / 2} bytes`;
  if ('value' in d) return `value ${JSON.stringify(d['value'])}`;
  if (typeof d['uid'] === 'string') return `uid ${d['uid']}`;
  return 'ok';
}

/** A quotable results table in the test output. */
function table(t: TestContext, title: string, r: DriverResult, expectFail: ReadonlySet<string> = new Set()): void {
  t.diagnostic(`${title}`);
  const width = Math.max(...r.steps.map((s) => s.step.length));
  for (const s of r.steps) {
    const verdict = s.ok ? (expectFail.has(s.step) ? 'UNEXPECTED OK' : 'ok') : expectFail.has(s.step) ? 'refused' : 'FAILED';
    t.diagnostic(`  ${s.step.padEnd(width)} | ${verdict.padEnd(7)} | ${summary(s)}`);
  }
}

const missing = pykmipMissing();

describe('PyKMIP interoperability', { skip: missing }, () => {
  let ts: TestServer;
  let other: ClientFiles;
  let suite: DriverResult;
  const tag = Math.random().toString(36).slice(2, 10);

  before(async () => {
    ts = await startTestServer();
    other = await ts.issue('other');
    suite = await pykmip('suite', ts.port, ts.dev, ['--tag', tag, '--version', '1.2']);
  });
  after(async () => {
    await ts?.stop();
  });

  test('the owner session: create, get, activate, attributes, locate, secret data, revoke, destroy', (t) => {
    table(t, `PyKMIP ${'suite'} (ProxyKmipClient, KMIP 1.2; secret data over 1.2)`, suite, new Set(['get after destroy']));

    const uids: Record<number, string> = {};
    for (const bits of [128, 192, 256]) {
      const made = ok<{ uid: string; name: string }>(suite, `create AES-${bits}`);
      assert.match(made.uid, /\S/);
      uids[bits] = made.uid;
      const key = ok<KeySummary>(suite, `get AES-${bits}`);
      assert.equal(key.object_type, 'SymmetricKey');
      assert.equal(key.algorithm, 'AES');
      assert.equal(key.cryptographic_length, bits);
      assert.equal(key.value_bytes, bits / 8, `AES-${bits} key material must be ${bits / 8} bytes`);
      assert.equal(key.value_hex.length, bits / 4);
    }
    assert.equal(new Set(Object.values(uids)).size, 3, 'each Create returns a new identifier');

    ok(suite, 'activate');
    const attrs = ok<{ attributes: Attrs }>(suite, 'get attributes').attributes;
    assert.deepEqual(attrs['State'], ['ACTIVE']);
    assert.deepEqual(attrs['Cryptographic Length'], [128]);
    assert.deepEqual(attrs['Cryptographic Algorithm'], ['AES']);
    assert.deepEqual(attrs['Name'], [{ value: `interop-aes128-${tag}`, type: 'UNINTERPRETED_TEXT_STRING' }]);

    assert.deepEqual(ok<{ uids: string[] }>(suite, 'locate by name').uids, [uids[128]]);

    // MongoDB-style Secret Data over KMIP 1.2, read back byte-identical
    const reg = ok<{ uid: string }>(suite, 'register secret data (1.2)');
    assert.match(reg.uid, /\S/);
    const secret = ok<{ object_type: string; data_type: string; value_hex: string }>(suite, 'get secret data (1.2)');
    assert.equal(secret.object_type, 'SecretData');
    assert.equal(secret.data_type, 'PASSWORD');
    assert.equal(secret.value_hex, suite['secret_hex'], 'Secret Data must come back byte-identical');

    ok(suite, 'revoke (key compromise)');
    assert.deepEqual(ok<{ attributes: Attrs }>(suite, 'state after revoke').attributes['State'], ['COMPROMISED']);
    ok(suite, 'destroy');
    const gone = refused(suite, 'get after destroy');
    assert.ok(gone.reason, 'a Result Reason comes with the failure');
  });

  test('custom x- attributes (Add/Modify/Delete Attribute, KMIP 1.x) and Get Attribute List', () => {
    const added = ok<{ name: string; value: unknown }>(suite, 'add attribute x-purpose');
    assert.deepEqual([added.name, added.value], ['x-purpose', 'interop']);
    assert.deepEqual(ok<{ attributes: Attrs }>(suite, 'get x-purpose').attributes['x-purpose'], ['interop']);
    assert.equal(ok<{ value: unknown }>(suite, 'modify attribute x-purpose').value, 'changed');
    assert.deepEqual(ok<{ attributes: Attrs }>(suite, 'get x-purpose after modify').attributes['x-purpose'], ['changed']);
    ok(suite, 'delete attribute x-purpose');
    assert.equal(ok<{ attributes: Attrs }>(suite, 'get x-purpose after delete').attributes['x-purpose'], undefined);
    const names = ok<{ names: string[] }>(suite, 'get attribute list').names;
    for (const n of ['Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Cryptographic Length', 'State', 'Name']) {
      assert.ok(names.includes(n), `Get Attribute List lacks ${n}: ${names.join(', ')}`);
    }
    assert.ok(!names.includes('x-purpose'), 'the deleted attribute is not listed');
  });

  test('Query, Discover Versions and Locate with Maximum Items (KMIPProxy)', () => {
    const q = ok<{ status: string; operations: string[]; object_types: string[]; vendor: string }>(suite, 'query');
    const expected = [...OPERATIONS.values()].map((o) => o.name.toUpperCase().replace(/-/g, '').replace(/ /g, '_'));
    assert.deepEqual([...q.operations].sort(), [...expected].sort(), 'Query lists exactly the implemented operations');
    for (const ot of ['SYMMETRIC_KEY', 'SECRET_DATA']) assert.ok(q.object_types.includes(ot), `Query lists ${ot}`);
    assert.equal(q.vendor, PRODUCT.vendor);

    assert.deepEqual(ok<{ versions: string[] }>(suite, 'discover versions').versions, ['1.4', '1.3', '1.2', '1.1', '1.0']);
    assert.deepEqual(ok<{ versions: string[] }>(suite, 'discover versions (1.0, 2.0 offered)').versions, ['1.0']);

    const all = ok<{ uids: string[] }>(suite, 'locate all').uids;
    const kept = (suite['kept'] as { uid: string }).uid;
    assert.ok(all.includes(kept), 'Locate lists the live keys');
    assert.ok(all.includes(ok<{ uid: string }>(suite, 'register secret data (1.2)').uid));
    assert.ok(all.length >= 3, `at least three live objects, got ${all.length}`);
    for (const max of [1, 2]) {
      const some = ok<{ uids: string[] }>(suite, `locate maximum items ${max}`).uids;
      assert.equal(some.length, max, `Maximum Items ${max}`);
      for (const u of some) assert.ok(all.includes(u));
    }
  });

  test('a second client identity is refused the first identity\'s key', async (t) => {
    const kept = suite['kept'] as { uid: string; name: string };
    ok(suite, 'activate AES-256 (kept)');
    const theirs = await pykmip('foreign', ts.port, other, ['--uid', kept.uid, '--name', kept.name]);
    const denied = ['get', 'get attributes', 'get attribute list', 'activate', 'revoke', 'destroy'];
    table(t, `PyKMIP second identity (CN=other) against ${kept.uid}`, theirs, new Set(denied));
    for (const s of denied) refused(theirs, s);
    assert.deepEqual(ok<{ uids: string[] }>(theirs, 'locate by name').uids, [], 'Locate by name does not reveal the key');
    const visible = ok<{ uids: string[] }>(theirs, 'locate all').uids;
    assert.ok(!visible.includes(kept.uid), 'Locate does not list another identity\'s key');
    const own = ok<{ uid: string }>(theirs, 'create own key').uid;
    assert.equal(ok<KeySummary>(theirs, 'get own key').value_bytes, 32);

    // The owner still has it, unchanged, and does not see the other identity's key.
    const mine = await pykmip('owner', ts.port, ts.dev, ['--uid', kept.uid]);
    table(t, 'PyKMIP owner afterwards', mine);
    const attrs = ok<{ attributes: Attrs }>(mine, 'get attributes').attributes;
    assert.deepEqual(attrs['State'], ['ACTIVE'], 'the refused Revoke/Destroy changed nothing');
    const firstRead = ok<KeySummary>(suite, 'get AES-256');
    assert.equal(ok<KeySummary>(mine, 'get').value_hex, firstRead.value_hex, 'same key material as before');
    const ownerSees = ok<{ uids: string[] }>(mine, 'locate all').uids;
    assert.ok(ownerSees.includes(kept.uid));
    assert.ok(!ownerSees.includes(own), 'isolation works both ways');
  });

  test('every protocol version 1.0 to 1.4: create, get, destroy', async (t) => {
    const r = await pykmip('versions', ts.port, ts.dev);
    table(t, 'PyKMIP per protocol version', r);
    for (const v of ['1.0', '1.1', '1.2', '1.3', '1.4']) {
      ok(r, `${v} create`);
      assert.equal(ok<KeySummary>(r, `${v} get`).value_bytes, 32);
      ok(r, `${v} destroy`);
    }
  });

  test('Encrypt and Decrypt with ProxyKmipClient: CBC/PKCS5 with a server IV, CTR with the client\'s IV, the server\'s defaults; refused before activation and when tampered', async (t) => {
    const r = await pykmip('crypto', ts.port, ts.dev);
    table(t, 'PyKMIP cryptographic services', r, new Set(['encrypt before activation', 'decrypt tampered']));
    const plaintext = r['plaintext'] as string;
    assert.match(refused(r, 'encrypt before activation').message, /Pre-Active/);
    const cbc = ok<{ data: string; iv: string }>(r, 'encrypt CBC PKCS5');
    assert.equal(cbc.iv.length, 32, 'the server generated and returned a 16-byte IV');
    assert.equal(cbc.data.length / 2, Math.ceil((plaintext.length + 1) / 16) * 16, 'PKCS#5 padded to whole blocks');
    assert.equal(ok<{ data: string }>(r, 'decrypt CBC PKCS5').data, plaintext);
    const ctr = ok<{ data: string; iv: string | null }>(r, 'encrypt CTR with IV');
    assert.equal(ctr.iv, null, 'the client\'s IV is not sent back');
    assert.equal(ctr.data.length / 2, plaintext.length);
    assert.equal(ok<{ data: string }>(r, 'decrypt CTR with IV').data, plaintext);
    const gcm = ok<{ data: string; iv: string }>(r, 'encrypt defaults');
    assert.equal(gcm.iv.length, 24, 'GCM by default: a 12-byte nonce');
    assert.equal(gcm.data.length / 2, plaintext.length + 16, 'KMIP 1.2: the GCM tag follows the ciphertext');
    assert.equal(ok<{ data: string }>(r, 'decrypt defaults').data, plaintext);
    assert.equal(refused(r, 'decrypt tampered').reason, 'CRYPTOGRAPHIC_FAILURE');
  });

  test('Username/Password credential sent by PyKMIP (server with credentials configured)', async (t) => {
    const subject = subjectFromX509(new X509Certificate(readFileSync(ts.dev.cert)));
    const cs = await startTestServer({ credentials: [{ subject, username: 'mongo', passwordHash: hashPassword('s3cret-pass') }] });
    try {
      const right = await pykmip('credential', cs.port, cs.dev, ['--username', 'mongo', '--password', 's3cret-pass']);
      const wrong = await pykmip('credential', cs.port, cs.dev, ['--username', 'mongo', '--password', 'wrong']);
      const none = await pykmip('credential', cs.port, cs.dev);
      table(t, 'PyKMIP with the right credential', right);
      table(t, 'PyKMIP with a wrong password', wrong, new Set(['query', 'create']));
      table(t, 'PyKMIP without a credential', none, new Set(['query', 'create']));
      assert.equal(ok<{ status: string }>(right, 'query').status, 'SUCCESS');
      ok(right, 'create');
      for (const r of [wrong, none]) {
        assert.equal(refused(r, 'query').reason, 'AUTHENTICATION_NOT_SUCCESSFUL');
        assert.equal(refused(r, 'create').reason, 'AUTHENTICATION_NOT_SUCCESSFUL');
      }
    } finally {
      await cs.stop();
    }
  });
});
