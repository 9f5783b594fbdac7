// renewServer: the same DNS names and IP addresses as the certificate in use, a new key, a new
// expiry, never beyond the CA's; checked with openssl, which parses the files independently.
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { ErrorCodes } from '../../server/errors.js';
import { initPki, issueServer, pkiPaths, renewServer, serverCertificateInfo } from '../../server/pki/index.js';
import { opensslOk, rejectsWith, removeDir, tempDir } from './helpers.js';

const DAY = 86_400_000;
const spki = (pem: string | Buffer) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('hex');

describe('renewing the server certificate', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  test('same names and addresses, new key, new serial, two years from now', async () => {
    const dir = tempDir('renew');
    dirs.push(dir);
    const p = pkiPaths(dir);
    await initPki(dir, { bits: 2048, name: 'renew' });
    await issueServer(dir, { dns: ['kms.example.net', 'kms'], ip: ['10.0.0.5', 'fd00::5'], days: 30, bits: 2048 });
    const before = serverCertificateInfo(dir);
    assert.deepEqual(before.dns, ['kms.example.net', 'kms']);
    assert.deepEqual(before.ip, ['10.0.0.5', 'fd00::5']);
    const oldKey = spki(fs.readFileSync(p.serverKey));
    const r = await renewServer(dir, { bits: 2048 });
    assert.equal(r.previous.serial, before.serial);
    assert.notEqual(r.serial, before.serial);
    assert.notEqual(r.fingerprint, before.fingerprint);
    assert.notEqual(spki(fs.readFileSync(p.serverKey)), oldKey, 'a new key');
    const x = new X509Certificate(fs.readFileSync(p.serverCert));
    assert.equal(spki(fs.readFileSync(p.serverKey)), x.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), 'the key is the certificate\'s');
    assert.equal(x.fingerprint256, r.fingerprint);
    // openssl's reading of the subjectAltName, not ours
    const text = opensslOk(['x509', '-noout', '-ext', 'subjectAltName', '-in', p.serverCert]);
    assert.match(text, /DNS:kms\.example\.net, DNS:kms, IP Address:10\.0\.0\.5, IP Address:FD00:0:0:0:0:0:0:5/i);
    assert.equal(r.days, 730);
    assert.equal(r.limitedByCa, false);
    assert.ok(Math.abs(Date.parse(x.validTo) - (Date.now() + 730 * DAY)) < 5 * 60_000, x.validTo);
    assert.deepEqual(serverCertificateInfo(dir).dns, before.dns);
  });

  test('a CA with less than two years left: the renewal ends a day before the CA', async () => {
    const dir = tempDir('renew-ca');
    dirs.push(dir);
    await initPki(dir, { bits: 2048, name: 'short', days: 100 });
    await issueServer(dir, { dns: ['kms'], days: 50, bits: 2048 });
    const r = await renewServer(dir, { bits: 2048 });
    assert.equal(r.limitedByCa, true);
    assert.ok(r.days >= 98 && r.days <= 99, String(r.days));
    const ca = new X509Certificate(fs.readFileSync(pkiPaths(dir).caCert));
    assert.ok(r.notAfter.getTime() < Date.parse(ca.validTo));
  });

  test('no server certificate yet: a clear refusal', async () => {
    const dir = tempDir('renew-none');
    dirs.push(dir);
    await initPki(dir, { bits: 2048, name: 'none' });
    await rejectsWith(() => renewServer(dir), ErrorCodes.PKI_NOT_INITIALISED, /first boot creates it/);
  });
});
