// Renewing the server certificate of a running key server: connections opened before keep doing
// KMIP, new handshakes get the new certificate (reloadTls, SIGHUP to the real process, or the
// listener seeing server.crt change); a key that does not fit the certificate, or a file that is
// not a certificate, is refused and the old pair stays in use. The server warns the SIEM (audit
// record → syslog) when its own certificate is within 60 days of expiry, at start and then daily.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import pino from 'pino';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { parseConfig, type Config } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { CertificateExpiryWatch, checkServerPair } from '../../server/net/server-certificate.js';
import { ensureDevPki, issueServer, pkiPaths } from '../../server/pki/index.js';
import { startServer } from '../../server/server.js';
import { KEYHAVEN } from '../appliance/helpers/admin-sandbox.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse } from '../support/requests.js';
import { prepareDataDir, startTestServer, type TestServer } from '../support/server.js';
import { parse5424, TcpCollector } from '../support/syslog-collector.js';
import { freePort } from '../store/helpers.js';
import { lastSeq, queryRequest, sleep, waitForAudit } from './helpers.js';

const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

/** The SHA-256 fingerprint of the certificate a new handshake gets. */
async function servedFingerprint(port: number, dev: ClientFiles): Promise<string> {
  const c = await RawConnection.connect(port, dev);
  try {
    return c.serverCertificate!.fingerprint256;
  } finally {
    c.close();
  }
}

async function queryWorks(c: RawConnection): Promise<boolean> {
  const r = await c.roundTrip(queryRequest());
  return r !== undefined && parseResponse(r).items[0]?.status === Enum.ResultStatus.Success;
}

const fileFingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

const DAY_MS = 86_400_000;

/** Checks `done` every `everyMs` until it holds, for at most `ms` and at most ms/everyMs tries; returns whether it held. */
async function waitUntil(done: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let tries = Math.ceil(ms / everyMs); tries > 0 && Date.now() < deadline; tries--) {
    if (await done()) return true;
    await sleep(everyMs);
  }
  return done();
}

/** The complete JSON lines of a `keyhaven` process's log (pino), with their time in ms. */
const logLines = (out: string): { time: number; msg: string; fingerprint?: string }[] =>
  out
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const j = JSON.parse(l) as { time: string; msg: string; fingerprint?: string };
      return { ...j, time: Date.parse(j.time) };
    });

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
    assert.equal(open.serverCertificate!.fingerprint256, oldFingerprint);
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
    let seen = '';
    await waitUntil(async () => (seen = await servedFingerprint(ts.port, ts.dev)) === expected, 10_000, 250);
    assert.equal(seen, expected);
  });
});

