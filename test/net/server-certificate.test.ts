// Renewing the server certificate of a running key server: connections opened before keep doing
// KMIP, new handshakes get the new certificate (reloadTls, SIGHUP to the real process, or the
// listener seeing server.crt change); a key that does not fit the certificate, or a file that is
// not a certificate, is refused and the old pair stays in use. The server warns the SIEM (audit
// record → syslog) when its own certificate is within 60 days of expiry, at start and then daily.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import pino from 'pino';
import { parseConfig, type Config } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { CertificateExpiryWatch, checkServerPair, daysLeft } from '../../server/net/server-certificate.js';
import { ensureDevPki, issueServer, pkiPaths } from '../../server/pki/index.js';
import { startServer } from '../../server/server.js';
import { KEYHAVEN } from '../appliance/helpers/admin-sandbox.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse } from '../support/requests.js';
import { prepareDataDir, startTestServer, type TestServer } from '../support/server.js';
import { parse5424, TcpCollector } from '../support/syslog-collector.js';
import { lastSeq, queryRequest, sleep, waitForAudit } from './helpers.js';

const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

/** The SHA-256 fingerprint of the certificate a new handshake gets. */
async function servedFingerprint(port: number, dev: ClientFiles): Promise<string> {
  const c = await RawConnection.connect(port, dev);
  try {
    return c.socket.getPeerX509Certificate()!.fingerprint256;
  } finally {
    c.close();
  }
}

async function queryWorks(c: RawConnection): Promise<boolean> {
  const r = await c.roundTrip(queryRequest());
  return r !== undefined && parseResponse(r).items[0]?.status === Enum.ResultStatus.Success;
}

const fileFingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

describe('renewing the server certificate of a running key server', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts?.stop();
  });

  test('a connection opened before the renewal keeps working; new handshakes get the new certificate', async (t) => {
    const p = pkiPaths(ts.dir);
    const oldFingerprint = fileFingerprint(p.serverCert);
    const oldKey = readFileSync(p.serverKey, 'utf8');
    const open = await RawConnection.connect(ts.port, ts.dev);
    assert.equal(open.socket.getPeerX509Certificate()!.fingerprint256, oldFingerprint);
    assert.ok(await queryWorks(open));
    const seq = lastSeq(ts);
    const renewed = await issueServer(ts.dir, { ...SERVER_NAMES, bits: 2048, force: true });
    assert.notEqual(readFileSync(p.serverKey, 'utf8'), oldKey, 'a new key');
    assert.equal(ts.server.reloadTls(), true);
    const newFingerprint = renewed.fingerprint;
    assert.equal(fileFingerprint(p.serverCert), newFingerprint);
    assert.equal(await servedFingerprint(ts.port, ts.dev), newFingerprint, 'a new handshake sees the new certificate');
    for (let i = 0; i < 3; i++) assert.ok(await queryWorks(open), `request ${i + 1} on the connection opened before the renewal`);
    assert.equal(open.closed, false);
    const records = await waitForAudit(ts, seq, (r) => r.operation === 'Reload Certificates');
    const reload = records.find((r) => r.operation === 'Reload Certificates');
    assert.ok(reload, JSON.stringify(records));
    assert.equal(reload.result, 'success');
    assert.ok(reload.reason.includes(newFingerprint) && reload.reason.includes(`serial ${renewed.serial.replace(/^(00)+/, '')}`), reload.reason);
    open.close();
    t.diagnostic(`${oldFingerprint.slice(0, 11)}… → ${newFingerprint.slice(0, 11)}…; audit "${reload.reason}"`);
  });

  test('a key that is not the certificate\'s, or a file that is not a certificate, is refused: the old pair stays', async () => {
    const p = pkiPaths(ts.dir);
    const good = { cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey) };
    const fingerprint = fileFingerprint(p.serverCert);
    const open = await RawConnection.connect(ts.port, ts.dev);
    const cases: [string, () => void, RegExp][] = [
      ['another key (a renewal that stopped half-way)', () => writeFileSync(p.serverKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' })), /server\.key is not the key of server\.crt/],
      ['a certificate file that is not PEM', () => writeFileSync(p.serverCert, 'not a certificate\n'), /server\.crt is not a PEM certificate/],
      [
        'a matching pair from another CA',
        () => {
          const other = pkiPaths(join(ts.dir, 'other'));
          writeFileSync(p.serverKey, readFileSync(other.serverKey));
          writeFileSync(p.serverCert, readFileSync(other.serverCert));
        },
        /was not signed by the CA in ca\.crt/,
      ],
    ];
    await ensureDevPki(join(ts.dir, 'other'), { bits: 2048 });
    try {
      for (const [name, breakIt, why] of cases) {
        writeFileSync(p.serverCert, good.cert);
        writeFileSync(p.serverKey, good.key);
        breakIt();
        const seq = lastSeq(ts);
        assert.equal(ts.server.reloadTls(), false, `${name}: refused`);
        const records = await waitForAudit(ts, seq, (r) => r.operation === 'Reload Certificates');
        const refusal = records.find((r) => r.operation === 'Reload Certificates');
        assert.ok(refusal, `${name}: audited`);
        assert.equal(refusal.result, 'failure');
        assert.match(refusal.reason, why, name);
        assert.equal(await servedFingerprint(ts.port, ts.dev), fingerprint, `${name}: new handshakes still get the previous certificate`);
        assert.ok(await queryWorks(open), `${name}: the open connection still works`);
      }
    } finally {
      writeFileSync(p.serverCert, good.cert);
      writeFileSync(p.serverKey, good.key);
      open.close();
    }
    assert.equal(ts.server.reloadTls(), true, 'the restored pair loads');
  });

  test('without a reload request, the listener picks up a new server.crt within seconds', async () => {
    const renewed = await issueServer(ts.dir, { ...SERVER_NAMES, bits: 2048, force: true });
    const expected = fileFingerprint(renewed.certPath);
    const deadline = Date.now() + 10_000;
    let seen = await servedFingerprint(ts.port, ts.dev);
    while (seen !== expected && Date.now() < deadline) {
      await sleep(250);
      seen = await servedFingerprint(ts.port, ts.dev);
    }
    assert.equal(seen, expected);
  });
});

