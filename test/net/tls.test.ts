// The KMIP listener's TLS and identity checks, against a real server: which handshakes are
// refused (and that no KMIP byte of theirs is read — the audit log shows a Handshake refusal and no
// request record), which protocol versions and suites are accepted, revocation taking effect while
// the server runs (new handshakes, the open connection, a resumed session), and the optional
// Username/Password credential on top of the certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { structure, textString, enumeration } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { hashPassword } from '../../server/net/credentials.js';
import {
  generateRsaKey,
  initPki,
  issueClient,
  loadCa,
  pkiPaths,
  revoke,
  signLeaf,
  subjectFromX509,
  type Purpose,
} from '../../server/pki/index.js';
import { newAttribute, OID } from '../../server/pki/subject.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse, request } from '../support/requests.js';
import { prepareDataDir, startTestServer, type TestServer } from '../support/server.js';
import { assertHealthy, auditSince, CONNECTION_EVENTS, lastSeq, queryRequest, waitForAudit } from './helpers.js';

interface Outcome {
  /** The client saw its side of the handshake complete. */
  secure: boolean;
  protocol?: string | null;
  cipher?: string;
  /** Responses to the Query sent right after the handshake. */
  responses: Buffer[];
  error?: string;
  reused?: boolean;
  session?: Buffer;
}

/**
 * Connects, sends one Query as soon as the client considers the handshake done, and reports what
 * came back before the connection ended (or 3 s passed). A refused client gets no response.
 */
