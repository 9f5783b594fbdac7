// The privileged helper through its socket, as the menu uses it: strict validation that names the
// field and writes nothing, settings changes saved and applied, PKI actions (a bundle that chains to
// the CA with clientAuth, CSR signing, revocation in the CRL), password and SSH key checks, the
// system commands that would run, and an audit record plus a system-log line for every request —
// with a chain that verifies, and that reports tampering.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { AdminAuditLog } from '../../appliance/admin/admin-audit.js';
import { runAdminAction } from '../../appliance/admin/in-process.js';
import { sandboxSettingsApplier } from '../../appliance/admin/settings-applier.js';
import { CHRONY_SOURCES, NETWORK_FILE } from '../../appliance/boot/network-config.js';
import { recordingRunner } from '../../appliance/admin/system-runner.js';
import type { AdminResponse } from '../../appliance/admin/protocol.js';
import { CLIENT_AUTH_OID, extKeyUsage, pkiPaths, readCrlInfo } from '../../server/index.js';
import { ADMIN_PASSWORD, AdminSandbox, KEYHAVEN } from './helpers/admin-sandbox.js';

const refused = (r: AdminResponse, code: string, pattern: RegExp): void => {
  assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.code, code, r.message);
  assert.match(r.message, pattern);
};
const ok = <T>(r: AdminResponse): T => {
  assert.ok(r.ok, `expected success, got ${JSON.stringify(r)}`);
  return r.result as T;
};

/** As on the appliance, the data directory is another account's (the key server's); `nobody` here when the tests run as root. */
const dataOwner = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) } : undefined;
const ownerUid = dataOwner?.uid ?? process.getuid?.();

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start(dataOwner ? { dataOwner } : {});
});
after(async () => {
  await box?.stop();
});

const settingsText = () => (existsSync(box.paths.settings) ? readFileSync(box.paths.settings, 'utf8') : '(none)');

describe('requests that are not valid are refused, recorded, and change nothing', () => {
  test('malformed, unknown and over-strict requests', async () => {
    refused(await box.raw('this is not json\n'), 'KH_ADMIN_REQUEST_INVALID', /not one line of JSON/);
    refused(await box.raw('{"action":"status","extra":1}\n'), 'KH_ADMIN_REQUEST_INVALID', /extra/);
    refused(await box.call('shell', { command: '/bin/sh' }), 'KH_ADMIN_REQUEST_INVALID', /unknown action "shell"/);
    refused(await box.call('ntp.set', { servers: ['192.0.2.1'], evil: true }), 'KH_ADMIN_REQUEST_INVALID', /Unrecognized key.*evil/);
    refused(await box.call('ntp.set', { servers: '192.0.2.1' }), 'KH_ADMIN_REQUEST_INVALID', /servers: Expected array/);
  });

  test('bad addresses, networks and combinations name the setting; the settings file is untouched', async () => {
    const before = settingsText();
    refused(await box.call('admin-networks.set', { networks: ['10.0.0.0/33'] }), 'KH_ADMIN_REQUEST_INVALID', /^network\.adminNetworks\[0\]: /);
    refused(await box.call('admin-networks.set', { networks: ['10.0.0.1/8'] }), 'KH_ADMIN_REQUEST_INVALID', /network\.adminNetworks\[0\].*host bits/i);
    refused(await box.call('ntp.set', { servers: ['192.0.2.1', 'pool.ntp.org'] }), 'KH_ADMIN_REQUEST_INVALID', /^network\.ntpServers\[1\]: .*IPv4 or IPv6 address/);
    refused(await box.call('syslog.set', { hosts: ['10.0.0.256'] }), 'KH_ADMIN_REQUEST_INVALID', /network\.siemHosts\[0\]/);
    refused(await box.call('network.set', { hostname: 'Bad_Name', address: { mode: 'dhcp' }, dnsServers: [] }), 'KH_ADMIN_REQUEST_INVALID', /^hostname: /);
    refused(await box.call('network.set', { hostname: 'kms', address: { mode: 'static', address: '192.0.2.10', prefix: 33, gateway: '192.0.2.1' }, dnsServers: [] }), 'KH_ADMIN_REQUEST_INVALID', /address\.prefix/);
    refused(await box.call('access.set', { service: 'ssh', enabled: true }), 'KH_ADMIN_REQUEST_INVALID', /adminNetworks: SSH \(ssh\.enabled\) is enabled but no source networks/);
    // Nothing listens on 6001 yet (issue 11): with no networks given, that is the reason.
    refused(await box.call('access.set', { service: 'keyManagement', enabled: true, networks: [] }), 'KH_ADMIN_REQUEST_INVALID', /no service on port 6001 yet/);
    assert.equal(settingsText(), before);
    assert.deepEqual(box.commands().filter((c) => c[0] === '/usr/sbin/nft'), [], 'no firewall was loaded');
  });
});