describe('SIGHUP to the key server process', () => {
  test('`keyhaven dev` reloads its certificate on SIGHUP and keeps serving the open connection', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-hup-'));
    const { dev } = await prepareDataDir(dir);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(process.execPath, [KEYHAVEN, 'dev', '--data-dir', dir, '--kmip-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    t.after(async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 30_000;
    while (!/Stop with Ctrl-C/.test(out)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `the dev server did not start: ${out}`);
      await sleep(100);
    }
    const open = await RawConnection.connect(port, dev);
    const oldFingerprint = open.socket.getPeerX509Certificate()!.fingerprint256;
    // With nothing changed on disk, only the signal can cause a reload (the file watch has nothing to see).
    const reloads = () => out.match(/PKI files reloaded/g)?.length ?? 0;
    assert.equal(reloads(), 0);
    child.kill('SIGHUP');
    const hupDeadline = Date.now() + 5000;
    while (reloads() === 0 && Date.now() < hupDeadline) await sleep(50);
    assert.equal(reloads(), 1, `SIGHUP reloaded the PKI files: ${out.slice(-2000)}`);
    assert.equal(child.exitCode, null, 'SIGHUP did not end the process');
    // Written by another process while the server runs (as the appliance's helper does).
    const renewed = await issueServer(dir, { ...SERVER_NAMES, bits: 2048, force: true });
    const expected = fileFingerprint(renewed.certPath);
    assert.notEqual(expected, oldFingerprint);
    const sent = Date.now();
    child.kill('SIGHUP');
    let seen = await servedFingerprint(port, dev);
    while (seen !== expected && Date.now() - sent < 5000) {
      await sleep(50);
      seen = await servedFingerprint(port, dev);
    }
    assert.equal(seen, expected, `after SIGHUP: ${out.slice(-2000)}`);
    assert.ok(await queryWorks(open), 'the connection opened before still works');
    assert.equal(child.exitCode, null, 'SIGHUP did not end the process');
    assert.match(out, /SIGHUP: reloading/);
    open.close();
    t.diagnostic(`new certificate served ${Date.now() - sent} ms after SIGHUP`);
  });
});

