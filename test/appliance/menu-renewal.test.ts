// Running the appliance for years (issue 11), driven as the administrator does, in a real
// pseudo-terminal against a real helper: the status screen shows the date and time (UTC and the
// configured zone), the uptime and the time synchronisation in words, and warns from 60 days before
// the server certificate expires, naming the menu entry; that entry renews it (same names, new key),
// shows the new fingerprint and expiry, asks the key server to reload, and is audited — and a real
// key server on the same data directory switches to it without dropping the open connection.
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { renewServerCertificateOption } from '../../appliance/menu/options/renew-server-certificate.js';
import { formatTime, formatUptime } from '../../appliance/menu/options/status.js';
import { Enum, issueClient, issueServer, parseConfig, pkiPaths, serverCertificateInfo } from '../../server/index.js';
import { startServer } from '../../server/run.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse } from '../support/requests.js';
import { queryRequest } from '../net/helpers.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

const LABEL = renewServerCertificateOption.label;
const spki = (pem: Buffer) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('hex');

let box: AdminSandbox;
/** What the sandbox's systemctl answers (the helper reads it at each request). */
let replies: string;
before(async () => {
  replies = join(mkdtempSync(join(tmpdir(), 'kh-replies-')), 'replies.json');
  writeFileSync(replies, '{}');
  box = await AdminSandbox.start({ env: { KEYHAVEN_SANDBOX_REPLIES: replies } });
});
after(async () => {
  await box?.stop();
  rmSync(join(replies, '..'), { recursive: true, force: true });
});
const IS_ACTIVE = '/usr/bin/systemctl is-active keyhaven.service';
const SIGHUP = '/usr/bin/systemctl kill --kill-whom=main --signal=SIGHUP keyhaven.service';