describe('SIGHUP to the key server process', () => {
  test('`keyhaven dev` reloads its certificate on SIGHUP and keeps serving the open connection', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-hup-'));
    const { dev } = await prepareDataDir(dir);
    // `dev` takes a port number (1-65535, not 0): one the system just handed out; the banner names the bound one.
    const child = spawn(process.execPath, [KEYHAVEN, 'dev', '--data-dir', dir, '--kmip-port', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        if ((await Promise.race([gone, sleep(10_000).then(() => 'stuck')])) === 'stuck') {
          child.kill('SIGKILL');
          await gone;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });
    await waitUntil(() => /Stop with Ctrl-C/.test(out) || child.exitCode !== null, 30_000, 100);
    assert.ok(/Stop with Ctrl-C/.test(out) && child.exitCode === null, `the dev server did not start: ${out}`);
    const port = Number(/KMIP on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const open = await RawConnection.connect(port, dev);
    const oldFingerprint = open.serverCertificate!.fingerprint256;
    // The listener's account of a reload that read the files (one that finds them unchanged may say so).
    const reads = () => logLines(out).filter((l) => /^PKI files (reloaded|unchanged)/.test(l.msg));
    // With nothing changed on disk, only the signal can cause a reload (the file watch has nothing to see).
    assert.equal(reads().length, 0);
    child.kill('SIGHUP');
    await waitUntil(() => reads().length > 0, 5000);
    assert.equal(reads().length, 1, `SIGHUP reloaded the PKI files: ${out.slice(-2000)}`);
    assert.equal(child.exitCode, null, 'SIGHUP did not end the process');
    // Written by another process while the server runs (as the appliance's helper does): issued
    // aside beforehand (the same CA), so that putting it in place takes milliseconds.
    const p = pkiPaths(dir);
    const staged = join(dir, 'staged');
    cpSync(p.root, pkiPaths(staged).root, { recursive: true });
    const renewed = await issueServer(staged, { ...SERVER_NAMES, bits: 2048, force: true });
    const expected = fileFingerprint(renewed.certPath);
    assert.notEqual(expected, oldFingerprint);
    // The file watch also reloads a changed server.crt, at its next look (every 2 s). To tell the
    // signal's reload from the watch's, learn when the watch looks: server.crt rewritten unchanged
    // is noticed at its next look, and it cannot look again within 2 s of that.
    const seen0 = reads().length;
    writeFileAtomic(p.serverCert, readFileSync(p.serverCert), 0o644);
    await waitUntil(() => reads().length > seen0, 5000);
    assert.equal(reads().length, seen0 + 1, `the file watch noticed the rewritten server.crt: ${out.slice(-2000)}`);
    const watchLooked = reads().at(-1)!.time;
    writeFileAtomic(p.serverKey, readFileSync(pkiPaths(staged).serverKey), 0o600);
    writeFileAtomic(p.serverCert, readFileSync(pkiPaths(staged).serverCert), 0o644);
    const sent = Date.now();
    child.kill('SIGHUP');
    let seen = '';
    await waitUntil(async () => (seen = await servedFingerprint(port, dev)) === expected, 5000);
    assert.equal(seen, expected, `after SIGHUP: ${out.slice(-2000)}`);
    // The switch was the signal's: logged by the SIGHUP handler itself (right after its line), and
    // before the watch's next look could have seen the new files. (The log is written asynchronously.)
    const hups = () => logLines(out).filter((l) => /^SIGHUP: reloading/.test(l.msg)).length;
    const afterHup = () => logLines(out).slice(logLines(out).findLastIndex((l) => /^SIGHUP: reloading/.test(l.msg)) + 1);
    await waitUntil(() => hups() === 2 && afterHup().length > 0, 5000);
    assert.equal(hups(), 2, `two SIGHUPs handled: ${out.slice(-2000)}`);
    const switched = afterHup()[0];
    assert.deepEqual([switched?.msg, switched?.fingerprint], ['server certificate reloaded', expected], `the SIGHUP handler loaded the new certificate: ${out.slice(-2000)}`);
    assert.ok(switched!.time - watchLooked < 1500, `reloaded ${switched!.time - watchLooked} ms after the watch's last look: the watch could have done it`);
    assert.ok(await queryWorks(open), 'the connection opened before still works');
    assert.equal(child.exitCode, null, 'SIGHUP did not end the process');
    open.close();
    t.diagnostic(`new certificate served ${Date.now() - sent} ms after SIGHUP, ${switched!.time - watchLooked} ms after the file watch last looked`);
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
      // The clock starts 89.5 days before the expiry: on day d, 89 - d whole days and 12 hours are
      // left, so days 29 to 35 are within 60 days (60 down to 54 left) and no day is near a boundary.
      const start = Date.parse(served.validTo) - 89.5 * DAY_MS;
      let now = start;
      const warnings: string[] = [];
      mock.timers.enable({ apis: ['setInterval'] });
      const watch = new CertificateExpiryWatch({ certificate: () => served, warn: (w) => warnings.push(w), clock: () => now });
      try {
        watch.start();
        assert.deepEqual(warnings, [], '89 days left: no warning at start');
        const warnedOn: number[] = [];
        for (let day = 1; day <= 35; day++) {
          now = start + day * DAY_MS;
          const before = warnings.length;
          mock.timers.tick(DAY_MS);
          if (warnings.length > before) warnedOn.push(day);
        }
        assert.deepEqual(warnedOn, [29, 30, 31, 32, 33, 34, 35], `one warning a day from 60 days before: ${warnings.join(' | ')}`);
        assert.deepEqual(warnings.map((w) => /, in (\d+) days: renew it/.exec(w)?.[1]), ['60', '59', '58', '57', '56', '55', '54']);
        served = read(await issueServer(dir, { ...SERVER_NAMES, bits: 2048, force: true }));
        now += DAY_MS;
        mock.timers.tick(DAY_MS);
        assert.equal(warnings.length, 7, 'the renewed certificate is not warned about');
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
