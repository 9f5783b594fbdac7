// What a CSR may ask for: signature hashes (no MD5, no SHA-1), which subjectAltNames are carried
// into a client certificate and which are dropped (and reported), and previewCsr() — the pure look
// at a CSR that the CLI and the appliance menu show before signing. A vCenter CSR signs unchanged.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { ErrorCodes } from '../../server/errors.js';
import { generateRsaKey, initPki, pkiPaths, previewCsr, signCsr, type CsrPreview } from '../../server/pki/index.js';
import { openssl, opensslCsr, opensslOk, rejectsWith, removeDir, tempDir } from './helpers.js';

describe('CSR policy: hashes, subjectAltNames, preview', () => {
  let dir: string;
  let keyFile: string;

  /** A CSR for the shared test key (no key generation per case). */
  function csrWith(subj: string, ...more: string[]): string {
    const r = openssl(['req', '-new', '-key', keyFile, '-subj', subj, ...more]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }

  /**
   * A CSR signed with MD5 or SHA-1. openssl makes them where its security level allows (it does on
   * Debian 13's OpenSSL 3.0 with the default configuration); node-forge otherwise.
   */
  async function weakCsr(hash: 'md5' | 'sha1', cn: string): Promise<{ pem: string; by: string }> {
    const r = openssl(['req', '-new', '-key', keyFile, `-${hash}`, '-subj', `/CN=${cn}`]);
    if (r.status === 0 && opensslOk(['req', '-noout', '-text'], r.stdout).includes(`${hash}WithRSAEncryption`)) return { pem: r.stdout, by: 'openssl' };
    const key = await generateRsaKey(2048);
    const req = forge.pki.createCertificationRequest();
    req.publicKey = key.publicKey;
    req.setSubject([{ type: '2.5.4.3', value: cn, valueTagClass: 12 as forge.asn1.Class }]);
    req.sign(key.privateKey, forge.md[hash].create());
    return { pem: forge.pki.certificationRequestToPem(req), by: 'node-forge' };
  }

  before(async () => {
    dir = tempDir('csr-policy');
    keyFile = path.join(dir, 'shared.key');
    opensslOk(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile]);
    await initPki(dir, { bits: 2048, name: 'policy' });
  });
  after(() => removeDir(dir));

  test('CSRs signed with MD5 or SHA-1 are refused, saying to regenerate with SHA-256 or better', async (t) => {
    for (const hash of ['md5', 'sha1'] as const) {
      const { pem, by } = await weakCsr(hash, `weak-${hash}`);
      t.diagnostic(`${hash} CSR made with ${by}`);
      const name = hash === 'md5' ? 'MD5' : 'SHA-1';
      await rejectsWith(() => signCsr(dir, pem), ErrorCodes.PKI_BAD_CSR, new RegExp(`signed with ${name}.*regenerate .*SHA-256 or better`));
      await rejectsWith(() => signCsr(dir, pem, { reissue: true }), ErrorCodes.PKI_BAD_CSR, /SHA-256 or better/);
      assert.throws(() => previewCsr(pem), (e: Error & { code?: string }) => e.code === ErrorCodes.PKI_BAD_CSR && e.message.includes(name));
    }
    assert.equal(fs.existsSync(pkiPaths(dir).signedDir), false, 'nothing was signed');
  });

  test('SHA-256, SHA-384 and SHA-512 are accepted', async () => {
    for (const bits of [256, 384, 512]) {
      const pem = csrWith(`/CN=hash-${bits}`, `-sha${bits}`);
      assert.equal(previewCsr(pem).signatureHash, `SHA-${bits}`);
      const r = await signCsr(dir, pem);
      assert.equal(r.subject, `CN=hash-${bits}`);
    }
  });

  test('RSASSA-PSS: accepted with SHA-256, refused with SHA-1', async () => {
    const pss = csrWith('/CN=pss-256', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32');
    assert.match(opensslOk(['req', '-noout', '-text'], pss), /rsassaPss/);
    assert.equal(previewCsr(pss).signatureHash, 'SHA-256');
    assert.equal((await signCsr(dir, pss)).subject, 'CN=pss-256');
    const pss1 = csrWith('/CN=pss-1', '-sha1', '-sigopt', 'rsa_padding_mode:pss');
    assert.throws(() => previewCsr(pss1), /signed with SHA-1/);
  });

  // Which subjectAltNames a client certificate carries (see csr.ts sanPolicy for the reasons).
  const SAN_TABLE: [requested: string, kept: string | null, why?: RegExp][] = [
    ['DNS:vcenter.example.com', 'DNS:vcenter.example.com'],
    ['DNS:vcenter', 'DNS:vcenter'],
    ['DNS:*.example.com', null, /wildcard/],
    ['DNS:vc*.example.com', null, /wildcard/],
    ['IP:10.1.2.3', 'IP:10.1.2.3'],
    ['IP:169.254.10.1', 'IP:169.254.10.1'],
    ['IP:2001:db8::10', 'IP:2001:db8::10'],
    ['IP:fe80::1', 'IP:fe80::1'],
    ['IP:0.0.0.0', null, /unspecified/],
    ['IP:::', null, /unspecified/],
    ['IP:127.0.0.1', null, /loopback/],
    ['IP:127.9.9.9', null, /loopback/],
    ['IP:::1', null, /loopback/],
    ['IP:::ffff:127.0.0.1', null, /loopback/],
    ['IP:224.0.0.251', null, /multicast/],
    ['IP:ff02::fb', null, /multicast/],
    ['IP:255.255.255.255', null, /broadcast/],
    ['URI:https://vcenter.example.com/', 'URI:https://vcenter.example.com/'],
    ['URI:HTTPS://vcenter.example.com/ui', 'URI:HTTPS://vcenter.example.com/ui'],
    ['URI:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', 'URI:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'],
    ['URI:spiffe://example.org/ns/prod/sa/vcenter', 'URI:spiffe://example.org/ns/prod/sa/vcenter'],
    ['URI:http://vcenter.example.com/', null, /scheme/],
    ['URI:file:///etc/passwd', null, /scheme/],
    ['URI:ldap://ldap.example.com/cn=dev', null, /scheme/],
    ['email:kms-admin@example.com', 'email:kms-admin@example.com'],
    ['email:not-an-address', null, /mailbox/],
    ['RID:1.2.3.4', null, /registeredID/],
    ['otherName:1.3.6.1.4.1.311.20.2.3;UTF8:dev@example.com', null, /otherName/],
  ];

  test('subjectAltNames that make no sense in a client certificate are dropped and reported (table)', () => {
    for (const [requested, kept, why] of SAN_TABLE) {
      const pv = previewCsr(csrWith('/CN=san-table', '-addext', `subjectAltName=${requested}`));
      if (kept !== null) {
        assert.deepEqual([pv.altNames, pv.dropped], [[kept], []], requested);
      } else {
        assert.deepEqual(pv.altNames, [], requested);
        assert.equal(pv.dropped.length, 1, requested);
        assert.match(pv.dropped[0]!, why!, requested);
      }
    }
  });

  test('the signed certificate carries exactly the kept subjectAltNames; the result lists the dropped', async () => {
    const all = SAN_TABLE.map(([r]) => r).join(',');
    const r = await signCsr(dir, csrWith('/CN=san-all', '-addext', `subjectAltName=${all}`));
    const x = new X509Certificate(r.certPem);
    const kept = SAN_TABLE.filter(([, k]) => k !== null).map(([, k]) => k!);
    const shown = (x.subjectAltName ?? '').split(', ').map((s) => s.replace(/^IP Address:/, 'IP:'));
    assert.equal(shown.length, kept.length, x.subjectAltName);
    assert.equal(r.dropped.length, SAN_TABLE.length - kept.length);
    for (const [requested, k, why] of SAN_TABLE) {
      if (k === null) assert.ok(r.dropped.some((d) => why!.test(d)), `${requested} reported as dropped`);
    }
    assert.ok(shown.includes('DNS:vcenter.example.com') && shown.includes('URI:spiffe://example.org/ns/prod/sa/vcenter'));
    assert.ok(!shown.some((s) => s.includes('*') || s === 'IP:127.0.0.1' || s.startsWith('URI:file')));
  });

  test('a vCenter-like CSR (RSA 2048, SHA-256, DNS + IP) signs unchanged', async () => {
    const pem = opensslCsr(dir, 'vcsa', [
      '-newkey', 'rsa:2048', '-sha256',
      '-subj', '/C=US/ST=California/L=Palo Alto/O=VMware/OU=vCenter/CN=vcsa.example.com/emailAddress=admin@example.com',
      '-addext', 'subjectAltName=DNS:vcsa.example.com,IP:192.0.2.50',
      '-addext', 'keyUsage=digitalSignature,keyEncipherment',
    ]);
    const pv = previewCsr(pem, dir);
    const expected: CsrPreview = {
      subject: 'C=US,ST=California,L=Palo Alto,O=VMware,OU=vCenter,CN=vcsa.example.com,emailAddress=admin@example.com',
      altNames: ['DNS:vcsa.example.com', 'IP:192.0.2.50'],
      dropped: [],
      keyBits: 2048,
      signatureHash: 'SHA-256',
    };
    assert.deepEqual(pv, expected);
    const r = await signCsr(dir, pem);
    assert.deepEqual(r.dropped, []);
    assert.deepEqual(r.reissues, []);
    assert.equal(r.subject, pv.subject);
    const certFile = path.join(dir, 'vcsa.crt');
    fs.writeFileSync(certFile, r.certPem);
    const reqFile = path.join(dir, 'vcsa.csr');
    const sans = (text: string) => /X509v3 Subject Alternative Name:\s*\n\s*(.*)/.exec(text)?.[1];
    assert.equal(sans(opensslOk(['x509', '-in', certFile, '-noout', '-text'])), sans(opensslOk(['req', '-in', reqFile, '-noout', '-text'])));
    assert.equal(sans(opensslOk(['x509', '-in', certFile, '-noout', '-text'])), 'DNS:vcsa.example.com, IP Address:192.0.2.50');
    const subj = (args: string[]) => opensslOk([...args, '-noout', '-subject', '-nameopt', 'RFC2253']).replace(/^subject=/, '');
    assert.equal(subj(['x509', '-in', certFile]), subj(['req', '-in', reqFile]));
    assert.match(opensslOk(['verify', '-CAfile', pkiPaths(dir).caCert, '-purpose', 'sslclient', certFile]), /: OK/);
  });

  test('previewCsr is pure; with the data directory it names the certificate holding the subject', async () => {
    const pem = csrWith('/CN=preview-host/O=Example', '-addext', 'subjectAltName=DNS:preview-host.example.com,IP:127.0.0.1');
    const p = pkiPaths(dir);
    const indexBefore = fs.readFileSync(p.index, 'utf8');
    const fresh = previewCsr(pem, dir);
    assert.deepEqual(fresh, {
      subject: 'CN=preview-host,O=Example',
      altNames: ['DNS:preview-host.example.com'],
      dropped: ['IP:127.0.0.1 (loopback address)'],
      keyBits: 2048,
      signatureHash: 'SHA-256',
    });
    assert.equal(fs.readFileSync(p.index, 'utf8'), indexBefore, 'preview writes nothing');
    assert.ok(!fs.existsSync(p.lock));
    assert.deepEqual(previewCsr(pem), fresh, 'without a data directory: the same, minus existing');

    const signed = await signCsr(dir, pem);
    assert.deepEqual(previewCsr(pem, dir).existing, { name: 'preview-host', serial: signed.serial, notAfter: signed.notAfter.toISOString() });
    assert.equal(previewCsr(pem).existing, undefined);

    assert.throws(() => previewCsr('hello'), /not a PEM certificate request/);
    assert.throws(() => previewCsr(csrWith('/O=Example+CN=mv', '-multivalue-rdn')), /multi-valued RDN/);
  });
});