describe('the status screen', () => {
  test('date and time in UTC and in the configured zone, uptime, NTP in words; a server certificate with 45 days left: RENEW SOON naming the entry', async () => {
    const p = pkiPaths(box.paths.dataDir);
    await issueServer(box.paths.dataDir, { dns: ['keyhaven-test'], days: 45, force: true, bits: 2048 });
    mkdirSync(join(box.root, 'etc'), { recursive: true });
    const localtime = join(box.root, 'etc/localtime');
    symlinkSync('/usr/share/zoneinfo/Europe/Paris', localtime);
    const m = await Menu.open(box.socket);
    try {
      const before = Date.now();
      await m.choose('Status');
      const screen = await m.expect(/Status of keyhaven(.*\n)+.*Disk/);
      const utc = /Date and time\n\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\n/.exec(screen);
      assert.ok(utc, `a UTC time: ${screen.slice(-2500)}`);
      assert.ok(Math.abs(Date.parse(`${utc[1]!.replace(' ', 'T')}Z`) - before) < 60_000, `the current time: ${utc[1]}`);
      const paris = new RegExp(`\\n\\s+(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) (CET|CEST|GMT\\+[12]) \\(Europe/Paris\\)\\n`).exec(screen);
      assert.ok(paris, `the Paris time: ${screen.slice(-2500)}`);
      const offsetH = (Date.parse(`${paris[1]!.replace(' ', 'T')}Z`) - Date.parse(`${utc[1]!.replace(' ', 'T')}Z`)) / 3_600_000;
      assert.ok(offsetH === 1 || offsetH === 2, `Paris is 1 or 2 hours ahead of UTC, not ${offsetH}`);
      assert.match(screen, /\n\s+up (\d+ (day|hour|minute)s?(, )?)+\n/);
      // The recording runner answers chronyc with nothing: said as such, not as a raw field dump.
      assert.match(screen, /Time synchronisation \(NTP\)\n\s+unknown: chrony gave no tracking information\n/);
      const notAfter = new X509Certificate(readFileSync(p.serverCert)).validTo;
      assert.match(screen, new RegExp(`server\\s+expires ${new Date(notAfter).toISOString().slice(0, 10)} \\(4[45] days\\)  RENEW SOON: use "${LABEL}" in this menu`));
      assert.doesNotMatch(screen, /CA\s+expires .*(RENEW|EXPIRES SOON)/, 'the CA has years left');
    } finally {
      m.close();
      unlinkSync(localtime);
    }
  });

  test('a server certificate with 90 days left: no warning', async () => {
    await issueServer(box.paths.dataDir, { dns: ['keyhaven-test'], days: 90, force: true, bits: 2048 });
    const m = await Menu.open(box.socket);
    try {
      await m.choose('Status');
      const screen = await m.expect(/Status of keyhaven(.*\n)+.*Disk/);
      assert.match(screen, /server\s+expires \S+ \(89 days\)\n/);
      assert.doesNotMatch(screen, /RENEW SOON/);
      assert.doesNotMatch(screen, /Date and time\n.*\n.*\(Europe/, 'no zone configured: UTC only');
    } finally {
      m.close();
    }
  });

  test('uptime and zone formatting', () => {
    assert.equal(formatUptime(42), '42 seconds');
    assert.equal(formatUptime(3 * 86_400 + 4 * 3600 + 12 * 60 + 5), '3 days, 4 hours, 12 minutes');
    assert.equal(formatUptime(86_400 + 60), '1 day, 1 minute');
    assert.equal(formatTime('2026-07-01T10:00:00.000Z'), '2026-07-01 10:00:00 UTC');
    assert.match(formatTime('2026-07-01T10:00:00.000Z', 'America/New_York'), /^2026-07-01 06:00:00 (EDT|GMT-4) \(America\/New_York\)$/);
  });
});

describe(`"${LABEL}"`, () => {
  test('renews with the same names and a new key, shows the new fingerprint and expiry; a running key server switches without dropping its client', async (t) => {
    const dir = box.paths.dataDir;
    const p = pkiPaths(dir);
    writeFileSync(replies, JSON.stringify({ [IS_ACTIVE]: 'active\n' }));
    t.after(() => writeFileSync(replies, '{}'));
    await issueServer(dir, { dns: ['localhost', 'kms.example.net'], ip: ['127.0.0.1'], days: 30, force: true, bits: 2048 });
    const client = await issueClient(dir, { name: 'vcenter-renewal', bits: 2048 });
    const files = { ca: p.caCert, cert: client.certPath, key: client.keyPath };
    // A real key server on the appliance's data directory, with a client connected before the renewal.
    const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'test');
    config.listeners.kmip.port = 0;
    const server = await startServer(config, pino({ level: 'silent' }));
    t.after(() => server.close());
    const open = await RawConnection.connect(server.kmip.port, files);
    const before = serverCertificateInfo(dir);
    const oldKey = spki(readFileSync(p.serverKey));
    assert.equal(open.serverCertificate?.fingerprint256, before.fingerprint);

    const m = await Menu.open(box.socket);
    try {
      await m.choose(LABEL);
      let screen = await m.expect(/\? Renew the server certificate now\?/);
      assert.ok(screen.includes(`Serial       ${before.serial}`), 'the current serial');
      assert.ok(screen.includes(`SHA-256      ${before.fingerprint}`), 'the current fingerprint');
      assert.match(screen, /Names {8}localhost, kms\.example\.net, 127\.0\.0\.1\n/);
      assert.match(screen, /Valid until  \S+ \(29 days\)/);
      m.enter('y');
      screen = await m.expect(/Done: renewed the server certificate/, 120_000);
      const after = serverCertificateInfo(dir);
      assert.notEqual(after.serial, before.serial);
      assert.deepEqual([after.dns, after.ip], [before.dns, before.ip], 'the same names and addresses');
      assert.notEqual(spki(readFileSync(p.serverKey)), oldKey, 'a new key');
      const shown = /New server certificate:\n\s+Serial\s+(\S+)\n\s+SHA-256\s+(\S+)\n\s+Valid until\s+(\S+) \((\d+) days\)/.exec(screen);
      assert.ok(shown, screen.slice(-3000));
      assert.deepEqual([shown[1], shown[2], shown[3]], [after.serial, after.fingerprint, after.notAfter.toISOString().slice(0, 10)], 'what the screen shows is what is on disk');
      assert.equal(shown[4], '730');
      // Said only once the key server's audit log records the switch (here the server's file watch made it).
      assert.match(screen, /Key server {3}reloaded: it presents the new certificate to new connections\n/);
      const pem = /===== BEGIN keyhaven-server\.crt =====\n([\s\S]*?)\n===== END keyhaven-server\.crt =====/.exec(screen)?.[1];
      assert.equal(new X509Certificate(pem ?? '').fingerprint256, after.fingerprint, 'the PEM shown is the new certificate');
      await m.atMainMenu();
    } finally {
      m.close();
    }
    assert.ok(box.commands().some((c) => c.join(' ') === SIGHUP), 'systemd was asked to send the running key server SIGHUP');

    // The key server (here told by the file watch; on the appliance also by SIGHUP) presents the new certificate.
    let seen = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      const c = await RawConnection.connect(server.kmip.port, files);
      seen = c.serverCertificate?.fingerprint256 ?? '';
      c.close();
      if (seen === serverCertificateInfo(dir).fingerprint) break;
    }
    assert.equal(seen, serverCertificateInfo(dir).fingerprint, 'new handshakes get the renewed certificate');
    const answer = await open.roundTrip(queryRequest());
    assert.ok(answer && parseResponse(answer).items[0]?.status === Enum.ResultStatus.Success, 'the connection opened before the renewal still works');
    open.close();

    const tail = await box.call('audit.tail', { count: 100 });
    assert.ok(tail.ok);
    const records = (tail.result as { admin: { operation: string; result: string; objectId: string; reason: string }[] }).admin;
    const renewal = records.find((r) => r.operation === 'Renew Server Certificate');
    assert.ok(renewal, 'the renewal is in the administration audit log');
    assert.equal(renewal.result, 'success');
    assert.equal(renewal.objectId, serverCertificateInfo(dir).serial);
    const keyServerLog = server.audit.tail(100).find((r) => r.operation === 'Reload Certificates' && r.result === 'success');
    assert.ok(keyServerLog?.reason.includes(serverCertificateInfo(dir).fingerprint), 'and the key server recorded the switch');
  });

  test('a key server that records no switch: the menu does not claim it reloaded', async (t) => {
    // systemd answers "active", but no key server runs on this data directory: no reload is recorded.
    writeFileSync(replies, JSON.stringify({ [IS_ACTIVE]: 'active\n' }));
    t.after(() => writeFileSync(replies, '{}'));
    const m = await Menu.open(box.socket);
    try {
      await m.choose(LABEL);
      await m.expect(/\? Renew the server certificate now\?/);
      m.enter('y');
      const screen = await m.expect(/Done: renewed the server certificate[^\n]*\n/, 120_000);
      assert.match(screen, /Key server {3}signalled, but it had not recorded the switch within 15 s/);
      const shown = screen.lastIndexOf('New server certificate:');
      assert.ok(shown >= 0, 'the new certificate is shown');
      assert.doesNotMatch(screen.slice(shown), /reloaded/);
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });

  test('answering no changes nothing', async () => {
    const before = serverCertificateInfo(box.paths.dataDir);
    const m = await Menu.open(box.socket);
    try {
      await m.choose(LABEL);
      await m.expect(/\? Renew the server certificate now\?/);
      m.enter('n');
      await m.expect(/Nothing was changed\./);
      await m.atMainMenu();
    } finally {
      m.close();
    }
    assert.equal(serverCertificateInfo(box.paths.dataDir).fingerprint, before.fingerprint);
  });
});
