// Refused handshakes name the client (address and source port) in the audit log, and TLS 1.2
// client-initiated renegotiation is refused: the connection is closed (RFC 5746 makes
// renegotiation safe, not cheap — each one costs the server a full handshake; KMIP needs none).
// TLS 1.3 has no renegotiation (RFC 8446 §4.1.2 allows no second ClientHello). Also the
// per-minute budget of refusal records. A refusal of a presented certificate (revoked, from another
// CA) names its subject and serial, so the SIEM can tell which client was turned away.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import tls from 'node:tls';
import type { KmipService, Session } from '../../server/kmip-service.js';
import { Enum } from '../../server/kmip/tables.js';
import { KmipListener } from '../../server/net/tls-listener.js';
import { initPki, issueClient, revoke } from '../../server/pki/index.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse } from '../support/requests.js';
import { prepareDataDir, startTestServer, type TestServer } from '../support/server.js';
import { assertHealthy, fromAddress, lastSeq, openSilentFrom, queryRequest, sleep, waitForAudit } from './helpers.js';

const tlsFiles = (f: ClientFiles) => ({ ca: readFileSync(f.ca), ...(f.cert ? { cert: readFileSync(f.cert), key: readFileSync(f.key) } : {}) });

describe('refused handshakes and renegotiation', () => {
  let ts: TestServer;
  let stranger: ClientFiles;

  before(async () => {
    ts = await startTestServer();
    // Another CA issuing a certificate with the dev client's name: only the signature differs.
    const otherCa = join(ts.dir, 'other-ca');
    await initPki(otherCa, { bits: 2048, name: 'dev' });
    const foreign = await issueClient(otherCa, { name: 'dev', bits: 2048 });
    stranger = { ca: ts.dev.ca, cert: foreign.certPath, key: foreign.keyPath! };
  });
  after(async () => {
    await ts?.stop();
  });

  /** Connects from `from` with `files`, sends a Query once the handshake is done; resolves on close. */
  const refusedConnection = async (files: ClientFiles, from: string, maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<number | undefined> => {
    const socket = tls.connect({ host: '127.0.0.1', port: ts.port, servername: 'localhost', maxVersion, ...fromAddress(from), ...tlsFiles(files) });
    let localPort: number | undefined;
    socket.on('connect', () => (localPort = socket.localPort));
    socket.on('secureConnect', () => socket.write(queryRequest()));
    socket.on('error', () => {});
    socket.resume();
    // The server must close it; a connection it keeps open fails here instead of hanging the suite.
    let timer: NodeJS.Timeout | undefined;
    const inTime = await new Promise<boolean>((r) => {
      socket.once('close', () => r(true));
      timer = setTimeout(() => r(false), 5000);
    });
    clearTimeout(timer);
    if (!inTime) socket.destroy();
    assert.ok(inTime, `the server did not close the refused connection from ${from} within 5 s`);
    return localPort;
  };

  test('a client with an untrusted certificate is refused, and the audit record names its address and port', async (t) => {
    const seq = lastSeq(ts);
    const localPort = await refusedConnection(stranger, '127.0.0.7');
    const records = await waitForAudit(ts, seq, (r) => r.operation === 'Handshake');
    const refusal = records.find((r) => r.operation === 'Handshake');
    assert.ok(refusal, `no Handshake refusal recorded: ${JSON.stringify(records)}`);
    assert.match(refusal.reason, /^refused: client certificate not accepted/);
    assert.equal(refusal.address, '127.0.0.7', `the refusal names the client address: ${JSON.stringify(refusal)}`);
    assert.ok(localPort, 'the client connected');
    assert.match(refusal.reason, new RegExp(`source port ${localPort}\\b`), 'and the source port');
    t.diagnostic(`audit: address ${refusal.address}, "${refusal.reason}"`);
  });


  test('the refusal of a revoked certificate names its subject, serial and the client address (TLS 1.3 and 1.2)', async (t) => {
    const files = await ts.issue('revoked-client');
    const x = new X509Certificate(readFileSync(files.cert));
    const serial = x.serialNumber.toLowerCase().replace(/^(00)+/, '');
    const before = await RawConnection.connect(ts.port, files);
    assert.ok(await before.roundTrip(queryRequest()), 'served before the revocation');
    before.close();
    await revoke(ts.dir, { serial }, 'keyCompromise');
    assert.equal(ts.server.reloadTls(), true);
    for (const [from, version] of [['127.0.0.11', 'TLSv1.3'], ['127.0.0.12', 'TLSv1.2']] as const) {
      const seq = lastSeq(ts);
      const localPort = await refusedConnection(files, from, version);
      const records = await waitForAudit(ts, seq, (r) => r.operation === 'Handshake');
      const refusal = records.find((r) => r.operation === 'Handshake');
      assert.ok(refusal, `${version}: no Handshake refusal recorded: ${JSON.stringify(records)}`);
      assert.equal(refusal.address, from, `${version}: the address`);
      assert.match(refusal.reason, /^refused: client certificate not accepted: CERT_REVOKED; /);
      assert.ok(refusal.reason.includes('certificate subject "CN=revoked-client,O=Keyhaven"'), `${version}: the subject: ${refusal.reason}`);
      assert.ok(refusal.reason.includes(`serial ${serial}`), `${version}: the serial ${serial}: ${refusal.reason}`);
      assert.ok(refusal.reason.endsWith(`; source port ${localPort}`), `${version}: the source port: ${refusal.reason}`);
      assert.deepEqual(records.filter((r) => r.operation === 'Query'), [], 'no KMIP request was read');
      t.diagnostic(`${version}: ${refusal.address} "${refusal.reason}"`);
    }
  });

  test('the refusal of a certificate from another CA names its subject and serial; no certificate, none', async () => {
    let seq = lastSeq(ts);
    await refusedConnection(stranger, '127.0.0.13');
    let refusal = (await waitForAudit(ts, seq, (r) => r.operation === 'Handshake')).find((r) => r.operation === 'Handshake');
    const serial = new X509Certificate(readFileSync(stranger.cert)).serialNumber.toLowerCase().replace(/^(00)+/, '');
    assert.ok(refusal);
    assert.equal(refusal.address, '127.0.0.13');
    assert.match(refusal.reason, new RegExp(`^refused: client certificate not accepted: \\w+; certificate subject "CN=dev,O=Keyhaven" serial ${serial}; source port \\d+$`));
    seq = lastSeq(ts);
    await refusedConnection({ ...ts.dev, cert: '', key: '' }, '127.0.0.14');
    refusal = (await waitForAudit(ts, seq, (r) => r.operation === 'Handshake')).find((r) => r.operation === 'Handshake');
    assert.ok(refusal);
    assert.match(refusal.reason, /^refused: the client did not return a certificate; source port \d+$/);
  });

  test('TLS 1.2 renegotiation (Node client) closes the connection; other clients keep being served', async (t) => {
    const bystander = await RawConnection.connect(ts.port, ts.dev);
    assert.ok(await bystander.roundTrip(queryRequest()));
    const seq = lastSeq(ts);
    const c = await RawConnection.connect(ts.port, ts.dev, { maxVersion: 'TLSv1.2', ...fromAddress('127.0.0.8') });
    assert.equal(c.socket.getProtocol(), 'TLSv1.2');
    assert.ok(await c.roundTrip(queryRequest()), 'served before renegotiating');
    const renegotiated = await new Promise<string>((resolve) => {
      const started = c.socket.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ? `failed: ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'completed'));
      if (!started) resolve('not started');
      void c.whenClosed.then(() => resolve('cut short by the close'));
      setTimeout(() => resolve('no outcome'), 3000).unref();
    });
    assert.equal(await c.waitClosed(3000), true, `the renegotiating connection is closed (renegotiation ${renegotiated})`);
    const after = await waitForAudit(ts, seq, (r) => r.reason === 'refused: renegotiation');
    const refusal = after.find((r) => r.reason === 'refused: renegotiation');
    assert.ok(refusal, `renegotiation audited: ${JSON.stringify(after)}`);
    assert.equal(refusal.address, '127.0.0.8');
    assert.match(refusal.identity, /CN=/, 'with the client identity');
    assert.ok(await bystander.roundTrip(queryRequest()), 'an open connection of another client is unaffected');
    bystander.close();
    t.diagnostic(`Node client renegotiation ${renegotiated}; connection closed after ${c.closedAfterMs} ms; audit "${refusal.operation}: ${refusal.reason}"`);
    await assertHealthy(ts);
  });

  test('TLS 1.2 renegotiation (openssl s_client, "R") closes the connection', async (t) => {
    const seq = lastSeq(ts);
    const p = spawn('openssl', [
      's_client', '-tls1_2', '-connect', `127.0.0.1:${ts.port}`, '-servername', 'localhost',
      '-CAfile', ts.dev.ca, '-cert', ts.dev.cert, '-key', ts.dev.key, '-no_ign_eof',
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 5000;
    while (!/Verify return code: 0/.test(out) && Date.now() < deadline) await sleep(25);
    assert.match(out, /Verify return code: 0/, `s_client completed its handshake: ${out.slice(-500)}`);
    const t0 = Date.now();
    p.stdin.write('R\n');
    const code = await Promise.race([exited, sleep(3000).then(() => 'running' as const)]);
    if (code === 'running') p.kill();
    assert.notEqual(code, 'running', `s_client is still connected 3 s after renegotiating: ${out.slice(-300)}`);
    assert.match(out, /RENEGOTIATING/);
    const records = await waitForAudit(ts, seq, (r) => r.reason === 'refused: renegotiation');
    assert.ok(records.some((r) => r.reason === 'refused: renegotiation' && r.address === '127.0.0.1'), JSON.stringify(records));
    t.diagnostic(`s_client exited (${code}) ${Date.now() - t0} ms after "R"`);
    const c = await RawConnection.connect(ts.port, ts.dev);
    assert.equal(parseResponse((await c.roundTrip(queryRequest()))!).items[0]?.status, Enum.ResultStatus.Success);
    c.close();
  });
});

describe('the per-minute budget of refusal records', () => {
  test('beyond 60 a minute, refusals are counted and reported once a minute with the addresses', async (t) => {
    // Only setInterval is faked (the listener's minute clock); sockets and other timers are real.
    mock.timers.enable({ apis: ['setInterval'] });
    const { dir } = await prepareDataDir();
    const events: { session: Session; operation: string; reason: string }[] = [];
    const service = { auditEvent: (session: Session, operation: string, reason: string) => events.push({ session, operation, reason }) };
    const listener = new KmipListener({
      host: '127.0.0.1', port: 0, pkiDataDir: dir, minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 60_000, helloTimeoutMs: 60_000, maxConnections: 10, maxPendingHandshakes: 10, maxPendingHandshakesPerSource: 1,
      limits: { maxMessageBytes: 1 << 20, readTimeoutMs: 1000, idleTimeoutMs: 10_000, maxQueuedMessages: 4 },
      service: service as unknown as KmipService,
      log: () => {},
    });
    try {
      const { port } = await listener.listen();
      // One pending connection from each address; 50 + 20 more are refused (per-address limit 1).
      const held = await openSilentFrom(port, ['127.0.0.20', '127.0.0.21']);
      const refused = [...(await openSilentFrom(port, ['127.0.0.20'], 50)), ...(await openSilentFrom(port, ['127.0.0.21'], 20))];
      await Promise.race([Promise.all(refused.map((s) => s.whenClosed)), sleep(5000)]);
      const individual = events.filter((e) => e.operation === 'Handshake');
      assert.equal(individual.length, 60, 'at most 60 refusals recorded individually');
      assert.ok(individual.every((e) => /^127\.0\.0\.2[01]$/.test(e.session.address)));
      mock.timers.tick(60_000);
      const summary = events.at(-1)!;
      assert.equal(summary.reason, '10 further refused connections not recorded individually, from 127.0.0.21 (10)');
      assert.equal(summary.session.address, '127.0.0.21', 'a single address is also the record\'s address');
      t.diagnostic(`summary record: "${summary.reason}"`);
      held.forEach((s) => s.socket.destroy());
    } finally {
      mock.timers.reset();
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