describe('settings changes are saved and applied', () => {
  test('NTP, syslog, admin networks, network, then SSH and key management opened', async () => {
    ok(await box.call('ntp.set', { servers: ['192.0.2.123', '2001:db8::123'] }));
    ok(await box.call('syslog.set', { hosts: ['192.0.2.10'] }));
    // The SIEM host reaches rsyslog's rules and the key server's forwarding; rsyslog is (re)started.
    assert.match(readFileSync(join(box.root, 'etc/rsyslog.d/60-keyhaven-siem.conf'), 'utf8'), /target="192\.0\.2\.10" port="514" protocol="tcp"/);
    assert.equal(JSON.parse(readFileSync(join(box.root, 'etc/keyhaven/keyhaven.json'), 'utf8')).audit.syslog.transport, 'unix');
    // The helper runs with umask 0077; files others read keep their mode (the key server reads its configuration as keyhaven).
    assert.equal(statSync(join(box.root, 'etc/keyhaven/keyhaven.json')).mode & 0o777, 0o644, 'keyhaven.json is readable by the key server');
    assert.equal(statSync(join(box.root, 'etc/resolv.conf')).mode & 0o777, 0o644);
    assert.ok(box.commands().some((c) => c.join(' ') === '/usr/bin/systemctl restart rsyslog.service'), 'rsyslog restarted');
    ok(await box.call('admin-networks.set', { networks: ['10.8.0.0/24', '192.0.2.7'] }));
    ok(await box.call('network.set', { hostname: 'kms01.example.com', address: { mode: 'static', address: '192.0.2.20', prefix: 24, gateway: '192.0.2.1' }, dnsServers: ['192.0.2.53'] }));
    const opened = await box.call('access.set', { service: 'ssh', enabled: true });
    ok(opened);
    assert.ok(opened.ok && /SSH admin menu \(22\/tcp\) open to 10\.8\.0\.0\/24, 192\.0\.2\.7\/32/.test(opened.summary), JSON.stringify(opened));
    // Nothing listens on 6001 yet: opening it is refused (issue 11), the settings keep it closed.
    refused(await box.call('access.set', { service: 'keyManagement', enabled: true, networks: ['10.9.0.0/16'] }), 'KH_ADMIN_REQUEST_INVALID', /no service on port 6001 yet/);

    const saved = JSON.parse(settingsText());
    assert.equal(saved.hostname, 'kms01.example.com');
    assert.deepEqual(saved.network.ntpServers, ['192.0.2.123', '2001:db8::123']);
    assert.deepEqual(saved.network.adminNetworks, ['10.8.0.0/24', '192.0.2.7/32']);
    assert.equal(saved.network.keyManagement?.enabled ?? false, false);
    assert.equal(saved.network.ssh.enabled, true);
    assert.match(readFileSync(join(box.root, CHRONY_SOURCES), 'utf8'), /server 2001:db8::123 iburst/);
    assert.match(readFileSync(join(box.root, NETWORK_FILE), 'utf8'), /Address=192\.0\.2\.20\/24/);
    const ruleset = readFileSync(box.paths.firewall, 'utf8');
    assert.match(ruleset, /10\.8\.0\.0\/24/);
    assert.doesNotMatch(ruleset, /6001/);
    const cmds = box.commands().map((c) => c.join(' '));
    assert.ok(cmds.includes('/usr/sbin/nft -f -'));
    assert.ok(cmds.includes('/usr/bin/systemctl enable --now ssh.service'));
    assert.ok(cmds.includes('/usr/bin/systemctl try-restart systemd-networkd.service chrony.service'));

    ok(await box.call('access.set', { service: 'ssh', enabled: false }));
    assert.ok(box.commands().map((c) => c.join(' ')).includes('/usr/bin/systemctl disable --now ssh.service'));
    refused(await box.call('admin-networks.set', { networks: ['10.8.0.0/24', '10.8.0.0/25'] }), 'KH_ADMIN_REQUEST_INVALID', /network\.adminNetworks\[1\].*lies inside/);
  });
});