function attempt(port: number, options: tls.ConnectionOptions, waitMs = 3000): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { secure: false, responses: [] };
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => socket.end(), waitMs);
    socket.on('session', (s: Buffer) => (out.session = s));
    socket.on('secureConnect', () => {
      out.secure = true;
      out.protocol = socket.getProtocol();
      out.cipher = socket.getCipher().name;
      out.reused = socket.isSessionReused();
      socket.write(queryRequest());
    });
    socket.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.length >= 8 && buffered.length >= 8 + buffered.readUInt32BE(4)) {
        out.responses.push(buffered.subarray(0, 8 + buffered.readUInt32BE(4)));
        // keep the connection a moment for a TLS 1.3 session ticket, then close
        setTimeout(() => socket.end(), 50);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (out.error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const filesOptions = (f: ClientFiles): tls.ConnectionOptions => ({ ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) });

function assertAnswered(o: Outcome, what: string): void {
  assert.equal(o.responses.length, 1, `${what}: expected an answer, got ${JSON.stringify({ ...o, responses: o.responses.length, session: undefined })}`);
  assert.equal(parseResponse(o.responses[0]!).items[0]?.status, Enum.ResultStatus.Success);
}

describe('TLS and client identity on the KMIP listener', () => {
  let ts: TestServer;
  let otherCaDir: string;
  const files: Record<string, ClientFiles> = {};

  /** A client certificate signed by the server's CA with the given EKUs (empty: no EKU extension). */
  async function leaf(name: string, extKeyUsage: Purpose[], opts: { now?: Date; days?: number } = {}): Promise<ClientFiles> {
    const key = await generateRsaKey(2048);
    const signed = signLeaf(loadCa(pkiPaths(ts.dir)), {
      publicKey: key.publicKey,
      subject: [newAttribute(OID.commonName, name), newAttribute(OID.organizationName, 'Keyhaven')],
      days: opts.days ?? 30,
      extKeyUsage,
      ...(opts.now ? { now: opts.now } : {}),
    });
    const cert = join(ts.dir, `${name}.crt`);
    const keyFile = join(ts.dir, `${name}.key`);
    writeFileSync(cert, signed.certPem);
    writeFileSync(keyFile, key.privateKeyPem);
    return { ca: ts.dev.ca, cert, key: keyFile };
  }

  before(async () => {
    ts = await startTestServer();
    otherCaDir = join(ts.dir, 'other-ca');
    // Same CA name and same client name as the real ones: only the signature tells them apart.
    await initPki(otherCaDir, { bits: 2048, name: 'dev' });
    const foreign = await issueClient(otherCaDir, { name: 'dev', bits: 2048 });
    files['a certificate from another CA (same subject)'] = { ca: ts.dev.ca, cert: foreign.certPath, key: foreign.keyPath };
    files['serverAuth EKU only'] = await leaf('server-only', ['serverAuth']);
    files['no EKU extension at all'] = await leaf('no-eku', []);
    files['expired certificate'] = await leaf('expired', ['clientAuth'], { now: new Date(Date.now() - 10 * 86_400_000), days: 2 });
    files['valid control (clientAuth via signLeaf)'] = await leaf('control', ['clientAuth']);
  });
  after(async () => {
    await ts?.stop();
  });

  test('TLS 1.3 and TLS 1.2 ECDHE-GCM are accepted', async (t) => {
    const v13 = await attempt(ts.port, { ...filesOptions(ts.dev), minVersion: 'TLSv1.3' });
    assertAnswered(v13, 'TLS 1.3');
    assert.equal(v13.protocol, 'TLSv1.3');
    for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384']) {
      const v12 = await attempt(ts.port, { ...filesOptions(ts.dev), maxVersion: 'TLSv1.2', ciphers: cipher });
      assertAnswered(v12, `TLS 1.2 ${cipher}`);
      assert.equal(v12.protocol, 'TLSv1.2');
      assert.equal(v12.cipher, cipher);
    }
    // the signLeaf-made control certificate works, so the refusals below are about what differs
    assertAnswered(await attempt(ts.port, filesOptions(files['valid control (clientAuth via signLeaf)']!)), 'control certificate');
    t.diagnostic(`accepted: TLSv1.3 ${v13.cipher}; TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384`);
  });

  /** What to refuse, and the reason the audit record must give (so it is refused for that reason). */
  const refusals: [string, () => tls.ConnectionOptions, RegExp][] = [
    ['no client certificate (TLS 1.3)', () => ({ ca: readFileSync(ts.dev.ca), minVersion: 'TLSv1.3' }), /did not return a certificate/],
    ['no client certificate (TLS 1.2)', () => ({ ca: readFileSync(ts.dev.ca), maxVersion: 'TLSv1.2' }), /did not return a certificate/],
    ['a certificate from another CA (same subject)', () => filesOptions(files['a certificate from another CA (same subject)']!), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER/],
    ['serverAuth EKU only', () => filesOptions(files['serverAuth EKU only']!), /INVALID_PURPOSE/],
    ['no EKU extension at all', () => filesOptions(files['no EKU extension at all']!), /lacks the clientAuth extended key usage/],
    ['no EKU extension at all (TLS 1.2)', () => ({ ...filesOptions(files['no EKU extension at all']!), maxVersion: 'TLSv1.2' }), /lacks the clientAuth/],
    ['expired certificate', () => filesOptions(files['expired certificate']!), /CERT_HAS_EXPIRED/],
    // the client is allowed the old protocols and suites so that it is the server that refuses
    ['TLS 1.0', () => ({ ...filesOptions(ts.dev), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }), /unsupported protocol/],
    ['TLS 1.1', () => ({ ...filesOptions(ts.dev), minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /unsupported protocol/],
    ['weak cipher AES128-SHA (TLS 1.2)', () => ({ ...filesOptions(ts.dev), maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }), /no shared cipher/],
    ['static-RSA AES256-GCM-SHA384, no forward secrecy (TLS 1.2)', () => ({ ...filesOptions(ts.dev), maxVersion: 'TLSv1.2', ciphers: 'AES256-GCM-SHA384' }), /no shared cipher/],
    ['CBC suite ECDHE-RSA-AES128-SHA256 (TLS 1.2)', () => ({ ...filesOptions(ts.dev), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' }), /no shared cipher/],
  ];

  for (const [name, options, reason] of refusals) {
    test(`refused before any KMIP is read: ${name}`, async (t) => {
      const seq = lastSeq(ts);
      const o = await attempt(ts.port, options());
      assert.equal(o.responses.length, 0, `${name}: the server answered a KMIP request`);
      const records = await waitForAudit(ts, seq, (r) => r.operation === 'Handshake');
      const handshake = records.filter((r) => r.operation === 'Handshake');
      assert.ok(handshake.length >= 1, `${name}: no Handshake refusal in the audit log: ${JSON.stringify(records)}`);
      assert.ok(handshake.every((r) => r.result === 'failure' && /^refused: /.test(r.reason)));
      assert.match(handshake[0]!.reason, reason, `${name}: refused for another reason than expected`);
      const requests = records.filter((r) => !CONNECTION_EVENTS.has(r.operation));
      assert.deepEqual(requests, [], `${name}: a request record means KMIP bytes were read`);
      t.diagnostic(`${name}: client saw ${o.secure ? 'handshake done, then ' : ''}${o.error ?? 'close'}; audit "${handshake[0]!.reason}"`);
    });
  }

  test('the server still serves good clients after the refusals', async () => {
    await assertHealthy(ts);
  });

  test('revocation: the open connection is closed, new and resumed handshakes are refused', async (t) => {
    const victim = await ts.issue('victim');
    const opts = { ...filesOptions(victim), maxVersion: 'TLSv1.2' as const };
    // Resumption works before the revocation, so its refusal afterwards means something.
    const first = await attempt(ts.port, opts);
    assertAnswered(first, 'victim before revocation');
    assert.ok(first.session, 'the server issued a session ticket');
    const resumed = await attempt(ts.port, { ...opts, session: first.session! });
    assertAnswered(resumed, 'victim resuming before revocation');
    assert.equal(resumed.reused, true, 'the session was resumed');
    const ticket13 = await attempt(ts.port, { ...filesOptions(victim), minVersion: 'TLSv1.3' });
    assertAnswered(ticket13, 'victim over TLS 1.3');
    assert.ok(ticket13.session, 'a TLS 1.3 session ticket arrived');

    const open = await RawConnection.connect(ts.port, victim);
    assert.ok(await open.roundTrip(queryRequest()), 'the open connection works before the revocation');
    const bystander = await RawConnection.connect(ts.port, ts.dev);

    const seq = lastSeq(ts);
    const revokedAt = Date.now();
    await revoke(ts.dir, { name: 'victim' }, 'keyCompromise');
    assert.equal(await open.waitClosed(7000), true, 'the revoked client\'s open connection is closed within the CRL poll interval');
    const closedIn = Date.now() - revokedAt;
    const records = auditSince(ts, seq);
    assert.ok(
      records.some((r) => r.operation === 'Connection' && /revoked/.test(r.reason) && /CN=victim/.test(r.identity)),
      `audit records the revocation close: ${JSON.stringify(records)}`,
    );
    assert.ok(await bystander.roundTrip(queryRequest()), 'other clients keep their connection');
    bystander.close();

    for (const [what, o] of [
      ['new TLS 1.3 handshake', { ...filesOptions(victim), minVersion: 'TLSv1.3' }],
      ['new TLS 1.2 handshake', opts],
      ['resumed TLS 1.2 session', { ...opts, session: first.session! }],
      ['resumed TLS 1.3 session', { ...filesOptions(victim), minVersion: 'TLSv1.3', session: ticket13.session! }],
    ] as [string, tls.ConnectionOptions][]) {
      const s = lastSeq(ts);
      const r = await attempt(ts.port, o);
      assert.equal(r.responses.length, 0, `${what}: a revoked client was answered`);
      assert.notEqual(r.reused, true, `${what}: the revoked client's session was resumed`);
      const after = await waitForAudit(ts, s, (x) => x.operation === 'Handshake');
      const refusal = after.find((x) => x.operation === 'Handshake');
      assert.match(refusal?.reason ?? '(none)', /CERT_REVOKED|certificate is revoked/, `${what}: refused as revoked: ${JSON.stringify(after)}`);
      assert.deepEqual(after.filter((x) => !CONNECTION_EVENTS.has(x.operation)), [], `${what}: no request was read`);
      t.diagnostic(`revoked, ${what}: ${r.error ?? 'closed'}; audit "${refusal!.reason}"`);
    }
    t.diagnostic(`revoked client's open connection closed ${closedIn} ms after revoke()`);
    await assertHealthy(ts);
  });
});

describe('Username/Password credentials on top of the certificate', () => {
  let ts: TestServer;
  let other: ClientFiles;

  const credential = (username: string, password: string) =>
    structure(Tag.Authentication, [
      structure(Tag.Credential, [
        enumeration(Tag.CredentialType, Enum.CredentialType.UsernameAndPassword),
        structure(Tag.CredentialValue, [textString(Tag.Username, username), textString(Tag.Password, password)]),
      ]),
    ]);
  const query = (header: ReturnType<typeof credential>[] = []) =>
    request([{ operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)] }], { header });

  before(async () => {
    // The dev client's subject as the listener derives it (every dev PKI issues the same one).
    const probe = await prepareDataDir();
    const subject = subjectFromX509(new X509Certificate(readFileSync(probe.dev.cert)));
    rmSync(probe.dir, { recursive: true, force: true });
    ts = await startTestServer({ credentials: [{ subject, username: 'vcenter', passwordHash: hashPassword('correct horse') }] });
    other = await ts.issue('other');
  });
  after(async () => {
    await ts?.stop();
  });

  test('a configured subject needs the right username and password; other subjects are unaffected', async (t) => {
    const c = await RawConnection.connect(ts.port, ts.dev);
    const status = async (req: Buffer) => {
      const r = await c.roundTrip(req);
      assert.ok(r, 'answered');
      const item = parseResponse(r).items[0]!;
      return { status: item.status, reason: item.reason, message: item.message };
    };
    const failed = { status: Enum.ResultStatus.OperationFailed, reason: Enum.ResultReason.AuthenticationNotSuccessful };
    const cases: [string, Buffer, 'ok' | 'refused'][] = [
      ['no credential', query(), 'refused'],
      ['wrong password', query([credential('vcenter', 'wrong horse')]), 'refused'],
      ['wrong username', query([credential('admin', 'correct horse')]), 'refused'],
      ['empty password', query([credential('vcenter', '')]), 'refused'],
      ['right credential', query([credential('vcenter', 'correct horse')]), 'ok'],
      ['right credential again (cached)', query([credential('vcenter', 'correct horse')]), 'ok'],
      ['wrong password after a success', query([credential('vcenter', 'correct horsE')]), 'refused'],
    ];
    for (const [what, req, expect] of cases) {
      const s = await status(req);
      if (expect === 'ok') assert.equal(s.status, Enum.ResultStatus.Success, `${what}: ${s.message}`);
      else assert.deepEqual({ status: s.status, reason: s.reason }, failed, `${what}: ${JSON.stringify(s)}`);
      t.diagnostic(`dev client, ${what}: ${expect === 'ok' ? 'Success' : `Authentication Not Successful (${s.message})`}`);
    }
    c.close();

    const o = await RawConnection.connect(ts.port, other);
    const r = parseResponse((await o.roundTrip(query()))!);
    assert.equal(r.items[0]?.status, Enum.ResultStatus.Success, 'a subject without a configured credential needs none');
    const r2 = parseResponse((await o.roundTrip(query([credential('whatever', 'x')])))!);
    assert.equal(r2.items[0]?.status, Enum.ResultStatus.Success, 'and an unneeded credential does no harm');
    o.close();
  });
});
