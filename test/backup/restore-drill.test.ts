// The restore drill: a server with 10,000 objects of several types (AES keys created and registered,
// secret data, X.509 certificates) in every state (pre-active, active, deactivated, compromised,
// destroyed) and a revoked client certificate, backed up while serving and restored onto a fresh
// data directory. Every object is read through KMIP from both — Get and Get Attributes, the whole
// response payloads compared byte for byte (a destroyed one refused alike) — both audit chains
// verify, and the revoked client is refused by the restored server as by the original.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../server/config.js';
import { encode } from '../../server/kmip/encode.js';
import { byteString, enumeration, structure, textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { revoke } from '../../server/pki/index.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { attribute, av, createAes, field, withUid, type BatchItemSpec } from '../support/requests.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { registerAes, registerSecret, runCli, send } from '../store/helpers.js';

const OBJECTS = 10_000;
const BATCH = 50;
const Op = Enum.Operation;
const work = mkdtempSync(join(tmpdir(), 'keyhaven-drill-'));
let ts: TestServer;
let restored: RunningServer | undefined;
let revoked: ClientFiles;

function registerCertificate(der: Buffer, name: string): BatchItemSpec {
  return {
    operation: Op.Register,
    payload: [
      enumeration(Tag.ObjectType, Enum.ObjectType.Certificate),
      structure(Tag.TemplateAttribute, [attribute('Name', structure(Tag.AttributeValue, [textString(Tag.NameValue, name), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]))]),
      structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X509), byteString(Tag.CertificateValue, der)]),
    ],
  };
}

const pemToDer = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
const revokeItem = (uid: string, reason: number) =>
  withUid(Op.Revoke, uid, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, reason)])]);

/** Sends items in batches; returns each item's result. */
async function batched(c: KmipTestClient, items: BatchItemSpec[]) {
  const out = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(...(await send(c, items.slice(i, i + BATCH))).items);
  return out;
}

before(async () => {
  ts = await startTestServer();
  revoked = await ts.issue('leaver');
  await revoke(ts.dir, { name: 'leaver' }, 'keyCompromise');
  ts.server.reloadTls();
});

after(async () => {
  await restored?.close();
  await ts?.stop();
  rmSync(work, { recursive: true, force: true });
});

test(`restore drill: ${OBJECTS} objects of several types and states, byte for byte from both servers`, { timeout: 900_000 }, async (t) => {
  const c = await ts.client();
  const certDer = pemToDer(readFileSync(ts.dev.cert, 'utf8'));
  const makes: BatchItemSpec[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    const k = i % 10;
    makes.push(k < 4 ? createAes(256) : k < 6 ? createAes(128) : k < 8 ? registerSecret(randomBytes(24)) : k < 9 ? registerAes(randomBytes(32)) : registerCertificate(certDer, `cert-${i}`));
  }
  const t0 = Date.now();
  const uids = (await batched(c, makes)).map((r, i) => {
    assert.equal(r.status, Enum.ResultStatus.Success, `object ${i}: ${r.message}`);
    return field<string>(r.payload, Tag.UniqueIdentifier)!;
  });
  // States: a fifth each stays pre-active, is activated, activated then deactivated, activated then compromised, destroyed.
  const activate = uids.filter((_, i) => i % 5 >= 1 && i % 5 <= 3);
  for (const r of await batched(c, activate.map((u) => withUid(Op.Activate, u)))) assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  const deactivate = activate.filter((_, j) => j % 3 === 1);
  const compromise = activate.filter((_, j) => j % 3 === 2);
  for (const r of await batched(c, deactivate.map((u) => revokeItem(u, Enum.RevocationReasonCode.CessationOfOperation)))) assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  for (const r of await batched(c, compromise.map((u) => revokeItem(u, Enum.RevocationReasonCode.KeyCompromise)))) assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  const destroy = uids.filter((_, i) => i % 5 === 4);
  for (const r of await batched(c, destroy.map((u) => withUid(Op.Destroy, u)))) assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  t.diagnostic(`${OBJECTS} objects made and put in their states in ${Date.now() - t0} ms: ${activate.length} activated (${deactivate.length} then deactivated, ${compromise.length} compromised), ${destroy.length} destroyed`);

  const init = await runCli(['backup', 'init', '--data-dir', ts.dir]);
  assert.equal(init.code, 0, init.stderr);
  const shares = init.stdout.trim().split('\n').slice(0, 2).join('\n');
  const file = join(work, 'drill.khbak');
  let t1 = Date.now();
  const made = await runCli(['backup', 'create', '--data-dir', ts.dir, '--out', file], 300_000);
  assert.equal(made.code, 0, made.stderr);
  const backupMs = Date.now() - t1;
  const dir = join(work, 'restored');
  t1 = Date.now();
  const r = await runCli(['backup', 'restore', '--file', file, '--data-dir', dir], 300_000, shares);
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`backup ${backupMs} ms (${readFileSync(file).length} bytes); restore ${Date.now() - t1} ms (both through the CLI, process start included)`);

  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'drill');
  config.listeners.kmip.port = 0;
  restored = await startServer(config, pino({ level: 'silent' }));
  const c2 = await KmipTestClient.connect(restored.kmip.port, ts.dev);
  let same = 0;
  let refused = 0;
  /** Sends the same items to both; compares every result, the whole payload when it succeeded. */
  const compare = async (items: BatchItemSpec[], what: string) => {
    const [a, b] = [await send(c, items), await send(c2, items)];
    assert.equal(a.items.length, items.length, what);
    assert.equal(b.items.length, items.length, what);
    for (let j = 0; j < items.length; j++) {
      const [x, y] = [a.items[j]!, b.items[j]!];
      assert.equal(y.status, x.status, `${what} item ${j}: status`);
      if (x.status === Enum.ResultStatus.Success) {
        assert.ok(encode(y.payload!).equals(encode(x.payload!)), `${what} item ${j}: payloads differ`);
        same++;
      } else {
        assert.equal(y.reason, x.reason, `${what} item ${j}: reason`);
        refused++;
      }
    }
  };
  const gone = new Set(destroy);
  const live = uids.filter((u) => !gone.has(u));
  // Two items per object, half a batch of objects per request (the server takes 64 items at most).
  for (let i = 0; i < live.length; i += BATCH / 2) {
    await compare(live.slice(i, i + BATCH / 2).flatMap((u) => [withUid(Op.Get, u), withUid(Op.GetAttributes, u)]), `objects ${i}…`);
  }
  // A destroyed object's Get fails (and would stop a batch): one request each.
  for (const u of destroy) {
    await compare([withUid(Op.Get, u)], `${u} (destroyed) Get`);
    await compare([withUid(Op.GetAttributes, u)], `${u} (destroyed) Get Attributes`);
  }
  c.close();
  c2.close();
  assert.equal(refused, destroy.length, 'only the destroyed objects are refused (their Get), on both');
  t.diagnostic(`${same} Get/Get Attributes payloads identical, ${refused} refused alike (destroyed)`);

  for (const d of [ts.dir, dir]) {
    const v = await runCli(['audit', 'verify', '--data-dir', d]);
    assert.equal(v.code, 0, `${d}: ${v.stderr}`);
  }
  // The revoked client: refused by the original and by the restored server.
  for (const port of [ts.port, restored.kmip.port]) {
    await assert.rejects(
      (async () => {
        const x = await KmipTestClient.connect(port, revoked);
        try {
          await send(x, [withUid(Op.Get, uids[0]!)]);
        } finally {
          x.close();
        }
      })(),
      `port ${port} served a revoked client`,
    );
  }
});