describe('PKI', () => {
  const ca = () => new X509Certificate(readFileSync(pkiPaths(box.paths.dataDir).caCert));

  test('an issued bundle chains to the CA with clientAuth; the appliance keeps no private key; files stay the key server’s', async () => {
    const b = ok<{ name: string; certPem: string; keyPem: string; caPem: string; p12Base64: string; serial: string }>(
      await box.call('pki.issue-client', { name: 'vcenter', purpose: 'vcenter', dns: ['vcenter.example.com'], p12Password: 'bundle-password-1' }),
    );
    const cert = new X509Certificate(b.certPem);
    assert.ok(cert.verify(ca().publicKey), 'signed by the appliance CA');
    assert.equal(cert.issuer, ca().subject);
    assert.deepEqual(extKeyUsage(cert), [CLIENT_AUTH_OID]);
    assert.match(cert.subject, /CN=vcenter/);
    assert.equal(b.caPem.trim(), readFileSync(pkiPaths(box.paths.dataDir).caCert, 'utf8').trim());
    // The private key belongs to the certificate, and the PKCS#12 opens with its password.
    const pub = execFileSync('openssl', ['pkey', '-pubout'], { input: b.keyPem, encoding: 'utf8' });
    assert.equal(pub, cert.publicKey.export({ type: 'spki', format: 'pem' }));
    const p12 = join(box.root, 'vcenter.p12');
    writeFileSync(p12, Buffer.from(b.p12Base64, 'base64'));
    const fromP12 = execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:bundle-password-1', '-nokeys', '-clcerts'], { encoding: 'utf8' });
    assert.match(fromP12, /-----BEGIN CERTIFICATE-----/);
    const clients = join(box.paths.dataDir, 'pki/clients');
    assert.equal(existsSync(join(clients, 'vcenter.key')), false, 'no private key left on the appliance');
    assert.equal(existsSync(join(clients, 'vcenter.p12')), false);
    // Made by the data directory's owner (the worker), not by root.
    for (const f of [join(clients, 'vcenter.crt'), pkiPaths(box.paths.dataDir).index, clients]) assert.equal(statSync(f).uid, ownerUid, `${f} is owned by the data directory's owner`);
    refused(await box.call('pki.issue-client', { name: 'vcenter', purpose: 'vcenter', dns: [] }), 'KH_PKI_ALREADY_EXISTS', /already has a valid certificate/);
    refused(await box.call('pki.issue-client', { name: '../etc', purpose: 'application', dns: [] }), 'KH_PKI_BAD_INPUT', /client name/);
    refused(await box.call('pki.issue-client', { name: 'app', purpose: 'application', dns: [], p12Password: 'short' }), 'KH_ADMIN_REQUEST_INVALID', /p12Password: the bundle password needs at least 10/);
  });

  test('a pasted CSR is signed as a client certificate; a bad one is refused', async () => {
    const key = join(box.root, 'csr.key');
    const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=mongodb-prod/O=Example'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const s = ok<{ certPem: string; subject: string }>(await box.call('pki.sign-csr', { csr }));
    const cert = new X509Certificate(s.certPem);
    assert.ok(cert.verify(ca().publicKey));
    assert.deepEqual(extKeyUsage(cert), [CLIENT_AUTH_OID]);
    assert.match(s.subject, /CN=mongodb-prod/);
    refused(await box.call('pki.sign-csr', { csr: 'hello' }), 'KH_PKI_BAD_CSR', /not a PEM certificate request/);
    refused(await box.call('pki.sign-csr', { csr: csr.replace(/[A-Za-z]{10}\n/, 'AAAAAAAAAA\n') }), 'KH_PKI_BAD_CSR', /./);
  });

  test('revoking puts the serial in the CRL; the server certificate cannot be revoked here', async () => {
    const list = ok<{ name: string; kind: string; serial: string; status: string }[]>(await box.call('pki.list'));
    const vcenter = list.find((c) => c.name === 'vcenter')!;
    const server = list.find((c) => c.kind === 'server')!;
    const r = ok<{ crlNumber: number; alreadyRevoked: boolean }>(await box.call('pki.revoke', { serial: vcenter.serial, reason: 'keyCompromise' }));
    assert.equal(r.alreadyRevoked, false);
    const crl = readCrlInfo(readFileSync(pkiPaths(box.paths.dataDir).crl, 'utf8'));
    assert.ok(crl.serials.includes(vcenter.serial.toLowerCase()), `${vcenter.serial} in ${crl.serials.join(',')}`);
    assert.equal(crl.crlNumber, r.crlNumber);
    const text = execFileSync('openssl', ['crl', '-in', pkiPaths(box.paths.dataDir).crl, '-noout', '-text'], { encoding: 'utf8' });
    assert.match(text, /Key Compromise/);
    refused(await box.call('pki.revoke', { serial: server.serial, reason: 'superseded' }), 'KH_ADMIN_REQUEST_INVALID', /server certificate/);
    refused(await box.call('pki.revoke', { serial: 'abcdef0123', reason: 'superseded' }), 'KH_PKI_UNKNOWN_CERTIFICATE', /no certificate with serial/);
    refused(await box.call('pki.revoke', { serial: 'not-hex!', reason: 'superseded' }), 'KH_ADMIN_REQUEST_INVALID', /serial: must be the certificate serial/);
    refused(await box.call('pki.revoke', { serial: vcenter.serial, reason: 'because' }), 'KH_ADMIN_REQUEST_INVALID', /reason/);
  });
});

