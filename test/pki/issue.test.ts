import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes } from '../../server/errors.js';
import { initPki, issueClient, issueServer, listIssued, pkiPaths, revoke, type IssuedCertificate, type PkiIndex } from '../../server/pki/index.js';
import { withLock } from '../../server/pki/store.js';
import { allFiles, mode, openssl, opensslOk, rejectsWith, removeDir, tempDir } from './helpers.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY = 86_400_000;

function readIndex(dir: string): PkiIndex {
  return JSON.parse(fs.readFileSync(pkiPaths(dir).index, 'utf8')) as PkiIndex;
}

describe('CA, server and client certificates', () => {
  let dir: string;
  let p: ReturnType<typeof pkiPaths>;
  before(async () => {
    dir = tempDir('issue');
    p = pkiPaths(dir);
    await initPki(dir, { bits: 2048, name: 'test' });
  });
  after(() => removeDir(dir));

  test('init lays out the directory with tight modes', () => {
    assert.equal(mode(p.root), 0o700);
    assert.equal(mode(p.clientsDir), 0o700);
    assert.equal(mode(p.caKey), 0o600);
    assert.equal(mode(p.index), 0o600);
    assert.equal(mode(p.caCert), 0o644);
    assert.ok(fs.existsSync(p.crl), 'crl.pem exists from the start');
    assert.deepEqual(readIndex(dir), { version: 1, crlNumber: 1, certificates: [] });
    assert.ok(!fs.existsSync(p.lock), 'lock released');
  });

  test('the CA certificate', () => {
    const ca = new X509Certificate(fs.readFileSync(p.caCert));
    assert.equal(ca.subject, 'CN=Keyhaven CA test\nO=Keyhaven');
    assert.equal(ca.issuer, ca.subject);
    assert.equal(ca.ca, true);
    const days = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / DAY;
    assert.ok(days > 3649 && days < 3651, `CA valid ${days} days`);
    const text = opensslOk(['x509', '-in', p.caCert, '-noout', '-text']);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    const serial = BigInt(`0x${ca.serialNumber}`);
    assert.ok(serial > 0n && ca.serialNumber.length <= 32);
  });

  test('init refuses to overwrite an existing CA', async () => {
    await rejectsWith(() => initPki(dir, { bits: 2048 }), ErrorCodes.PKI_ALREADY_EXISTS, /move .* away/);
  });

  test('server certificate: SANs, EKUs, chain, validity, modes', async () => {
    const r = await issueServer(dir, { dns: ['KMS.example.com', 'localhost'], ip: ['127.0.0.1', '::1', '2001:db8::7', '::ffff:10.0.0.1'], bits: 2048 });
    assert.equal(r.certPath, p.serverCert);
    assert.equal(mode(p.serverKey), 0o600);
    assert.equal(mode(p.serverCert), 0o644);
    const x = new X509Certificate(fs.readFileSync(p.serverCert));
    assert.equal(x.subject, 'CN=kms.example.com\nO=Keyhaven');
    assert.equal(r.subject, 'CN=kms.example.com,O=Keyhaven');
    assert.deepEqual([...(x.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
    assert.equal(x.checkHost('kms.example.com'), 'kms.example.com');
    assert.equal(x.checkHost('localhost'), 'localhost');
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkIP('::1'), '::1');
    assert.equal(x.checkIP('2001:db8::7'), '2001:db8::7');
    assert.equal(x.checkIP('10.0.0.2'), undefined);
    assert.equal(x.fingerprint256, r.fingerprint);
    assert.equal(x.serialNumber.toLowerCase(), r.serial);
    assert.ok(!(parseInt(r.serial.slice(0, 2), 16) & 0x80) && r.serial.length === 32, 'positive 16-byte serial');
    const days = (Date.parse(x.validTo) - Date.now()) / DAY;
    assert.ok(days > 729 && days < 731);
    assert.ok(Date.parse(x.validFrom) < Date.now() - 60_000, 'notBefore is backdated');
    assert.match(opensslOk(['verify', '-CAfile', p.caCert, p.serverCert]), /: OK/);
    const text = opensslOk(['x509', '-in', p.serverCert, '-noout', '-text']);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, /DNS:kms.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:7, IP Address:0:0:0:0:0:FFFF:A00:1/);
    // authorityKeyIdentifier = the CA's subjectKeyIdentifier
    const caText = opensslOk(['x509', '-in', p.caCert, '-noout', '-ext', 'subjectKeyIdentifier']);
    const ski = caText.split('\n')[1]!.trim();
    assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
    const entry = readIndex(dir).certificates.find((c) => c.serial === r.serial)!;
    assert.deepEqual(
      { kind: entry.kind, name: entry.name, subject: entry.subject, fingerprint: entry.fingerprint, file: entry.file, source: entry.source },
      { kind: 'server', name: 'server', subject: r.subject, fingerprint: r.fingerprint, file: 'server.crt', source: 'generated' },
    );
  });

  test('server certificate: refuses to replace without force; force says the old one stays valid', async () => {
    await rejectsWith(() => issueServer(dir, { dns: ['x.example'], bits: 2048 }), ErrorCodes.PKI_ALREADY_EXISTS, /--force/);
    const before = new X509Certificate(fs.readFileSync(p.serverCert));
    const r = await issueServer(dir, { dns: ['y.example'], bits: 2048, days: 825, force: true });
    assert.equal(r.stillValid.length, 1);
    assert.equal(r.stillValid[0]!.serial, before.serialNumber.toLowerCase());
    assert.equal(new X509Certificate(fs.readFileSync(p.serverCert)).subject, 'CN=y.example\nO=Keyhaven');
  });

  test('server certificate: input errors', async () => {
    const bad = (opts: Parameters<typeof issueServer>[1], msg: RegExp) => rejectsWith(() => issueServer(dir, { bits: 2048, force: true, ...opts }), ErrorCodes.PKI_BAD_INPUT, msg);
    await bad({}, /at least one DNS name/);
    await bad({ dns: ['a_b.example'] }, /not a valid host name/);
    await bad({ dns: ['-a.example'] }, /not a valid host name/);
    await bad({ dns: ['a..b'] }, /not a valid host name/);
    await bad({ dns: [`${'a'.repeat(64)}.example`] }, /not a valid host name/);
    await bad({ dns: ['10.0.0.1'] }, /--ip/);
    await bad({ ip: ['300.1.1.1'] }, /not an IPv4 or IPv6 address/);
    await bad({ ip: ['fe80::1%eth0'] }, /not an IPv4 or IPv6 address/);
    await bad({ dns: ['ok.example'], days: 826 }, /1 to 825/);
    await bad({ dns: ['ok.example'], days: 0 }, /1 to 825/);
    await bad({ dns: ['ok.example'], bits: 1024 as 2048 }, /RSA key size/);
  });

  test('client certificate: PEM pair and PKCS#12 that openssl opens', async () => {
    const r = await issueClient(dir, { name: 'mongo-1', bits: 2048, dns: ['db1.example.com'], email: ['ops@example.com'], p12Password: 'p12 secret!' });
    const files = { crt: path.join(p.clientsDir, 'mongo-1.crt'), key: path.join(p.clientsDir, 'mongo-1.key'), p12: path.join(p.clientsDir, 'mongo-1.p12') };
    assert.deepEqual([r.certPath, r.keyPath, r.p12Path], [files.crt, files.key, files.p12]);
    assert.equal(mode(files.key), 0o600);
    assert.equal(mode(files.p12), 0o600);
    const x = new X509Certificate(fs.readFileSync(files.crt));
    assert.equal(x.subject, 'CN=mongo-1\nO=Keyhaven');
    assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
    assert.equal(x.subjectAltName, 'DNS:db1.example.com, email:ops@example.com');
    assert.match(opensslOk(['verify', '-CAfile', p.caCert, '-purpose', 'sslclient', files.crt]), /: OK/);
    assert.notEqual(openssl(['verify', '-CAfile', p.caCert, '-purpose', 'sslserver', files.crt]).status, 0, 'not usable as a server certificate');

    opensslOk(['pkcs12', '-in', files.p12, '-passin', 'pass:p12 secret!', '-noout']);
    assert.notEqual(openssl(['pkcs12', '-in', files.p12, '-passin', 'pass:wrong', '-noout']).status, 0);
    const certs = opensslOk(['pkcs12', '-in', files.p12, '-passin', 'pass:p12 secret!', '-nokeys']);
    assert.equal(certs.match(/BEGIN CERTIFICATE/g)?.length, 2, 'certificate and CA certificate');
    assert.match(certs, /friendlyName: mongo-1/);
    const keyOut = opensslOk(['pkcs12', '-in', files.p12, '-passin', 'pass:p12 secret!', '-nocerts', '-nodes']);
    const modulus = (args: string[], input: string) => opensslOk(args, input).trim();
    assert.equal(
      modulus(['rsa', '-noout', '-modulus'], keyOut.slice(keyOut.indexOf('-----BEGIN'))),
      modulus(['x509', '-noout', '-modulus'], fs.readFileSync(files.crt, 'utf8')),
    );
    // the PEM key is PKCS#8 and matches the certificate
    const keyPem = fs.readFileSync(files.key, 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(keyPem)));
  });

  test('client certificate: one valid certificate per name unless re-issued; issue again after revocation', async () => {
    const first = await issueClient(dir, { name: 'dup', bits: 2048, p12Password: 'x' });
    await rejectsWith(() => issueClient(dir, { name: 'dup', bits: 2048 }), ErrorCodes.PKI_ALREADY_EXISTS, /revoke it first/);
    // --force covers the name only; the same subject (the client identity) needs --reissue
    await rejectsWith(() => issueClient(dir, { name: 'dup', bits: 2048, force: true }), ErrorCodes.PKI_SUBJECT_IN_USE, /--reissue/);
    const forced = await issueClient(dir, { name: 'dup', bits: 2048, reissue: true });
    assert.deepEqual(forced.stillValid.map((c) => c.serial), [first.serial]);
    assert.deepEqual(forced.reissues, [first.serial]);
    assert.ok(!fs.existsSync(path.join(p.clientsDir, 'dup.p12')), 'the stale PKCS#12 of the old key is removed');
    await revoke(dir, { name: 'dup' }, 'superseded');
    const again = await issueClient(dir, { name: 'dup', bits: 2048 });
    assert.deepEqual(again.stillValid, []);
  });

  test('client certificate: input errors', async () => {
    const bad = (opts: Partial<Parameters<typeof issueClient>[1]>, msg: RegExp) =>
      rejectsWith(() => issueClient(dir, { name: 'ok', bits: 2048, ...opts }), ErrorCodes.PKI_BAD_INPUT, msg);
    for (const name of ['', '../x', '.hidden', 'a/b', 'a b', 'x'.repeat(65), 'tab\tname']) await bad({ name }, /client name .* is not valid/);
    await bad({ commonName: 'x'.repeat(65) }, /longer than 64/);
    await bad({ commonName: 'bell\u0007' }, /control characters/);
    await bad({ commonName: '   ' }, /must not be empty/);
    await bad({ organization: '' }, /must not be empty/);
    await bad({ email: ['no-at-sign'] }, /e-mail/);
    await bad({ days: 3651 }, /1 to 3650/);
    await bad({ days: 1.5 }, /whole number/);
    await bad({ p12Password: '' }, /must not be empty/);
    await bad({ p12Password: 'pässword' }, /printable ASCII/);
  });

  test('a certificate cannot outlive the CA', async () => {
    const short = tempDir('shortca');
    try {
      await initPki(short, { bits: 2048, days: 30 });
      await rejectsWith(() => issueClient(short, { name: 'c', bits: 2048, days: 31 }), ErrorCodes.PKI_BAD_INPUT, /outlive the CA.*at most 29 days/);
      await issueClient(short, { name: 'c', bits: 2048, days: 29 });
    } finally {
      removeDir(short);
    }
  });

  test('default key sizes are 3072 bits', async () => {
    const r = await issueClient(dir, { name: 'default-size' });
    const x = new X509Certificate(fs.readFileSync(r.certPath));
    assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  });

  test('listIssued reports status; index holds every certificate', () => {
    const list = listIssued(dir);
    const idx = readIndex(dir);
    assert.equal(list.length, idx.certificates.length);
    const byStatus = (s: string) => list.filter((c) => c.status === s).map((c) => c.name);
    assert.ok(byStatus('revoked').includes('dup'));
    assert.ok(byStatus('valid').includes('mongo-1'));
    assert.equal(listIssued(dir, new Date(Date.now() + 4000 * DAY)).filter((c) => c.status === 'valid').length, 0);
    for (const c of idx.certificates as IssuedCertificate[]) {
      assert.match(c.serial, /^[0-9a-f]+$/);
      assert.match(c.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.ok(fs.existsSync(path.join(p.root, c.file)) || c.name === 'server' || c.name === 'dup');
    }
  });

  test('nothing is left behind: no temporary files, no lock, keys 0600', () => {
    const files = allFiles(p.root);
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp') || path.basename(f) === '.lock'), []);
    for (const f of files.filter((f) => /\.(key|p12)$/.test(f))) assert.equal(mode(f), 0o600, f);
  });

  test('before init: a clear error', async () => {
    const empty = tempDir('empty');
    try {
      await rejectsWith(() => issueClient(empty, { name: 'x', bits: 2048 }), ErrorCodes.PKI_NOT_INITIALISED, /run `keyhaven pki init --dir .*` first/);
      await rejectsWith(() => issueServer(empty, { dns: ['x.example'], bits: 2048 }), ErrorCodes.PKI_NOT_INITIALISED);
      assert.throws(() => listIssued(empty), { code: ErrorCodes.PKI_NOT_INITIALISED });
      await rejectsWith(() => revoke(empty, { name: 'x' }), ErrorCodes.PKI_NOT_INITIALISED, /keyhaven pki init/);
      assert.ok(!fs.existsSync(path.join(empty, 'pki')), 'a failed command creates nothing');
    } finally {
      removeDir(empty);
    }
  });
});

describe('lock', () => {
  let dir: string;
  before(async () => {
    dir = tempDir('lock');
    await initPki(dir, { bits: 2048 });
  });
  after(() => removeDir(dir));

  test('concurrent commands are serialised and all land in the index', async () => {
    const names = ['c1', 'c2', 'c3', 'c4'];
    await Promise.all(names.map((name) => issueClient(dir, { name, bits: 2048 })));
    const idx = readIndex(dir);
    assert.deepEqual(idx.certificates.map((c) => c.name).sort(), names);
  });

  test('a held lock makes others wait, then fail with PKI_LOCKED', async () => {
    const p = pkiPaths(dir);
    let release!: () => void;
    const held = withLock(p, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    await rejectsWith(() => revoke(dir, { name: 'c1' }, 'unspecified', { lock: { waitMs: 300 } }), ErrorCodes.PKI_LOCKED, /is locked by another keyhaven pki command \(pid \d+ since/);
    const waiting = revoke(dir, { name: 'c1' }, 'unspecified', { lock: { waitMs: 5000 } });
    setTimeout(() => release(), 200);
    await held;
    const r = await waiting;
    assert.equal(r.revoked.length, 1);
  });

  test('a stale lock of a dead process is taken over with a message', async () => {
    const p = pkiPaths(dir);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    fs.writeFileSync(p.lock, JSON.stringify({ pid: deadPid, created: new Date(Date.now() - 120_000).toISOString() }));
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(p.lock, old, old);
    const messages: string[] = [];
    const r = await revoke(dir, { name: 'c2' }, 'unspecified', { lock: { waitMs: 2000, onMessage: (m) => messages.push(m) } });
    assert.equal(r.revoked.length, 1);
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, new RegExp(`taking over stale lock .*pid ${deadPid}, not running`));
    assert.ok(!fs.existsSync(p.lock));
  });

  test('a fresh lock of a dead process is not taken over before staleMs', async () => {
    const p = pkiPaths(dir);
    fs.writeFileSync(p.lock, JSON.stringify({ pid: 2 ** 22 + 12345, created: new Date().toISOString() }));
    try {
      await rejectsWith(() => revoke(dir, { name: 'c3' }, 'unspecified', { lock: { waitMs: 200 } }), ErrorCodes.PKI_LOCKED, /not running.*remove/);
    } finally {
      fs.rmSync(p.lock, { force: true });
    }
  });
});
