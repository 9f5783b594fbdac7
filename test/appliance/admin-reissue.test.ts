// A certificate is an identity: the helper's PKI actions through the real helper never hand out the
// subject (or client name) of a valid certificate unless asked for a re-issue. pki.preview-csr and
// pki.preview-client show what would be issued and the certificate in use; signing or issuing over it
// is refused (KH_PKI_SUBJECT_IN_USE / KH_PKI_ALREADY_EXISTS) until `reissue` is given, and the
// administration audit record of a re-issue names the certificate it re-issues.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AdminResponse } from '../../appliance/admin/protocol.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';

const dataOwner = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) } : undefined;

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start(dataOwner ? { dataOwner } : {});
});
after(async () => {
  await box?.stop();
});

const ok = <T>(r: AdminResponse): T => {
  assert.ok(r.ok, `expected success, got ${JSON.stringify(r)}`);
  return r.result as T;
};
const refused = (r: AdminResponse, code: string, pattern: RegExp): void => {
  assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r).slice(0, 300)}`);
  if (r.ok) return;
  assert.equal(r.code, code, r.message);
  assert.match(r.message, pattern);
};

interface Existing {
  name: string;
  serial: string;
  notAfter: string;
  kind: 'client' | 'reserved';
}
interface Preview {
  subject: string;
  altNames: string[];
  dropped: string[];
  keyBits: number;
  signatureHash: string;
  existing?: Existing;
}

function csr(subject: string, sans?: string): string {
  const key = join(box.root, `k-${Math.random().toString(16).slice(2)}.key`);
  return execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', subject, ...(sans ? ['-addext', `subjectAltName=${sans}`] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

async function adminRecords(): Promise<{ operation: string; result: string; reason: string; objectId: string }[]> {
  return ok<{ admin: { operation: string; result: string; reason: string; objectId: string }[] }>(await box.call('audit.tail', { count: 500 })).admin;
}

describe('signing a CSR whose subject is in use', () => {
  test('preview, refusal without reissue, re-issue with it, recorded as a re-issue', async () => {
    const request = csr('/CN=app-reissue/O=Example', 'DNS:app.example.com,DNS:*.example.com,IP:127.0.0.1');
    const first = ok<Preview>(await box.call('pki.preview-csr', { csr: request }));
    assert.equal(first.subject, 'CN=app-reissue,O=Example');
    assert.deepEqual(first.altNames, ['DNS:app.example.com']);
    assert.equal(first.dropped.length, 2, first.dropped.join('; '));
    assert.match(first.dropped.join('\n'), /DNS:\*\.example\.com \(wildcard/);
    assert.match(first.dropped.join('\n'), /IP:127\.0\.0\.1 \(loopback/);
    assert.equal(first.keyBits, 2048);
    assert.equal(first.signatureHash, 'SHA-256');
    assert.equal(first.existing, undefined);

    const signed = await box.call('pki.sign-csr', { csr: request });
    const s1 = ok<{ serial: string; reissueOf: unknown[]; certPem: string }>(signed);
    assert.ok(signed.ok && /^signed a CSR for CN=app-reissue,O=Example/.test(signed.summary), JSON.stringify(signed).slice(0, 200));
    assert.deepEqual(s1.reissueOf, []);
    assert.equal(new X509Certificate(s1.certPem).serialNumber.toLowerCase(), s1.serial);

    // The same subject again (a new key): the preview names the certificate in use.
    const again = csr('/CN=app-reissue/O=Example');
    const second = ok<Preview>(await box.call('pki.preview-csr', { csr: again }));
    assert.deepEqual(second.existing && { ...second.existing, notAfter: '' }, { name: 'app-reissue', serial: s1.serial, notAfter: '', kind: 'client' });
    refused(await box.call('pki.sign-csr', { csr: again }), 'KH_PKI_SUBJECT_IN_USE', new RegExp(`serial ${s1.serial}`));
    const reissued = await box.call('pki.sign-csr', { csr: again, reissue: true });
    const s2 = ok<{ serial: string; reissueOf: { serial: string }[] }>(reissued);
    assert.notEqual(s2.serial, s1.serial);
    assert.deepEqual(s2.reissueOf.map((r) => r.serial), [s1.serial]);
    assert.ok(reissued.ok && new RegExp(`^re-issued a CSR for CN=app-reissue,O=Example, serial ${s2.serial}.*\\(re-issue of serial ${s1.serial}, valid until`).test(reissued.summary), reissued.ok ? reissued.summary : '');

    const records = await adminRecords();
    assert.ok(records.some((r) => r.operation === 'Sign CSR' && r.result === 'failure' && /KH_PKI_SUBJECT_IN_USE/.test(r.reason)), 'the refusal is recorded');
    const record = records.find((r) => r.operation === 'Sign CSR' && r.objectId === s2.serial);
    assert.ok(record && record.result === 'success' && record.reason.includes(`re-issue of serial ${s1.serial}`), JSON.stringify(record));
    assert.ok(records.some((r) => r.operation === 'Preview CSR' && r.result === 'success'), 'previews are recorded too');
  });

  test("the server's subject is reserved: shown as such, never signed, not even as a re-issue", async () => {
    const server = csr('/CN=keyhaven-test/O=Keyhaven');
    const p = ok<Preview>(await box.call('pki.preview-csr', { csr: server }));
    assert.equal(p.existing?.kind, 'reserved');
    refused(await box.call('pki.sign-csr', { csr: server, reissue: true }), 'KH_PKI_SUBJECT_IN_USE', /server certificate's/);
  });
});

describe('issuing a client certificate under a name in use', () => {
  test('preview, refusal without reissue, re-issue with it, recorded as a re-issue', { timeout: 120_000 }, async () => {
    const fresh = ok<{ subject: string; existing?: Existing }>(await box.call('pki.preview-client', { name: 'app7' }));
    assert.deepEqual(fresh, { subject: 'CN=app7,O=Keyhaven' });
    const first = ok<{ serial: string; reissueOf: unknown[] }>(await box.call('pki.issue-client', { name: 'app7', purpose: 'application' }));
    assert.deepEqual(first.reissueOf, []);
    const inUse = ok<{ subject: string; existing?: Existing }>(await box.call('pki.preview-client', { name: 'app7' }));
    assert.equal(inUse.existing?.serial, first.serial);
    assert.equal(inUse.existing?.kind, 'client');
    refused(await box.call('pki.issue-client', { name: 'app7', purpose: 'application' }), 'KH_PKI_ALREADY_EXISTS', new RegExp(`serial ${first.serial}`));
    const r = await box.call('pki.issue-client', { name: 'app7', purpose: 'application', reissue: true });
    const second = ok<{ serial: string; reissueOf: { serial: string }[] }>(r);
    assert.deepEqual(second.reissueOf.map((x) => x.serial), [first.serial]);
    assert.ok(r.ok && new RegExp(`^re-issued client certificate 'app7' .*\\(re-issue of serial ${first.serial}, valid until`).test(r.summary), r.ok ? r.summary : '');
    const record = (await adminRecords()).find((x) => x.operation === 'Issue Client Certificate' && x.objectId === second.serial);
    assert.ok(record?.reason.includes(`re-issue of serial ${first.serial}`), JSON.stringify(record));
    // The server's host name as a client name would carry the server's subject.
    assert.equal(ok<{ existing?: Existing }>(await box.call('pki.preview-client', { name: 'keyhaven-test' })).existing?.kind, 'reserved');
    refused(await box.call('pki.preview-client', { name: '../etc' }), 'KH_PKI_BAD_INPUT', /client name/);
  });
});