describe('account', () => {
  test('a weak password is refused before chpasswd; a good one reaches it', async () => {
    const input = join(box.root, 'chpasswd.input');
    refused(await box.call('account.set-password', { current: ADMIN_PASSWORD, password: 'password123' }), 'KH_PASSWORD_REFUSED', /at least 15 characters/);
    refused(await box.call('account.set-password', { current: ADMIN_PASSWORD, password: 'adminadminadmin1' }), 'KH_PASSWORD_REFUSED', /common words|repeat/);
    assert.equal(existsSync(input), false, 'chpasswd never ran');
    ok(await box.call('account.set-password', { current: ADMIN_PASSWORD, password: 'correct horse battery 42' }));
    assert.equal(readFileSync(input, 'utf8'), 'admin:correct horse battery 42\n');
  });

  test('SSH keys: ed25519, ECDSA and RSA ≥ 3072 are added with restrict; weak or malformed keys are refused', async () => {
    const gen = (type: string, bits?: number): string => {
      const f = join(box.root, `k-${type}-${bits ?? 0}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', `test ${type}`, '-f', f]);
      return readFileSync(`${f}.pub`, 'utf8');
    };
    const ed = gen('ed25519');
    ok(await box.call('ssh-key.add', { key: ed }));
    ok(await box.call('ssh-key.add', { key: gen('ecdsa', 384) }));
    ok(await box.call('ssh-key.add', { key: gen('rsa', 3072) }));
    refused(await box.call('ssh-key.add', { key: ed }), 'KH_ADMIN_REQUEST_INVALID', /already authorised/);
    refused(await box.call('ssh-key.add', { key: gen('rsa', 2048) }), 'KH_ADMIN_REQUEST_INVALID', /2048 bits; at least 3072/);
    refused(await box.call('ssh-key.add', { key: `command="/bin/sh" ${ed}` }), 'KH_ADMIN_REQUEST_INVALID', /Options before the key are not accepted/);
    refused(await box.call('ssh-key.add', { key: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP' }), 'KH_ADMIN_REQUEST_INVALID', /ssh-dss keys are not accepted/);
    refused(await box.call('ssh-key.add', { key: readFileSync(join(box.root, 'k-ed25519-0'), 'utf8') }), 'KH_ADMIN_REQUEST_INVALID', /PRIVATE key/);
    refused(await box.call('ssh-key.add', { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBroken' }), 'KH_ADMIN_REQUEST_INVALID', /malformed|truncated/);
    refused(await box.call('ssh-key.add', { key: ed.replace('ssh-ed25519', 'ecdsa-sha2-nistp256') }), 'KH_ADMIN_REQUEST_INVALID', /of type "ssh-ed25519"/);
    const file = readFileSync(box.paths.authorizedKeys, 'utf8');
    // sshd reads it as the user logging in (root's file, readable by all): not 0600 from the helper's umask.
    assert.equal(statSync(box.paths.authorizedKeys).mode & 0o777, 0o644);
    assert.equal(file.split('\n').filter((l) => l.startsWith('restrict,pty ')).length, 3, file);
    // sshd reads the file as written (ssh-keygen -l parses each key line).
    const listed = ok<{ fingerprint: string; type: string }[]>(await box.call('ssh-key.list'));
    const fp = execFileSync('ssh-keygen', ['-l', '-f', join(box.root, 'k-ed25519-0.pub')], { encoding: 'utf8' }).split(' ')[1];
    assert.ok(listed.some((k) => k.fingerprint === fp), `${fp} listed`);
    ok(await box.call('ssh-key.remove', { fingerprint: fp }));
    assert.equal(ok<unknown[]>(await box.call('ssh-key.list')).length, 2);
  });
});

describe('system actions go through the command runner', () => {
  test('restart the key server, reboot, shut down, status', async () => {
    ok(await box.call('keyserver.restart'));
    ok(await box.call('system.reboot'));
    ok(await box.call('system.shutdown'));
    const s = ok<{ keys: { objects: number }; certificates: { name: string; daysLeft: number }[]; services: { unit: string }[] }>(await box.call('status'));
    assert.equal(s.keys.objects, 0);
    assert.deepEqual(s.certificates.map((c) => c.name), ['CA', 'server']);
    assert.ok(s.certificates.every((c) => c.daysLeft > 300));
    const cmds = box.commands().map((c) => c.join(' '));
    for (const c of ['/usr/bin/systemctl restart keyhaven.service', '/usr/bin/systemctl --no-block reboot', '/usr/bin/systemctl --no-block poweroff', '/usr/bin/chronyc -n tracking']) assert.ok(cmds.includes(c), c);
  });
});

describe('in-process (the first-boot wizard, as root)', () => {
  test('runAdminAction validates and records like the socket helper', async () => {
    const system = recordingRunner(join(box.root, 'commands.log'));
    const lines: string[] = [];
    const opts = { paths: box.paths, system, settings: sandboxSettingsApplier(box.paths, system), chpasswd: join(box.root, 'usr/sbin/chpasswd'), log: (l: string) => void lines.push(l) };
    const bad = await runAdminAction('ntp.set', { servers: ['nope'] }, opts);
    refused(bad, 'KH_ADMIN_REQUEST_INVALID', /network\.ntpServers\[0\]/);
    ok(await runAdminAction('account.set-password', { current: 'correct horse battery 42', password: 'Another-Strong-Passphrase-9' }, opts));
    assert.equal(readFileSync(join(box.root, 'chpasswd.input'), 'utf8'), 'admin:Another-Strong-Passphrase-9\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /"user":"root".*"address":"console".*"result":"success","reason":"changed the admin password"/);
  });

  test('wrong current passwords: five within 15 minutes refuse tries until the oldest of them is 15 minutes old, and say how long', async (t) => {
    // A sandbox of its own: its administration log holds only this test's records.
    const own = await AdminSandbox.start();
    t.after(() => own.stop());
    const system = recordingRunner(join(own.root, 'commands.log'));
    const opts = { paths: own.paths, system, settings: sandboxSettingsApplier(own.paths, system), chpasswd: join(own.root, 'usr/sbin/chpasswd'), log: () => undefined };
    const start = Date.now();
    t.mock.timers.enable({ apis: ['Date'], now: start });
    const attempt = () => runAdminAction('account.set-password', { current: 'not the admin password', password: 'Yet-Another-Passphrase-77' }, opts);
    for (let i = 0; i < 5; i++) {
      refused(await attempt(), 'KH_PASSWORD_REFUSED', /the current password is wrong/);
      t.mock.timers.tick(60_000); // one a minute: at start + 0, 1, 2, 3 and 4 min
    }
    t.mock.timers.tick(5 * 60_000); // start + 10 min: the oldest of the five leaves the window at start + 15 min
    refused(await attempt(), 'KH_PASSWORD_REFUSED', /too many wrong current passwords: try again in 5 minutes/);
    t.mock.timers.tick(5 * 60_000); // start + 15 min: still inside (the window includes its edge)
    refused(await attempt(), 'KH_PASSWORD_REFUSED', /try again in 1 minute$/);
    t.mock.timers.tick(1_000); // the oldest has left: four remain, and a try is taken (and wrong)
    refused(await attempt(), 'KH_PASSWORD_REFUSED', /the current password is wrong/);
  });
});

describe('audit', () => {
  test('every request left an audit record and a system-log line, without secrets; the chain verifies', async () => {
    const v = ok<{ admin: { ok: boolean; records: number }; keyServer: { ok: boolean } }>(await box.call('audit.verify', {}, { address: '203.0.113.9' }));
    assert.ok(v.admin.ok && v.keyServer.ok, JSON.stringify(v));
    const tail = ok<{ admin: { operation: string; result: string; reason: string; address: string }[] }>(await box.call('audit.tail', { count: 500 }));
    await new Promise((r) => setTimeout(r, 200)); // the last helper's stderr reaches us asynchronously
    const lines = box.journalLines();
    // One record per request, plus the log's first record; the tail request itself is recorded after it read the log.
    const viaSocket = tail.admin.filter((r) => r.address !== 'console'); // not the in-process ones above
    assert.equal(viaSocket.length, lines.length, 'as many records as system-log lines (less the tail, plus the log creation)');
    assert.equal(tail.admin[0]!.operation, 'Administration Log Created');
    assert.ok(tail.admin.some((r) => r.operation === 'Invalid Request' && r.result === 'failure'));
    assert.ok(tail.admin.some((r) => r.operation === 'Set NTP Servers' && r.result === 'success' && /2001:db8::123/.test(r.reason)));
    assert.ok(tail.admin.some((r) => r.operation === 'Revoke Certificate' && r.result === 'success'));
    assert.ok(tail.admin.some((r) => r.operation === 'Verify Audit Logs' && r.address === '203.0.113.9'));
    const everything = JSON.stringify(tail) + lines.join('\n');
    for (const secret of ['correct horse battery 42', 'Another-Strong-Passphrase-9', 'bundle-password-1', 'password123', 'PRIVATE KEY']) assert.ok(!everything.includes(secret), `${secret} leaked`);
    for (const l of lines) assert.match(l, /^<[2-5]>\{"event":"keyhaven-admin","action":/);

    // `keyhaven audit verify` covers the key server's log and the administration log.
    const env = { ...process.env, KEYHAVEN_APPLIANCE_ROOT: box.root };
    const r = spawnSync(process.execPath, [KEYHAVEN, 'audit', 'verify', '--data-dir', box.paths.dataDir], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^audit log intact: 0 records/m);
    assert.match(r.stdout, /^administration audit log intact: \d+ records/m);
  });

  test('an edited administration record is detected by the menu action and by keyhaven audit verify', async () => {
    const db = new Database(box.paths.adminAudit);
    db.exec("DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'nothing happened' WHERE operation = 'Revoke Certificate'");
    db.close();
    const v = ok<{ admin: { ok: boolean; problem: string } }>(await box.call('audit.verify'));
    assert.equal(v.admin.ok, false);
    assert.match(v.admin.problem, /was altered/);
    const r = spawnSync(process.execPath, [KEYHAVEN, 'audit', 'verify', '--data-dir', box.paths.dataDir], { env: { ...process.env, KEYHAVEN_APPLIANCE_ROOT: box.root }, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ADMINISTRATION AUDIT LOG TAMPERED: record \d+ was altered/);
  });

  test('an emptied administration log does not pass for a new one', () => {
    const db = new Database(box.paths.adminAudit);
    db.exec("DROP TRIGGER audit_no_delete; DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_head'");
    db.close();
    const log = AdminAuditLog.open(box.paths, { create: false });
    try {
      const r = log.verify();
      assert.equal(r.ok, false);
      assert.ok(!r.ok && /emptied/.test(r.problem));
    } finally {
      log.close();
    }
  });
});
