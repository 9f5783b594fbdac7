import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes } from '../../server/errors.js';
import {
  buildCrl,
  initPki,
  issueClient,
  loadCa,
  pkiPaths,
  readCrlInfo,
  refreshCrl,
  REVOCATION_REASON_NAMES,
  revoke,
  type IssueResult,
  type PkiIndex,
} from '../../server/pki/index.js';
import { opensslOk, openssl, rejectsWith, removeDir, tempDir } from './helpers.js';

const DAY = 86_400_000;

describe('CRL', () => {
  let dir: string;
  let p: ReturnType<typeof pkiPaths>;
  let a: IssueResult;
  let b: IssueResult;
  let c: IssueResult;
  let keep: IssueResult;

  const crlText = () => opensslOk(['crl', '-in', p.crl, '-CAfile', p.caCert, '-noout', '-text']);
  const index = () => JSON.parse(fs.readFileSync(p.index, 'utf8')) as PkiIndex;

  before(async () => {
    dir = tempDir('crl');
    p = pkiPaths(dir);
    await initPki(dir, { bits: 2048 });
    [a, b, c, keep] = await Promise.all(['a', 'b', 'c', 'keep'].map((name) => issueClient(dir, { name, bits: 2048 }))) as [IssueResult, IssueResult, IssueResult, IssueResult];
  });
  after(() => removeDir(dir));

  test('the initial CRL is empty, signed by the CA and verifies with openssl', () => {
    const text = crlText();
    assert.match(text, /verify OK/);
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Issuer: CN = Keyhaven CA .*, O = Keyhaven/);
    assert.match(text, /No Revoked Certificates/);
    assert.match(text, /CRL Number:\s+1\b/);
    const ski = opensslOk(['x509', '-in', p.caCert, '-noout', '-ext', 'subjectKeyIdentifier']).split('\n')[1]!.trim();
    assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
    const info = readCrlInfo(fs.readFileSync(p.crl, 'utf8'));
    assert.equal(info.crlNumber, 1);
    assert.deepEqual(info.serials, []);
    const days = (info.nextUpdate.getTime() - info.thisUpdate.getTime()) / DAY;
    assert.equal(days, 30);
  });

  test('revoke by name, serial and fingerprint; openssl lists serials and reasons', async () => {
    const r1 = await revoke(dir, { name: 'a' }, 'keyCompromise');
    assert.deepEqual(r1.revoked.map((x) => x.serial), [a.serial]);
    assert.equal(r1.crl?.crlNumber, 2);
    // serial in any case, with colons and a leading zero
    const colon = `00${b.serial}`.toUpperCase().match(/../g)!.join(':');
    const r2 = await revoke(dir, { serial: colon }, 'superseded');
    assert.deepEqual(r2.revoked.map((x) => x.serial), [b.serial]);
    const r3 = await revoke(dir, { fingerprint: c.fingerprint.replace(/:/g, '').toLowerCase() });
    assert.deepEqual(r3.revoked.map((x) => x.serial), [c.serial]);
    assert.equal(r3.crl?.crlNumber, 4);

    const text = crlText();
    assert.match(text, /verify OK/);
    assert.match(text, /CRL Number:\s+4\b/);
    const entry = (serial: string) => {
      const at = text.indexOf(`Serial Number: ${serial.toUpperCase()}`);
      assert.ok(at >= 0, `serial ${serial} listed`);
      return text.slice(at, text.indexOf('Serial Number:', at + 10) > 0 ? text.indexOf('Serial Number:', at + 10) : text.indexOf('Signature Algorithm', at));
    };
    assert.match(entry(a.serial), /CRL Reason Code:\s+Key Compromise/);
    assert.match(entry(b.serial), /CRL Reason Code:\s+Superseded/);
    assert.doesNotMatch(entry(c.serial), /Reason/, 'unspecified is expressed by omitting the reason code (RFC 5280 §5.3.1)');
    assert.ok(!text.includes(keep.serial.toUpperCase()));
    assert.deepEqual(readCrlInfo(fs.readFileSync(p.crl, 'utf8')).serials.sort(), [a.serial, b.serial, c.serial].sort());
    const idx = index();
    assert.equal(idx.crlNumber, 4);
    assert.equal(idx.certificates.find((x) => x.serial === a.serial)?.revoked?.reason, 'keyCompromise');
  });

  test('openssl verify -crl_check refuses revoked, accepts the rest', () => {
    const r = openssl(['verify', '-crl_check', '-CAfile', p.caCert, '-CRLfile', p.crl, a.certPath]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /certificate revoked/);
    assert.match(opensslOk(['verify', '-crl_check', '-CAfile', p.caCert, '-CRLfile', p.crl, keep.certPath]), /: OK/);
  });

  test('revoking twice is idempotent and does not re-sign', async () => {
    const before = fs.readFileSync(p.crl, 'utf8');
    const r = await revoke(dir, { name: 'a' }, 'cessationOfOperation');
    assert.deepEqual(r.revoked, []);
    assert.deepEqual(r.alreadyRevoked.map((x) => x.serial), [a.serial]);
    assert.equal(r.crl, undefined);
    assert.equal(fs.readFileSync(p.crl, 'utf8'), before);
    assert.equal(index().certificates.find((x) => x.serial === a.serial)?.revoked?.reason, 'keyCompromise', 'first reason kept');
  });

  test('unknown certificates and bad selectors', async () => {
    await rejectsWith(() => revoke(dir, { name: 'nobody' }), ErrorCodes.PKI_UNKNOWN_CERTIFICATE, /keyhaven pki list/);
    await rejectsWith(() => revoke(dir, { serial: 'abcdef' }), ErrorCodes.PKI_UNKNOWN_CERTIFICATE);
    await rejectsWith(() => revoke(dir, { fingerprint: 'AB'.repeat(32) }), ErrorCodes.PKI_UNKNOWN_CERTIFICATE);
    await rejectsWith(() => revoke(dir, { serial: 'xyz' }), ErrorCodes.PKI_BAD_INPUT, /not hexadecimal/);
    await rejectsWith(() => revoke(dir, { fingerprint: 'abc' }), ErrorCodes.PKI_BAD_INPUT, /SHA-256/);
    await rejectsWith(() => revoke(dir, { name: 'keep' }, 'removeFromCRL' as never), ErrorCodes.PKI_BAD_INPUT, /not a revocation reason/);
  });

  test('refreshCrl re-signs with a new number, or not when far from expiry', async () => {
    const n = index().crlNumber;
    const skip = await refreshCrl(dir, { ifExpiresWithinDays: 7 });
    assert.equal(skip.resigned, false);
    assert.equal(skip.crlNumber, n);
    const soon = await refreshCrl(dir, { ifExpiresWithinDays: 7, now: new Date(Date.now() + 25 * DAY) });
    assert.equal(soon.resigned, true);
    assert.equal(soon.crlNumber, n + 1);
    const r = await refreshCrl(dir, { days: 7 });
    assert.equal(r.crlNumber, n + 2);
    assert.equal((r.nextUpdate.getTime() - r.thisUpdate.getTime()) / DAY, 7);
    assert.equal(r.serials.length, 3, 'revocations survive a refresh');
    assert.match(crlText(), /verify OK/);
  });

  test('every supported reason, and GeneralizedTime from 2050 (RFC 5280 §5.1.2.4)', () => {
    const ca = loadCa(p);
    const entries = REVOCATION_REASON_NAMES.map((reason, i) => ({ serial: (0x1000 + i).toString(16), date: new Date('2051-01-02T03:04:05Z'), reason }));
    entries.push({ serial: '80ff', date: new Date('2049-12-31T23:59:59Z'), reason: 'unspecified' }); // needs a sign octet
    entries.push({ serial: '0a1b', date: new Date('2049-12-31T23:59:59Z'), reason: 'unspecified' }); // leading zero nibble
    const pem = buildCrl(ca, entries, 0x1234, new Date('2050-01-01T00:00:00Z'), new Date('2050-02-01T00:00:00Z'));
    const file = path.join(dir, 'all.pem');
    fs.writeFileSync(file, pem);
    const text = opensslOk(['crl', '-in', file, '-CAfile', p.caCert, '-noout', '-text']);
    assert.match(text, /verify OK/);
    assert.match(text, /Last Update: Jan {2}1 00:00:00 2050 GMT/);
    assert.match(text, /Revocation Date: Jan {2}2 03:04:05 2051 GMT/);
    assert.match(text, /Serial Number: 80FF\s+Revocation Date: Dec 31 23:59:59 2049 GMT/);
    assert.match(text, /CRL Number:\s+4660\b/);
    assert.match(text, /Serial Number: 0A1B\s/);
    const info = readCrlInfo(pem);
    assert.deepEqual(info.serials.slice(-2), ['80ff', '0a1b']);
    assert.equal(info.crlNumber, 0x1234);
    for (const label of ['Key Compromise', 'CA Compromise', 'Affiliation Changed', 'Superseded', 'Cessation Of Operation', 'Certificate Hold', 'Privilege Withdrawn', 'AA Compromise']) {
      assert.match(text, new RegExp(`CRL Reason Code:\\s+${label}`), label);
    }
    // OpenSSL parses it and writes the same bytes back out
    const again = opensslOk(['crl', '-in', file, '-outform', 'PEM']);
    assert.equal(again.trim(), pem.trim());
  });
});
