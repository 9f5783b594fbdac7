import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { generateRsaKey, initPki, issueClient, loadCa, pkiPaths, signLeaf, subjectFromDer, subjectFromX509, subjectOfCertificate, subjectString } from '../../server/pki/index.js';
import { newAttribute, OID } from '../../server/pki/subject.js';
import { opensslOk, removeDir, tempDir } from './helpers.js';

describe('subjectString', () => {
  test('renders RDNs in order with short names', () => {
    assert.equal(
      subjectString([
        { type: OID.commonName, value: 'vcenter.example.com' },
        { type: OID.organizationName, value: 'Example' },
      ]),
      'CN=vcenter.example.com,O=Example',
    );
    assert.equal(
      subjectString([
        { type: OID.countryName, value: 'DE' },
        { type: OID.domainComponent, value: 'example' },
        { type: OID.emailAddress, value: 'a@b.c' },
        { type: '1.2.3.4.5', value: 'x' },
      ]),
      'C=DE,DC=example,emailAddress=a@b.c,1.2.3.4.5=x',
    );
  });

  test('escapes as RFC 4514 §2.4, control characters as hex', () => {
    assert.equal(subjectString([{ type: OID.commonName, value: 'a,b+c"d\\e<f>g;h' }]), 'CN=a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h');
    assert.equal(subjectString([{ type: OID.commonName, value: '#lead' }]), 'CN=\\#lead');
    assert.equal(subjectString([{ type: OID.commonName, value: ' both ' }]), 'CN=\\ both\\ ');
    assert.equal(subjectString([{ type: OID.commonName, value: 'a\nb\u0000' }]), 'CN=a\\0Ab\\00');
    assert.equal(subjectString([{ type: OID.commonName, value: 'mid#dle = ok' }]), 'CN=mid#dle = ok');
    assert.equal(subjectString([{ type: OID.organizationName, value: 'Müller GmbH' }]), 'O=Müller GmbH');
  });

  test('multi-valued RDNs are joined with +', () => {
    assert.equal(
      subjectString([
        [
          { type: OID.commonName, value: 'a' },
          { type: OID.userId, value: 'b' },
        ],
        { type: OID.organizationName, value: 'o' },
      ]),
      'CN=a+UID=b,O=o',
    );
  });
});

describe('subject of certificates: forge and X509Certificate agree', () => {
  let dir: string;
  before(async () => {
    dir = tempDir('subject');
    await initPki(dir, { bits: 2048, name: 'subject tests' });
  });
  after(() => removeDir(dir));

  test('an issued client certificate', async () => {
    const r = await issueClient(dir, { name: 'app1', bits: 2048 });
    const pem = fs.readFileSync(r.certPath, 'utf8');
    const x509 = new X509Certificate(pem);
    const fromForge = subjectOfCertificate(forge.pki.certificateFromPem(pem));
    assert.equal(fromForge, 'CN=app1,O=Keyhaven');
    assert.equal(subjectFromX509(x509), fromForge);
    assert.equal(r.subject, fromForge);
    // Node's own multi-line form says the same thing for plain values
    assert.equal(x509.subject.split('\n').join(','), fromForge);
  });

  test('special and non-ASCII characters round-trip identically', async () => {
    const ca = loadCa(pkiPaths(dir));
    const key = await generateRsaKey(2048);
    const leaf = signLeaf(ca, {
      publicKey: key.publicKey,
      subject: [
        newAttribute(OID.countryName, 'CH'),
        newAttribute(OID.organizationName, 'Zürich, "Büro" + Co; <x>'),
        newAttribute(OID.commonName, ' #weird\\name '),
      ],
      days: 10,
      extKeyUsage: ['clientAuth'],
    });
    const expected = 'C=CH,O=Zürich\\, \\"Büro\\" \\+ Co\\; \\<x\\>,CN=\\ #weird\\\\name\\ ';
    assert.equal(leaf.subject, expected);
    assert.equal(subjectFromX509(new X509Certificate(leaf.certPem)), expected);
    assert.equal(subjectOfCertificate(forge.pki.certificateFromPem(leaf.certPem)), expected);
  });

  test('an openssl certificate with a multi-valued RDN, and an EC certificate forge cannot parse', () => {
    const key = path.join(dir, 'mv.key');
    const crt = path.join(dir, 'mv.crt');
    opensslOk(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-multivalue-rdn', '-subj', '/O=Org/CN=a+UID=b']);
    const pem = fs.readFileSync(crt, 'utf8');
    const expected = 'O=Org,CN=a+UID=b';
    assert.equal(subjectFromX509(new X509Certificate(pem)), expected);
    assert.equal(subjectOfCertificate(forge.pki.certificateFromPem(pem)), expected);

    const ecKey = path.join(dir, 'ec.key');
    const ecCrt = path.join(dir, 'ec.crt');
    opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ecKey, '-out', ecCrt, '-days', '1', '-subj', '/CN=ec client/O=Ex']);
    const ec = new X509Certificate(fs.readFileSync(ecCrt));
    assert.equal(subjectFromX509(ec), 'CN=ec client,O=Ex');
    assert.equal(subjectFromDer(ec.raw), 'CN=ec client,O=Ex');
  });

  test('a BMPString attribute decodes to the same text', async () => {
    const ca = loadCa(pkiPaths(dir));
    const key = await generateRsaKey(2048);
    const bmp = Buffer.from('Ωmega', 'utf16le').swap16().toString('binary');
    const leaf = signLeaf(ca, {
      publicKey: key.publicKey,
      subject: [{ type: OID.commonName, value: bmp, valueTagClass: 30 as forge.asn1.Class }],
      days: 10,
      extKeyUsage: ['clientAuth'],
    });
    assert.equal(leaf.subject, 'CN=Ωmega');
    assert.equal(subjectFromX509(new X509Certificate(leaf.certPem)), 'CN=Ωmega');
  });
});
