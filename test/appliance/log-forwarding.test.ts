// Forwarding to the SIEM (appliance/boot/log-forwarding.ts, system-files.ts, server-config.ts): the
// rendered rsyslog configuration is accepted by a real rsyslogd, which then carries the key server's
// audit records (sent by the server's own forwarder to the Unix socket) and auditd's trail to a TCP
// collector — also when the collector comes up late. The key server's configuration turns forwarding
// on exactly when a SIEM host is set, and a settings change restarts only what reads changed files.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { APPLIANCE_RSYSLOG, renderRsyslogConf, renderSiemForwarding } from '../../appliance/boot/log-forwarding.js';
import { renderServerConfig } from '../../appliance/boot/server-config.js';
import { systemFiles, unitCommands, writeSystemFiles } from '../../appliance/boot/system-files.js';
import { parseApplianceSettings } from '../../appliance/settings.js';
import { parseConfig, SyslogForwarder } from '../../server/index.js';
import { parse5424, TcpCollector } from '../support/syslog-collector.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const hasRsyslog = spawnSync(RSYSLOGD, ['-v']).status === 0;

const settings = (siemHosts: string[]) => parseApplianceSettings({ hostname: 'kh-test', network: { siemHosts } }, 'test');

test('the appliance rsyslog.conf reads the journal, auditd\'s log and the audit socket, and rsyslogd accepts it', { skip: !hasRsyslog && 'rsyslog is not installed' }, () => {
  const conf = renderRsyslogConf();
  assert.match(conf, /module\(load="imjournal"/);
  assert.ok(conf.includes(`file="${APPLIANCE_RSYSLOG.auditLog}"`));
  assert.ok(conf.includes(`path="${APPLIANCE_RSYSLOG.auditSocket}"`) && conf.includes('fileGroup="keyhaven" fileCreateMode="0660"'));
  assert.doesNotMatch(conf, /omfile|\/var\/log\/syslog/, 'rsyslog writes no local files');
  const dir = mkdtempSync(join(tmpdir(), 'kh-rsyslog-check-'));
  try {
    // The group must exist where rsyslogd checks: use root's on the build host.
    writeFileSync(join(dir, 'rsyslog.conf'), conf.replace('fileGroup="keyhaven"', 'fileGroup="root"').replace(`include(file="/etc/rsyslog.d/*.conf"`, `include(file="${dir}/*.inc"`));
    writeFileSync(join(dir, 'siem.inc'), renderSiemForwarding(['192.0.2.7', '2001:db8::7']));
    const r = spawnSync(RSYSLOGD, ['-N1', '-f', join(dir, 'rsyslog.conf')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIEM rules: one TCP destination per host with its own disk-assisted queue; none without hosts; only addresses', () => {
  const two = renderSiemForwarding(['192.0.2.7', '2001:db8::7']);
  assert.equal(two.match(/action\(type="omfwd"/g)?.length, 2);
  assert.match(two, /target="192\.0\.2\.7" port="514" protocol="tcp" TCP_Framing="octet-counted"/);
  assert.match(two, /target="2001:db8::7"/);
  assert.equal(two.match(/queue\.maxDiskSpace="256m"/g)?.length, 2);
  assert.doesNotMatch(renderSiemForwarding([]), /action\(/);
  assert.throws(() => renderSiemForwarding(['siem.example" target="evil']), /not an IP address/);
});

test('the key server forwards its audit records exactly when a SIEM host is set', () => {
  const off = parseConfig(JSON.parse(renderServerConfig(settings([]))), 'off');
  assert.equal(off.audit.syslog, undefined);
  assert.equal(parseConfig(JSON.parse(renderServerConfig(null)), 'image').audit.syslog, undefined);
  const on = parseConfig(JSON.parse(renderServerConfig(settings(['192.0.2.7']))), 'on');
  assert.deepEqual({ transport: on.audit.syslog?.transport, path: on.audit.syslog?.path }, { transport: 'unix', path: APPLIANCE_RSYSLOG.auditSocket });
  assert.equal(on.dataDir, '/var/lib/keyhaven');
});

test('a settings change rewrites the files and restarts only the services whose files changed', () => {
  const root = mkdtempSync(join(tmpdir(), 'kh-system-files-'));
  try {
    const base = ['systemd-networkd.service', 'chrony.service'];
    // The first write also makes the helper's drop-in (its backup-host address filter): systemd reloads.
    assert.deepEqual(writeSystemFiles(settings([]), root), { tryRestart: [...base, 'keyhaven.service'], restart: ['rsyslog.service'], daemonReload: true });
    for (const f of systemFiles(settings([]))) assert.equal(readFileSync(join(root, f.path), 'utf8'), f.text, f.path);
    assert.deepEqual(writeSystemFiles(settings([]), root), { tryRestart: base, restart: [], daemonReload: false }, 'nothing changed');
    const on = writeSystemFiles(settings(['192.0.2.7']), root);
    assert.deepEqual(on, { tryRestart: [...base, 'keyhaven.service'], restart: ['rsyslog.service'], daemonReload: false });
    assert.deepEqual(unitCommands(on), [['try-restart', ...base, 'keyhaven.service'], ['restart', 'rsyslog.service']]);
    assert.deepEqual(writeSystemFiles(settings(['192.0.2.8']), root), { tryRestart: base, restart: ['rsyslog.service'], daemonReload: false }, 'another host: the key server keeps sending to the socket');
    // A backup host: the helper may reach that address (and only that one); a reload makes new helpers use it.
    const withBackup = { ...settings(['192.0.2.8']), network: { ...settings(['192.0.2.8']).network, backupHost: '192.0.2.9' }, backup: { username: 'kh', directory: '.', hostKeySha256: `SHA256:${'A'.repeat(43)}`, schedule: { every: 'day' as const, at: '02:00' }, keep: 14 } };
    const backup = writeSystemFiles(withBackup, root);
    assert.deepEqual(unitCommands(backup), [['daemon-reload'], ['try-restart', ...base, 'keyhaven.service']]);
    assert.match(readFileSync(join(root, '/etc/systemd/system/keyhaven-admin@.service.d/50-backup-host.conf'), 'utf8'), /^\[Service\]\nIPAddressAllow=192\.0\.2\.9\n$/m);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a real rsyslogd carries the key server\'s audit records and auditd\'s trail to the SIEM, also one that starts late', { skip: !hasRsyslog && 'rsyslog is not installed', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-rsyslog-'));
  let rsyslogd: ChildProcess | undefined;
  let collector: TcpCollector | undefined;
  const forwarder = new SyslogForwarder({ transport: 'unix', path: join(dir, 'audit.sock'), facility: 'local0', appName: 'keyhaven', maxQueued: 1000, hostname: 'kh-test', log: () => undefined });
  try {
    // The SIEM's port is known before it listens: rsyslog must queue until it does.
    const port = await TcpCollector.freePort();
    const auditLog = join(dir, 'audit.log');
    writeFileSync(auditLog, '');
    mkdirSync(join(dir, 'work'));
    mkdirSync(join(dir, 'rsyslog.d'));
    writeFileSync(join(dir, 'rsyslog.conf'), renderRsyslogConf({ workDir: join(dir, 'work'), journal: false, auditLog, auditSocket: join(dir, 'audit.sock'), socketGroup: 'root', includeDir: join(dir, 'rsyslog.d') }));
    writeFileSync(join(dir, 'rsyslog.d', '60-siem.conf'), renderSiemForwarding(['127.0.0.1'], port));
    rsyslogd = spawn(RSYSLOGD, ['-n', '-iNONE', '-f', join(dir, 'rsyslog.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    rsyslogd.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitUntil(`rsyslogd's audit socket (${stderr})`, () => spawnSync('test', ['-S', join(dir, 'audit.sock')]).status === 0, 20_000);

    forwarder.send({ seq: 41, time: '2026-11-23T10:00:00.000Z', identity: 'CN=vcenter', address: '192.0.2.50', operation: 'Get', objectId: 'k-1', result: 'success', reason: '' });
    forwarder.send({ seq: 42, time: '2026-11-23T10:00:01.000Z', identity: 'CN=vcenter', address: '192.0.2.50', operation: 'Destroy', objectId: 'k-1', result: 'failure', reason: 'Permission Denied: "quoted" ] bracket' });
    appendFileSync(auditLog, 'type=USER_AUTH msg=audit(1700000000.123:45): pid=1 uid=0 acct="admin" res=failed\n');
    await waitUntil('the forwarder to hand both records to rsyslog', () => forwarder.stats().sent >= 2, 20_000);

    // rsyslog retries every 10 s: the records wait in its queue meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    collector = await TcpCollector.listen(port);
    await waitUntil('three messages at the SIEM', () => collector!.messages.length >= 3, 60_000);
    const parsed = collector.messages.map(parse5424);
    const audit = parsed.filter((m) => m.sd['keyhaven@32473']);
    assert.deepEqual(audit.map((m) => m.sd['keyhaven@32473']!.seq), ['41', '42'], 'in order, with their sequence numbers');
    assert.equal(audit[1]!.sd['keyhaven@32473']!.reason, 'Permission Denied: "quoted" ] bracket', 'structured data survives the relay');
    assert.equal(audit[1]!.severity, 4, 'a failure is a warning');
    const auditd = parsed.find((m) => m.appName === 'auditd');
    assert.ok(auditd, `auditd's line arrived: ${collector.messages.join(' | ')}`);
    assert.match(auditd.msg, /type=USER_AUTH .*res=failed/);
  } finally {
    await forwarder.close();
    collector?.close();
    rsyslogd?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