describe('the SIEM is warned before the server certificate expires', () => {
  test('a server whose certificate expires in 10 days sends a warning record to syslog at start', async (t) => {
    const collector = await TcpCollector.listen();
    const { dir } = await prepareDataDir();
    const renewed = await issueServer(dir, { ...SERVER_NAMES, bits: 2048, force: true, days: 10 });
    const audit = { syslog: { host: '127.0.0.1', port: collector.port, transport: 'tcp' } } as unknown as Config['audit'];
    const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } }, audit }, 'test');
    config.listeners.kmip.port = 0;
    const server = await startServer(config, pino({ level: 'silent' }));
    t.after(async () => {
      await server.close();
      await collector.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const message = parse5424(await collector.waitFor(/Server Certificate Expiry/, 10_000));
    const sd = message.sd['keyhaven@32473']!;
    assert.equal(sd.operation, 'Server Certificate Expiry');
    assert.equal(message.severity, 4, 'severity warning (RFC 5424 §6.2.1)');
    assert.match(sd.reason!, /expires on \S+, in (9|10) days/);
    assert.ok(sd.reason!.includes(`serial ${renewed.serial.replace(/^(00)+/, '')}`), sd.reason);
    assert.match(sd.reason!, /Renew the server certificate/);
    assert.equal(server.audit.tail(50).filter((r) => r.operation === 'Server Certificate Expiry').length, 1, 'also in the local audit log, once');
    t.diagnostic(message.msg);
  });

  test('a server whose certificate has two years left sends none', async () => {
    const ts = await startTestServer();
    try {
      await sleep(200);
      assert.deepEqual(ts.server.audit.tail(50).filter((r) => r.operation === 'Server Certificate Expiry'), []);
    } finally {
      await ts.stop();
    }
  });

  test('the check runs daily on the certificate being served, and stops warning once it is renewed', async () => {
    const { dir } = await prepareDataDir();
    try {
      const p = pkiPaths(dir);
      const read = (r: { certPath: string; keyPath: string }) => checkServerPair({ ca: readFileSync(p.caCert), cert: readFileSync(r.certPath), key: readFileSync(r.keyPath) });
      let served = read(await issueServer(dir, { ...SERVER_NAMES, bits: 2048, force: true, days: 90 }));
      const start = Date.now();
      let now = start;
      const warnings: string[] = [];
      mock.timers.enable({ apis: ['setInterval'] });
      const watch = new CertificateExpiryWatch({ certificate: () => served, warn: (w) => warnings.push(w), clock: () => now });
      try {
        watch.start();
        assert.deepEqual(warnings, [], 'about 90 days left: no warning at start');
        const due: number[] = [];
        for (let day = 1; day <= 35; day++) {
          now = start + day * 86_400_000;
          mock.timers.tick(86_400_000);
          if (daysLeft(served, now) <= 60) due.push(daysLeft(served, now));
        }
        assert.ok(due.length >= 5, `some days within 60 days of expiry: ${due.join(',')}`);
        assert.equal(warnings.length, due.length, `one warning a day from 60 days before: ${warnings.join(' | ')}`);
        assert.match(warnings[0]!, /, in 60 days: renew it/);
        assert.match(warnings.at(-1)!, new RegExp(`, in ${due.at(-1)} days: `));
        served = read(await issueServer(dir, { ...SERVER_NAMES, bits: 2048, force: true }));
        now += 86_400_000;
        mock.timers.tick(86_400_000);
        assert.equal(warnings.length, due.length, 'the renewed certificate is not warned about');
        now = Date.parse(served.validTo) + 1000;
        assert.match(watch.check()!, /EXPIRED on /, 'an expired certificate');
      } finally {
        watch.stop();
        mock.timers.reset();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
