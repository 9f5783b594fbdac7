import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { ErrorCodes } from '../../server/errors.js';
import { generateRsaKey, initPki, pkiPaths, signCsr, subjectFromX509, subjectOfCertificate, type PkiIndex } from '../../server/pki/index.js';
import { opensslOk, rejectsWith, removeDir, tempDir } from './helpers.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

describe('signing certificate requests (vCenter "KMS trusts vCenter via CSR")', () => {
  let dir: string;
  let p: ReturnType<typeof pkiPaths>;
  let csrPem: string;

  /** A CSR made by openssl, as vCenter would hand it over. */
  function opensslCsr(name: string, args: string[]): string {
    const out = path.join(dir, `${name}.csr`);
    opensslOk(['req', '-new', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', out, ...args]);
    return fs.readFileSync(out, 'utf8');
  }

  before(async () => {
    dir = tempDir('csr');
    p = pkiPaths(dir);
    await initPki(dir, { bits: 2048 });
    csrPem = opensslCsr('vc', [
      '-newkey', 'rsa:2048', '-utf8',
      '-subj', '/C=DE/O=Müller GmbH/OU=VMware/CN=vcenter.example.com',
      '-addext', 'subjectAltName=DNS:vcenter.example.com,IP:10.1.2.3,IP:2001:db8::10',
      '-addext', 'extendedKeyUsage=serverAuth', // requested extensions other than SAN are ignored
    ]);
  });
  after(() => removeDir(dir));

  test('an openssl CSR becomes a clientAuth certificate with the requested subject', async () => {
    const r = await signCsr(dir, csrPem, { days: 365 });
    const certFile = path.join(dir, 'vc.crt');
    fs.writeFileSync(certFile, r.certPem);
    assert.match(opensslOk(['verify', '-CAfile', p.caCert, '-purpose', 'sslclient', certFile]), /: OK/);
    const x = new X509Certificate(r.certPem);
    assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
    assert.equal(x.subject, 'C=DE\nO=Müller GmbH\nOU=VMware\nCN=vcenter.example.com');
    assert.equal(x.subjectAltName, 'DNS:vcenter.example.com, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:10');
    assert.equal(r.subject, 'C=DE,O=Müller GmbH,OU=VMware,CN=vcenter.example.com');
    assert.equal(subjectFromX509(x), r.subject);
    assert.equal(subjectOfCertificate(forge.pki.certificateFromPem(r.certPem)), r.subject);
    // the UTF-8 subject bytes are exactly those of the request
    const reqSubject = opensslOk(['req', '-in', path.join(dir, 'vc.csr'), '-noout', '-subject', '-nameopt', 'RFC2253']);
    const crtSubject = opensslOk(['x509', '-in', certFile, '-noout', '-subject', '-nameopt', 'RFC2253']);
    assert.equal(crtSubject, reqSubject);
    // the certificate is for the CSR's key
    assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(fs.readFileSync(path.join(dir, 'vc.key')))));
    assert.ok(Math.abs((Date.parse(x.validTo) - Date.now()) / 86_400_000 - 365) < 1);
    // filed in the index and kept in signed/
    const idx = JSON.parse(fs.readFileSync(p.index, 'utf8')) as PkiIndex;
    const entry = idx.certificates.find((c) => c.serial === r.serial)!;
    assert.deepEqual({ name: entry.name, kind: entry.kind, source: entry.source, subject: entry.subject }, { name: 'vcenter.example.com', kind: 'client', source: 'csr', subject: r.subject });
    assert.equal(fs.readFileSync(path.join(p.root, entry.file), 'utf8'), r.certPem);
  });

  test('the CN can be overridden; an empty subject needs one', async () => {
    const r = await signCsr(dir, csrPem, { commonName: 'vcenter-prod' });
    assert.equal(r.subject, 'C=DE,O=Müller GmbH,OU=VMware,CN=vcenter-prod');
    assert.equal(r.name, 'vcenter-prod');
    const empty = opensslCsr('empty', ['-newkey', 'rsa:2048', '-subj', '/']);
    await rejectsWith(() => signCsr(dir, empty), ErrorCodes.PKI_BAD_CSR, /empty subject.*--name/);
    const named = await signCsr(dir, empty, { commonName: 'host-1' });
    assert.equal(named.subject, 'CN=host-1');
  });

  test('the pre-RFC 7468 "NEW CERTIFICATE REQUEST" label, and other blocks around the request, are accepted', async () => {
    // (the first test signed this subject already: signing it again is a re-issue)
    const old = csrPem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST');
    const r = await signCsr(dir, old, { days: 1, reissue: true });
    assert.equal(r.subject, 'C=DE,O=Müller GmbH,OU=VMware,CN=vcenter.example.com');
    const bundle = `${fs.readFileSync(path.join(dir, 'vc.key'), 'utf8')}\n${csrPem}\n${fs.readFileSync(p.caCert, 'utf8')}`;
    assert.equal((await signCsr(dir, bundle, { days: 1, reissue: true })).subject, r.subject);
  });

  test('a tampered CSR is refused', async () => {
    const block = forge.pem.decode(csrPem)[0]!;
    const der = Buffer.from(block.body, 'binary');
    const at = der.indexOf('vcenter.example.com');
    assert.ok(at > 0);
    der[at] = 'w'.charCodeAt(0); // "wcenter.example.com": still parses, signature no longer matches
    const tampered = forge.pem.encode({ type: 'CERTIFICATE REQUEST', body: der.toString('binary') });
    await rejectsWith(() => signCsr(dir, tampered), ErrorCodes.PKI_BAD_CSR, /signature does not verify/);
  });

  test('weak, non-RSA, malformed and wrong inputs are refused with PKI_BAD_CSR', async () => {
    const weak = opensslCsr('weak', ['-newkey', 'rsa:1024', '-subj', '/CN=old']);
    await rejectsWith(() => signCsr(dir, weak), ErrorCodes.PKI_BAD_CSR, /1024 bits: at least 2048/);
    const ec = opensslCsr('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=ec']);
    await rejectsWith(() => signCsr(dir, ec), ErrorCodes.PKI_BAD_CSR, /not RSA/);
    await rejectsWith(() => signCsr(dir, 'hello'), ErrorCodes.PKI_BAD_CSR, /not a PEM certificate request/);
    const lines = csrPem.trim().split('\n');
    const truncated = [...lines.slice(0, 5), lines[lines.length - 1]!].join('\n');
    await rejectsWith(() => signCsr(dir, truncated), ErrorCodes.PKI_BAD_CSR, /cannot be parsed/);
    const garbage = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from('garbage that is not DER').toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await rejectsWith(() => signCsr(dir, garbage), ErrorCodes.PKI_BAD_CSR, /cannot be parsed/);
    await rejectsWith(() => signCsr(dir, fs.readFileSync(p.caCert, 'utf8')), ErrorCodes.PKI_BAD_CSR, /not a PEM certificate request/);
    await rejectsWith(() => signCsr(dir, csrPem, { days: 0 }), ErrorCodes.PKI_BAD_INPUT, /1 to 3650/);
    await rejectsWith(() => signCsr(dir, csrPem, { commonName: 'x'.repeat(65) }), ErrorCodes.PKI_BAD_INPUT, /longer than 64/);
    // a CSR built with forge whose CN contains a control character
    const key = await generateRsaKey(2048);
    const req = forge.pki.createCertificationRequest();
    req.publicKey = key.publicKey;
    req.setSubject([{ type: '2.5.4.3', value: 'bell\u0007', valueTagClass: 12 as forge.asn1.Class }]);
    req.sign(key.privateKey, forge.md.sha256.create());
    await rejectsWith(() => signCsr(dir, forge.pki.certificationRequestToPem(req)), ErrorCodes.PKI_BAD_CSR, /control characters/);
  });
});
