import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDevPki, listIssued } from '../../server/pki/index.js';
import { mode, opensslOk, removeDir, tempDir } from './helpers.js';

// Uses the default key sizes (3072 bits), as `keyhaven dev` will.
describe('ensureDevPki', () => {
  let dir: string;
  before(() => {
    dir = tempDir('dev');
  });
  after(() => removeDir(dir));

  test('first run creates CA, localhost server certificate and the dev client at the contract paths', async (t) => {
    const started = performance.now();
    const r = await ensureDevPki(dir);
    const ms = performance.now() - started;
    assert.deepEqual(r.created, { ca: true, server: true, client: true });
    assert.equal(r.caCert, path.join(dir, 'pki', 'ca.crt'));
    assert.equal(r.clientCert, path.join(dir, 'pki', 'clients', 'dev.crt'));
    assert.equal(r.clientKey, path.join(dir, 'pki', 'clients', 'dev.key'));
    assert.equal(mode(r.clientKey), 0o600);
    assert.equal(mode(r.serverKey), 0o600);
    assert.equal(mode(path.join(dir, 'pki', 'ca.key')), 0o600);
    assert.equal(mode(path.join(dir, 'pki')), 0o700);
    const server = new X509Certificate(fs.readFileSync(r.serverCert));
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    assert.equal(server.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
    const client = new X509Certificate(fs.readFileSync(r.clientCert));
    assert.equal(client.subject, 'CN=dev\nO=Keyhaven');
    assert.equal(new X509Certificate(fs.readFileSync(r.caCert)).subject, 'CN=Keyhaven CA dev\nO=Keyhaven');
    assert.match(opensslOk(['verify', '-CAfile', r.caCert, r.serverCert, r.clientCert]), /server.crt: OK[\s\S]*dev.crt: OK/);
    assert.ok(fs.existsSync(r.crl));
    t.diagnostic(`first run with three 3072-bit keys took ${Math.round(ms)} ms`);
  });

  test('later runs change nothing', async () => {
    const files = ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'crl.pem', 'index.json', 'clients/dev.crt', 'clients/dev.key'].map((f) => path.join(dir, 'pki', f));
    const before = files.map((f) => fs.readFileSync(f, 'utf8'));
    const r = await ensureDevPki(dir);
    assert.deepEqual(r.created, { ca: false, server: false, client: false });
    assert.deepEqual(files.map((f) => fs.readFileSync(f, 'utf8')), before);
    assert.equal(listIssued(dir).length, 2);
  });

  test('a missing dev client is recreated, the rest kept', async () => {
    fs.rmSync(path.join(dir, 'pki', 'clients', 'dev.key'));
    const ca = fs.readFileSync(path.join(dir, 'pki', 'ca.crt'), 'utf8');
    const r = await ensureDevPki(dir, { bits: 2048 });
    assert.deepEqual(r.created, { ca: false, server: false, client: true });
    assert.equal(fs.readFileSync(r.caCert, 'utf8'), ca);
    assert.ok(new X509Certificate(fs.readFileSync(r.clientCert)).checkPrivateKey((await import('node:crypto')).createPrivateKey(fs.readFileSync(r.clientKey))));
  });
});
