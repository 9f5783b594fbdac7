import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runPkiCli } from '../../server/pki/index.js';
import { allFiles, Capture, mode, openssl, opensslOk, removeDir, tempDir } from './helpers.js';

interface CliRun {
  code: number;
  out: string;
  err: string;
}

async function cli(...args: string[]): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runPkiCli(args, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

const FP = /sha256 {7}([0-9A-F]{2}(:[0-9A-F]{2}){31})/;

describe('keyhaven pki (CLI)', () => {
  let work: string;
  let dir: string;
  const password = 'Corr3ct-Horse-Battery';

  before(async () => {
    work = tempDir('cli');
    dir = path.join(work, 'data');
    const r = await cli('init', '--dir', dir, '--name', 'cli', '--bits', '2048', '--days', '3000');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /created CA in .*data\/pki/);
    assert.match(r.out, /subject {6}CN=Keyhaven CA cli,O=Keyhaven/);
    assert.match(r.out, FP);
  });
  after(() => removeDir(work));

  test('help and usage errors', async () => {
    const help = await cli('help');
    assert.equal(help.code, 0);
    assert.match(help.out, /usage: keyhaven pki <command>/);
    assert.match(help.out, /--p12-password-env/);
    assert.equal((await cli()).code, 2);
    const unknown = await cli('frobnicate', '--dir', dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command 'frobnicate'/);
    const badFlag = await cli('init', '--dir', dir, '--force');
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.err, /does not take --force/);
    const noDir = await cli('list');
    assert.equal(noDir.code, 2);
    assert.match(noDir.err, /needs --dir/);
    const days = await cli('server', '--dir', dir, '--dns', 'a.example', '--days', 'ten');
    assert.equal(days.code, 2);
    assert.match(days.err, /--days takes a whole number/);
    const two = await cli('revoke', '--dir', dir, '--name', 'a', '--serial', '01');
    assert.equal(two.code, 2);
    assert.match(two.err, /exactly one of --name, --serial, --fingerprint/);
  });

  test('init twice fails with a message and the code', async () => {
    const r = await cli('init', '--dir', dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /already holds a CA.*\[KH_PKI_ALREADY_EXISTS\]/);
  });

  test('server: names and addresses as lists or repeated flags; --force to replace', async () => {
    const r = await cli('server', '--dir', dir, '--dns', 'kms.example.com,kms', '--dns', 'localhost', '--ip', '192.0.2.10,::1', '--bits', '2048');
    assert.equal(r.code, 0, r.err);
    const x = new X509Certificate(fs.readFileSync(path.join(dir, 'pki', 'server.crt')));
    assert.equal(x.subjectAltName, 'DNS:kms.example.com, DNS:kms, DNS:localhost, IP Address:192.0.2.10, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(r.out.match(FP)?.[1], x.fingerprint256);
    const again = await cli('server', '--dir', dir, '--dns', 'kms.example.com', '--bits', '2048');
    assert.equal(again.code, 1);
    assert.match(again.err, /--force.*KH_PKI_ALREADY_EXISTS/);
    const forced = await cli('server', '--dir', dir, '--dns', 'kms.example.com', '--bits', '2048', '--force', '--days', '825');
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /stays valid until .*revoke --serial [0-9a-f]+ --reason superseded/);
    const tooLong = await cli('server', '--dir', dir, '--dns', 'kms.example.com', '--force', '--days', '900');
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.err, /1 to 825.*KH_PKI_BAD_INPUT/);
  });

  test('client: PEM pair, PKCS#12 from a password file or variable; the password is never written', async () => {
    const pwFile = path.join(work, 'pw.txt');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    const r1 = await cli('client', '--dir', dir, '--name', 'mysql-1', '--bits', '2048', '--p12-password-file', pwFile);
    assert.equal(r1.code, 0, r1.err);
    const p12 = path.join(dir, 'pki', 'clients', 'mysql-1.p12');
    assert.match(r1.out, /pkcs#12 {6}.*mysql-1.p12 \(mode 0600\)/);
    assert.equal(mode(p12), 0o600);
    opensslOk(['pkcs12', '-in', p12, '-passin', `pass:${password}`, '-noout']);

    process.env['KH_TEST_P12'] = password;
    try {
      const r2 = await cli('client', '--dir', dir, '--name', 'app-2', '--cn', 'Application Two', '--org', 'Example', '--bits', '2048', '--p12-password-env', 'KH_TEST_P12');
      assert.equal(r2.code, 0, r2.err);
      assert.match(r2.out, /subject {6}CN=Application Two,O=Example/);
      opensslOk(['pkcs12', '-in', path.join(dir, 'pki', 'clients', 'app-2.p12'), '-passin', 'env:KH_TEST_P12', '-noout']);
      for (const r of [r1, r2]) assert.ok(!(r.out + r.err).includes(password));
      for (const f of allFiles(path.join(dir, 'pki'))) assert.ok(!fs.readFileSync(f).includes(password), `${f} must not contain the password`);
    } finally {
      delete process.env['KH_TEST_P12'];
    }

    const noVar = await cli('client', '--dir', dir, '--name', 'x', '--p12-password-env', 'KH_TEST_UNSET_VARIABLE');
    assert.equal(noVar.code, 1);
    assert.match(noVar.err, /KH_TEST_UNSET_VARIABLE is not set or empty/);
    fs.writeFileSync(pwFile, '\n');
    const empty = await cli('client', '--dir', dir, '--name', 'x', '--p12-password-file', pwFile);
    assert.equal(empty.code, 1);
    assert.match(empty.err, /is empty/);
    const both = await cli('client', '--dir', dir, '--name', 'x', '--p12-password-file', pwFile, '--p12-password-env', 'X');
    assert.equal(both.code, 2);
    const pem = await cli('client', '--dir', dir, '--name', 'pem-only', '--bits', '2048');
    assert.equal(pem.code, 0, pem.err);
    assert.ok(!fs.existsSync(path.join(dir, 'pki', 'clients', 'pem-only.p12')));
  });

  test('sign-csr: to a file or to standard output', async () => {
    const csr = path.join(work, 'vc.csr');
    opensslOk(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(work, 'vc.key'), '-out', csr, '-subj', '/O=Example/CN=vcenter.example.com']);
    const out = path.join(work, 'vc.crt');
    const r = await cli('sign-csr', '--dir', dir, '--csr', csr, '--out', out, '--days', '365');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /subject {6}O=Example,CN=vcenter.example.com/);
    assert.match(opensslOk(['verify', '-CAfile', path.join(dir, 'pki', 'ca.crt'), out]), /OK/);
    assert.equal(r.out.match(FP)?.[1], new X509Certificate(fs.readFileSync(out)).fingerprint256);

    const piped = await cli('sign-csr', '--dir', dir, '--csr', csr, '--name', 'vc-renamed');
    assert.equal(piped.code, 0, piped.err);
    assert.match(piped.out, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    assert.equal(new X509Certificate(piped.out).subject, 'O=Example\nCN=vc-renamed');
    assert.match(piped.err, /\(standard output\)/);

    const missing = await cli('sign-csr', '--dir', dir, '--csr', path.join(work, 'nope.csr'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read the CSR file .*ENOENT.*KH_PKI_BAD_CSR/);
  });

  test('revoke, list and crl', async () => {
    const list = JSON.parse((await cli('list', '--dir', dir, '--json')).out) as { name: string; serial: string; fingerprint: string; status: string }[];
    const mysql = list.find((c) => c.name === 'mysql-1')!;
    const app = list.find((c) => c.name === 'app-2')!;

    const byName = await cli('revoke', '--dir', dir, '--name', 'mysql-1', '--reason', 'keyCompromise');
    assert.equal(byName.code, 0, byName.err);
    assert.match(byName.out, new RegExp(`revoked ${mysql.serial} .*: keyCompromise`));
    assert.match(byName.out, /CRL #2 written/);
    const twice = await cli('revoke', '--dir', dir, '--serial', mysql.serial.toUpperCase());
    assert.equal(twice.code, 0);
    assert.match(twice.out, /already revoked .*nothing to do/);
    const byFp = await cli('revoke', '--dir', dir, '--fingerprint', app.fingerprint, '--reason', 'affiliationChanged');
    assert.equal(byFp.code, 0, byFp.err);
    const badReason = await cli('revoke', '--dir', dir, '--name', 'pem-only', '--reason', 'removeFromCRL');
    assert.equal(badReason.code, 1);
    assert.match(badReason.err, /not a revocation reason: use one of unspecified, keyCompromise/);
    const unknown = await cli('revoke', '--dir', dir, '--name', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /KH_PKI_UNKNOWN_CERTIFICATE/);

    const crlFile = path.join(dir, 'pki', 'crl.pem');
    const text = opensslOk(['crl', '-in', crlFile, '-CAfile', path.join(dir, 'pki', 'ca.crt'), '-noout', '-text']);
    assert.match(text, /verify OK/);
    assert.ok(text.includes(mysql.serial.toUpperCase()) && text.includes(app.serial.toUpperCase()));

    const table = await cli('list', '--dir', dir);
    assert.match(table.out, /^status +kind +name/);
    assert.match(table.out, new RegExp(`revoked +client +mysql-1 +${mysql.serial}`));
    assert.match(table.out, /valid +server +server/);

    const crl = await cli('crl', '--dir', dir, '--days', '10');
    assert.equal(crl.code, 0, crl.err);
    assert.match(crl.out, /CRL #4 written .*2 revoked, next update/);
    assert.notEqual(openssl(['verify', '-crl_check', '-CAfile', path.join(dir, 'pki', 'ca.crt'), '-CRLfile', crlFile, path.join(dir, 'pki', 'clients', 'mysql-1.crt')]).status, 0);
  });

  test('commands before init point at init', async () => {
    const r = await cli('client', '--dir', path.join(work, 'fresh'), '--name', 'x');
    assert.equal(r.code, 1);
    assert.match(r.err, /no CA in .*fresh\/pki: run `keyhaven pki init --dir .*fresh` first \[KH_PKI_NOT_INITIALISED\]/);
  });
});
