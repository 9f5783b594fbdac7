// A client's identity on the KMIP server is the rendered subject of its certificate (subject.ts), and
// its objects belong to that identity. These tests reproduce the ways the CA could hand an existing
// identity to someone else — a CSR for that subject, a multi-valued RDN flattened to it, `pki client
// --cn` — and check that each is refused unless a re-issue is asked for, and reported when it is.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { ErrorCodes } from '../../server/errors.js';
import {
  clientIdentity,
  generateRsaKey,
  initPki,
  issueClient,
  issueServer,
  pkiPaths,
  revoke,
  runPkiCli,
  signCsr,
  type IssueResult,
  type PkiIndex,
} from '../../server/pki/index.js';
import { Capture, opensslCsr, rejectsWith, removeDir, tempDir } from './helpers.js';

const DAY = 86_400_000;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runPkiCli(args, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

describe('a certificate never hands out an identity that is in use', () => {
  let dir: string;
  let p: ReturnType<typeof pkiPaths>;
  let dev: IssueResult;
  let server: IssueResult;

  const index = (): PkiIndex => JSON.parse(fs.readFileSync(p.index, 'utf8')) as PkiIndex;
  const csr = (name: string, subj: string, ...more: string[]): string => opensslCsr(dir, name, ['-newkey', 'rsa:2048', '-subj', subj, ...more]);

  before(async () => {
    dir = tempDir('identity');
    p = pkiPaths(dir);
    await initPki(dir, { bits: 2048, name: 'identity' });
    [dev, server] = await Promise.all([
      issueClient(dir, { name: 'dev', bits: 2048 }),
      issueServer(dir, { dns: ['kms.example.com'], ip: ['192.0.2.10'], bits: 2048 }),
    ]);
    assert.equal(dev.subject, 'CN=dev,O=Keyhaven');
  });
  after(() => removeDir(dir));

  test("a CSR for an existing client's subject is refused, naming the holder; with reissue it is signed and reported", async () => {
    const pem = csr('clone', '/CN=dev/O=Keyhaven');
    const before = index().certificates.length;
    const err = await rejectsWith(() => signCsr(dir, pem), ErrorCodes.PKI_SUBJECT_IN_USE);
    assert.match(err.message, /CN=dev,O=Keyhaven/);
    assert.match(err.message, new RegExp(`'dev'.*serial ${dev.serial}.*valid until ${dev.notAfter.toISOString().slice(0, 10)}`));
    assert.match(err.message, /--reissue/);
    assert.match(err.message, /revoke/);
    assert.equal(index().certificates.length, before, 'nothing filed');
    assert.ok(!fs.existsSync(p.signedDir) || fs.readdirSync(p.signedDir).length === 0, 'nothing written to signed/');

    const r = await signCsr(dir, pem, { reissue: true });
    assert.deepEqual(r.reissues, [dev.serial]);
    // the re-issued certificate is, on the wire, the same identity: that is what re-issue means
    assert.equal(clientIdentity(new X509Certificate(r.certPem)), dev.subject);
    assert.equal(index().certificates.length, before + 1);
    // the holder is now the re-issued one as well: a further CSR is refused naming both
    const again = await rejectsWith(() => signCsr(dir, csr('clone2', '/CN=dev/O=Keyhaven')), ErrorCodes.PKI_SUBJECT_IN_USE);
    assert.ok(again.message.includes(dev.serial) && again.message.includes(r.serial), again.message);
    await revoke(dir, { serial: r.serial }, 'superseded');
  });

  test('the same subject in other string encodings (BMPString, PrintableString) is the same identity', async () => {
    const key = await generateRsaKey(2048);
    const req = forge.pki.createCertificationRequest();
    req.publicKey = key.publicKey;
    const bmp = Buffer.from('dev', 'utf16le').swap16().toString('binary');
    req.setSubject([
      { type: '2.5.4.3', value: bmp, valueTagClass: 30 as forge.asn1.Class }, // BMPString
      { type: '2.5.4.10', value: 'Keyhaven', valueTagClass: 19 as forge.asn1.Class }, // PrintableString
    ]);
    req.sign(key.privateKey, forge.md.sha256.create());
    await rejectsWith(() => signCsr(dir, forge.pki.certificationRequestToPem(req)), ErrorCodes.PKI_SUBJECT_IN_USE, /CN=dev,O=Keyhaven.*'dev'/);
  });

  test('a CSR whose common name override lands on an existing subject is refused too', async () => {
    const pem = csr('override', '/CN=placeholder/O=Keyhaven');
    await rejectsWith(() => signCsr(dir, pem, { commonName: 'dev' }), ErrorCodes.PKI_SUBJECT_IN_USE, /'dev'/);
  });

  test('a multi-valued RDN (O=Keyhaven+CN=dev) is refused rather than flattened to CN=dev,O=Keyhaven', async () => {
    const flattened = csr('mv-dev', '/O=Keyhaven+CN=dev', '-multivalue-rdn');
    await rejectsWith(() => signCsr(dir, flattened), ErrorCodes.PKI_BAD_CSR, /multi-valued RDN.*O=Keyhaven\+CN=dev|multi-valued RDN.*CN=dev\+O=Keyhaven/);
    await rejectsWith(() => signCsr(dir, flattened, { reissue: true }), ErrorCodes.PKI_BAD_CSR, /multi-valued/);
    // refused for what it is, not only because it collides
    const fresh = csr('mv-fresh', '/O=Example+CN=fresh-host', '-multivalue-rdn');
    await rejectsWith(() => signCsr(dir, fresh), ErrorCodes.PKI_BAD_CSR, /multi-valued RDN.*one attribute per RDN/);
  });

  test('`pki client --name devclone --cn dev` is refused while dev holds CN=dev,O=Keyhaven; --reissue allows it', async () => {
    await rejectsWith(() => issueClient(dir, { name: 'devclone', commonName: 'dev', bits: 2048 }), ErrorCodes.PKI_SUBJECT_IN_USE, new RegExp(`'dev'.*${dev.serial}`));
    // --force is about the file name, not the identity
    await rejectsWith(() => issueClient(dir, { name: 'devclone', commonName: 'dev', bits: 2048, force: true }), ErrorCodes.PKI_SUBJECT_IN_USE);
    // the same name again is still PKI_ALREADY_EXISTS first
    await rejectsWith(() => issueClient(dir, { name: 'dev', bits: 2048 }), ErrorCodes.PKI_ALREADY_EXISTS, /already has a valid certificate.*--reissue/);
    await rejectsWith(() => issueClient(dir, { name: 'dev', bits: 2048, force: true }), ErrorCodes.PKI_SUBJECT_IN_USE, /--reissue/);
    assert.ok(!fs.existsSync(path.join(p.clientsDir, 'devclone.crt')), 'no files for a refused client');

    const refused = await cli('client', '--dir', dir, '--name', 'devclone', '--cn', 'dev', '--bits', '2048');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /CN=dev,O=Keyhaven.*'dev'.*--reissue.*\[KH_PKI_SUBJECT_IN_USE\]/);

    const ok = await cli('client', '--dir', dir, '--name', 'devclone', '--cn', 'dev', '--bits', '2048', '--reissue');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`re-issues +${dev.serial} \\('dev', valid until`));
    const entry = index().certificates.find((c) => c.name === 'devclone')!;
    assert.equal(entry.subject, dev.subject);
    await revoke(dir, { name: 'devclone' }, 'superseded');
  });

  test('a revoked or an expired holder does not block the subject', async () => {
    const revoked = await issueClient(dir, { name: 'gone', bits: 2048 });
    await revoke(dir, { name: 'gone' }, 'cessationOfOperation');
    const r = await signCsr(dir, csr('gone', '/CN=gone/O=Keyhaven'));
    assert.equal(r.subject, revoked.subject);
    assert.deepEqual(r.reissues, []);

    const now = Date.now();
    const expired = await issueClient(dir, { name: 'old', bits: 2048, days: 1, now: new Date(now - 3 * DAY) });
    assert.ok(expired.notAfter.getTime() < now);
    const fresh = await issueClient(dir, { name: 'new', commonName: 'old', bits: 2048 });
    assert.equal(fresh.subject, expired.subject);
    assert.deepEqual(fresh.reissues, []);
  });

  test("the server's and the CA's subjects are never given to a client, not even as a re-issue", async () => {
    assert.equal(server.subject, 'CN=kms.example.com,O=Keyhaven');
    for (const reissue of [false, true]) {
      await rejectsWith(() => signCsr(dir, csr('srv', '/CN=kms.example.com/O=Keyhaven'), { reissue }), ErrorCodes.PKI_SUBJECT_IN_USE, /server certificate.*never/);
      await rejectsWith(() => signCsr(dir, csr('ca', '/CN=Keyhaven CA identity/O=Keyhaven'), { reissue }), ErrorCodes.PKI_SUBJECT_IN_USE, /CA.*never/);
      await rejectsWith(() => issueClient(dir, { name: 'srvclone', commonName: 'kms.example.com', bits: 2048, reissue }), ErrorCodes.PKI_SUBJECT_IN_USE, /server certificate/);
    }
    // and the other way round: a server certificate does not take a client's identity
    await rejectsWith(() => issueServer(dir, { dns: ['dev'], bits: 2048, force: true }), ErrorCodes.PKI_SUBJECT_IN_USE, /'dev'/);
  });

  test('CLI sign-csr shows subject and subjectAltNames before signing, and which certificate --reissue re-issues', async () => {
    const file = path.join(dir, 'vc.csr');
    csr('vc', '/O=Example/CN=vcenter.example.com', '-addext', 'subjectAltName=DNS:vcenter.example.com,DNS:*.example.com,IP:10.1.2.3');
    const out = path.join(dir, 'vc.crt');
    const first = await cli('sign-csr', '--dir', dir, '--csr', file, '--out', out);
    assert.equal(first.code, 0, first.err);
    const lines = first.out.split('\n');
    const shown = lines.findIndex((l) => /^ {2}subject +O=Example,CN=vcenter.example.com$/.test(l));
    const signed = lines.findIndex((l) => /^signed the certificate request/.test(l));
    assert.ok(shown >= 0 && shown < signed, `the subject is shown before signing:\n${first.out}`);
    assert.match(first.out, /altNames +DNS:vcenter.example.com, IP:10.1.2.3/);
    assert.match(first.out, /dropped +DNS:\*.example.com \(wildcard/);
    const serial = /serial {7}([0-9a-f]+)/.exec(first.out)![1]!;

    const refused = await cli('sign-csr', '--dir', dir, '--csr', file, '--out', out);
    assert.equal(refused.code, 1);
    assert.match(refused.err, new RegExp(`'vcenter.example.com'.*${serial}.*--reissue.*\\[KH_PKI_SUBJECT_IN_USE\\]`));
    assert.match(refused.out, /subject +O=Example,CN=vcenter.example.com/, 'the preview is shown even when refused');

    const re = await cli('sign-csr', '--dir', dir, '--csr', file, '--out', out, '--reissue');
    assert.equal(re.code, 0, re.err);
    assert.match(re.out, new RegExp(`re-issues +${serial} \\('vcenter.example.com', valid until \\d{4}-`));
    assert.ok(re.out.indexOf('re-issues') < re.out.indexOf('signed the certificate request'), 're-issue is announced before signing');
  });
});
