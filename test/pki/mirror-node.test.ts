// The mirror node certificate: issued once for a group and node, kept while it is valid for more than
// NODE_RENEW_BEFORE_DAYS, replaced (new key, new serial, still the node's URI) once it is that close
// to its end, and issued anew for another node or group.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { initPki } from '../../server/pki/index.js';
import { ensureNodeCertificate, mirrorNodeOf, NODE_RENEW_BEFORE_DAYS } from '../../server/pki/mirror-node.js';
import { removeDir, tempDir } from './helpers.js';

const DAY = 86_400_000;
const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

test('a node certificate is kept while valid, renewed when close to its end, reissued for another node', async () => {
  const dir = tempDir('mirror-node');
  dirs.push(dir);
  await initPki(dir, { bits: 2048, name: 'node' });
  const first = await ensureNodeCertificate(dir, 'g1', 'n1');
  assert.equal(first.issued, true);
  const x1 = new X509Certificate(fs.readFileSync(first.cert));
  assert.deepEqual(mirrorNodeOf(x1), { group: 'g1', node: 'n1' });
  const end = Date.parse(x1.validTo);

  const again = await ensureNodeCertificate(dir, 'g1', 'n1');
  assert.equal(again.issued, false, 'valid for two years: kept');
  // One day before the renewal window: kept; inside it: replaced.
  assert.equal((await ensureNodeCertificate(dir, 'g1', 'n1', end - (NODE_RENEW_BEFORE_DAYS + 1) * DAY)).issued, false);
  const key1 = fs.readFileSync(first.key, 'utf8');
  const renewed = await ensureNodeCertificate(dir, 'g1', 'n1', end - (NODE_RENEW_BEFORE_DAYS - 1) * DAY);
  assert.equal(renewed.issued, true, 'inside the renewal window: replaced');
  const x2 = new X509Certificate(fs.readFileSync(renewed.cert));
  assert.notEqual(x2.serialNumber, x1.serialNumber);
  assert.notEqual(fs.readFileSync(renewed.key, 'utf8'), key1, 'a new key');
  assert.ok(x2.checkPrivateKey((await import('node:crypto')).createPrivateKey(fs.readFileSync(renewed.key))), 'the key is the certificate\'s');
  assert.deepEqual(mirrorNodeOf(x2), { group: 'g1', node: 'n1' });
  // Past its end (a server that was off for long): replaced too.
  assert.equal((await ensureNodeCertificate(dir, 'g1', 'n1', Date.parse(x2.validTo) + DAY)).issued, true);
  // Another node or group: a certificate of its own.
  const other = await ensureNodeCertificate(dir, 'g1', 'n2');
  assert.equal(other.issued, true);
  assert.deepEqual(mirrorNodeOf(new X509Certificate(fs.readFileSync(other.cert))), { group: 'g1', node: 'n2' });
});
