// The appliance's backup actions through the real privileged helper (admin-sandbox.ts), its data
// worker, a real `keyhaven serve` on the sandbox's data directory and a real OpenSSH server as the
// backup host (test/support/sftp-host.ts): the settings reach the key server's configuration and the
// firewall; the SSH key and the backup key are made as the data owner; "Back up now" signals the key
// server, whose backup carries the appliance's settings and administration log; the backup is listed,
// verified with the shares and restored over the stopped server (refused while it runs), and the
// server then serves the keys as they were at the backup, to the same client certificate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Enum, issueClient } from '../../server/index.js';
import { generateClientKey } from '../../server/run.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, withUid } from '../support/requests.js';
import { rootOnly } from '../support/root-only.js';
import { SftpHost } from '../support/sftp-host.js';
import { sleep } from '../support/dev-process.js';
import { freePort, keyBytesOf, send, startServerProcess, uidOf, type ServerProcess } from '../store/helpers.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import type { StatusReport } from '../../appliance/admin/actions/status.js';
import { backupLines } from '../../appliance/menu/options/status.js';

const skip = rootOnly('a network namespace and a real sshd as the backup host');

describe('backups from the appliance menu\'s helper', { skip, timeout: 600_000 }, () => {
  let box: AdminSandbox;
  let host: SftpHost;
  let server: ServerProcess | undefined;
  let port: number;
  let configFile: string;
  let client: { ca: string; cert: string; key: string };
  const replies = join(mkdtempSync(join(tmpdir(), 'kh-replies-')), 'replies.json');

  const ok = async <R>(action: string, params: unknown = {}): Promise<{ result: R; summary: string }> => {
    const r = await box.call(action, params);
    assert.ok(r.ok, `${action}: ${r.ok ? '' : `${r.code} ${r.message}`}`);
    return r as unknown as { result: R; summary: string };
  };
  const refused = async (action: string, params: unknown, code: string, message: RegExp) => {
    const r = await box.call(action, params);
    assert.ok(!r.ok, `${action} was accepted`);
    assert.equal(r.code, code, r.message);
    assert.match(r.message, message);
  };
  /** The key server as keyhaven.service runs it, on the sandbox's data directory and the rendered backup section. */
  const startServer = async () => {
    const rendered = JSON.parse(readFileSync(join(box.root, 'etc/keyhaven/keyhaven.json'), 'utf8')) as { backup: { include: Record<string, string>; sftp: object } };
    const include = Object.fromEntries(Object.entries(rendered.backup.include).map(([k, v]) => [k, join(box.root, v)]));
    writeFileSync(configFile, JSON.stringify({ dataDir: box.paths.dataDir, store: { anchorFile: box.paths.anchorFile }, listeners: { kmip: { host: '127.0.0.1', port } }, backup: { ...rendered.backup, include, sftp: { ...rendered.backup.sftp, timeoutMs: 5000 } } }));
    server = await startServerProcess(configFile, 60_000);
  };
  const stopServer = async () => {
    if (!server) return;
    server.child.kill('SIGTERM');
    await server.exited;
    server = undefined;
  };
  const kmip = () => KmipTestClient.connect(port, client, { host: '127.0.0.1', servername: 'keyhaven-test', timeout: 10_000 });

  before(async () => {
    writeFileSync(replies, JSON.stringify({ '/usr/bin/systemctl is-active keyhaven.service': 'active\n' }));
    // The helper with the umask its unit gives it on the appliance (UMask=0077).
    const umask = process.umask(0o077);
    try {
      box = await AdminSandbox.start({ env: { KEYHAVEN_SANDBOX_REPLIES: replies } });
    } finally {
      process.umask(umask);
    }
    // Nobody may log in until the appliance's own key is installed (below).
    host = await SftpHost.start({ authorizedKey: generateClientKey('nobody@test').publicKey });
    port = await freePort();
    configFile = join(box.root, 'served.json');
    const issued = await issueClient(box.paths.dataDir, { name: 'vcenter', bits: 2048 });
    client = { ca: join(box.paths.dataDir, 'pki/ca.crt'), cert: issued.certPath, key: issued.keyPath };
  });

  after(async () => {
    await stopServer();
    await host?.cleanup();
    await box?.stop();
  });

  test('nothing is set up: the status says so, and Back up now is refused naming what to do', async () => {
    const { result } = await ok<{ host: string | null; key: unknown; publicKey: unknown; status: unknown }>('backup.status');
    assert.deepEqual([result.host, result.key, result.publicKey, result.status], [null, null, null, null]);
    assert.deepEqual(backupLines((await ok<StatusReport>('status')).result.backups), ['    not set up (Backups in this menu)']);
    await refused('backup.now', {}, 'KH_ADMIN_REQUEST_INVALID', /no backup host is set up/);
    await refused('backup.list', {}, 'KH_ADMIN_REQUEST_INVALID', /no backup host is set up/);
  });

  test('the host and schedule: bad input refused naming the setting, good input reaches the server configuration and the firewall', async () => {
    const good = { host: host.address, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, schedule: { every: 'week', day: 3, at: '01:30' }, keep: 3 };
    await refused('backup.configure', { ...good, hostKeySha256: 'MD5:12:34' }, 'KH_ADMIN_REQUEST_INVALID', /backup\.hostKeySha256: .*not an SSH host key fingerprint/);
    await refused('backup.configure', { ...good, directory: '../etc' }, 'KH_ADMIN_REQUEST_INVALID', /backup\.directory: must not contain "\.\."/);
    await refused('backup.configure', { ...good, host: 'backup.example' }, 'KH_ADMIN_REQUEST_INVALID', /network\.backupHost/);
    await refused('backup.configure', { ...good, schedule: { every: 'day', at: '25:00' } }, 'KH_ADMIN_REQUEST_INVALID', /HH:MM/);
    assert.ok(!existsSync(box.paths.settings) || !JSON.parse(readFileSync(box.paths.settings, 'utf8')).backup, 'a refused change wrote nothing');
    await ok('backup.configure', good);
    const saved = JSON.parse(readFileSync(box.paths.settings, 'utf8'));
    assert.equal(saved.network.backupHost, host.address);
    assert.deepEqual(saved.backup, { username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, schedule: { every: 'week', day: 3, at: '01:30' }, keep: 3 });
    const rendered = JSON.parse(readFileSync(join(box.root, 'etc/keyhaven/keyhaven.json'), 'utf8'));
    assert.deepEqual(rendered.backup.sftp, { host: host.address, port: 22, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, privateKeyFile: 'backup/ssh-key' });
    assert.deepEqual(Object.keys(rendered.backup.include).sort(), ['admin-audit.db', 'appliance.json']);
    const ruleset = readFileSync(box.paths.firewall, 'utf8');
    assert.match(ruleset, new RegExp(`set backup_v4 \\{ type ipv4_addr; elements = \\{ ${host.address.replace(/\./g, '\\.')} \\}`));
    assert.match(ruleset, /ip daddr @backup_v4 tcp dport 22 .*accept/);
    assert.ok(box.commands().some((c) => c.join(' ') === '/usr/bin/systemctl try-restart keyhaven.service' || (c[1] === 'try-restart' && c.includes('keyhaven.service'))), JSON.stringify(box.commands()));
  });

  let shares: string[] = [];
  test('the SSH key and the backup key are made as the data owner; the shares are only in the answer', async () => {
    const k = await ok<{ publicKey: string; created: boolean }>('backup.ssh-key');
    assert.match(k.result.publicKey, /^ssh-ed25519 \S+ keyhaven-backup@/);
    assert.equal(k.result.created, true);
    const again = await ok<{ publicKey: string; created: boolean }>('backup.ssh-key');
    assert.deepEqual(again.result, { publicKey: k.result.publicKey, created: false });
    host.authorize(k.result.publicKey);
    await refused('backup.key-init', { count: 3, threshold: 4, rekey: false }, 'KH_ADMIN_REQUEST_INVALID', /threshold: 4; give 2 to 3/);
    const made = await ok<{ generation: number; shares: string[]; check: string }>('backup.key-init', { count: 3, threshold: 2, rekey: false });
    assert.equal(made.result.generation, 1);
    assert.equal(made.result.shares.length, 3);
    shares = made.result.shares;
    const journal = box.journalLines().join('\n');
    const audit = readFileSync(box.paths.adminAudit).toString('latin1');
    const stored = readdirSync(box.paths.dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath ?? e.path, e.name)).toString('latin1'));
    for (const s of shares) {
      assert.ok(!journal.includes(s) && !audit.includes(s), 'a share reached the journal or the administration log');
      assert.ok(!stored.some((text) => text.includes(s.slice(20, 60))), 'a share is stored in the data directory');
    }
  });

  const uids: string[] = [];
  const material = new Map<string, string>();
  let backupName = '';
  test('Back up now: the running key server makes the backup, it reaches the host, and the status shows it', async () => {
    await startServer();
    const c = await kmip();
    for (let i = 0; i < 4; i++) uids.push(uidOf(await send(c, [createAes()])));
    for (const u of uids) material.set(u, keyBytesOf(await send(c, [withUid(Enum.Operation.Get, u)])).toString('hex'));
    c.close();
    // The helper's `systemctl kill` is recorded, not run: the test delivers the signal it names.
    const answer = box.call('backup.now');
    for (let i = 0; i < 200 && !box.commands().some((c) => c.includes('--signal=SIGUSR2')); i++) await sleep(50);
    assert.deepEqual(box.commands().find((c) => c.includes('--signal=SIGUSR2')), ['/usr/bin/systemctl', 'kill', '--kill-whom=main', '--signal=SIGUSR2', 'keyhaven.service']);
    server!.child.kill('SIGUSR2');
    const r = await answer;
    assert.ok(r.ok, r.ok ? '' : r.message);
    const result = r.result as { outcome: string; status: { lastSuccess: { name: string } } };
    assert.equal(result.outcome, 'stored', r.summary);
    backupName = result.status.lastSuccess.name;
    assert.ok(host.files().some((f) => f.endsWith(backupName)), `${backupName} is not on the host: ${host.files().join(', ')}`);
    const st = await ok<{ status: { lastSuccess: { name: string }; nextRun: string } }>('backup.status');
    assert.equal(st.result.status.lastSuccess.name, backupName);
    assert.equal(new Date(st.result.status.nextRun).getDay(), 3, 'the next run is on the configured weekday');
    // The Status screen's Backups lines.
    const overall = await ok<StatusReport>('status');
    const lines = backupLines(overall.result.backups).join('\n');
    assert.match(lines, new RegExp(`last success \\d{4}-\\d\\d-\\d\\d [\\d:]+Z: ${backupName.replace(/\./g, '\\.')}, [\\d.]+ MiB`));
    assert.match(lines, /last failure none/);
    assert.match(lines, /next run +\d{4}-/);
  });

  test('the backup is listed and verified with two shares; a mistyped share or too few are refused', async () => {
    const list = await ok<{ name: string }[]>('backup.list');
    assert.deepEqual(list.result.map((b) => b.name), [backupName]);
    const typo = shares[0]!.replace(/([0-9a-f])(-[0-9a-f]{8})$/, (_m, a: string, check: string) => `${a === '0' ? '1' : '0'}${check}`);
    assert.notEqual(typo, shares[0]);
    await refused('backup.verify', { name: backupName, shares: [typo, shares[1]] }, 'KH_BACKUP_BAD_SHARES', /check value|mistyped/);
    await refused('backup.verify', { name: backupName, shares: [shares[2]] }, 'KH_BACKUP_BAD_SHARES', /2/);
    await refused('backup.verify', { name: 'keyhaven-nothere-20260101T000000Z.khbak', shares: shares.slice(0, 2) }, 'KH_BACKUP_BAD_INPUT', /no backup named/);
    const v = await ok<{ contents: { objects: number }; auditVerified: number; generation: number }>('backup.verify', { name: backupName, shares: [shares[2], shares[0]] });
    assert.equal(v.result.contents.objects, uids.length);
    assert.equal(v.result.generation, 1);
    assert.ok(v.result.auditVerified > uids.length);
  });

  test('restore over the appliance: refused unconfirmed and while the key server runs; then restores, keeping the replaced store', async () => {
    // A key made after the backup: gone after the restore; the backup's keys come back byte for byte.
    const c = await kmip();
    const later = uidOf(await send(c, [createAes()]));
    c.close();
    await refused('backup.restore', { name: backupName, shares: shares.slice(0, 2), confirm: 'yes' }, 'KH_ADMIN_REQUEST_INVALID', /type the backup's name/);
    await refused('backup.restore', { name: backupName, shares: shares.slice(0, 2), confirm: backupName }, 'KH_BACKUP_RESTORE_REFUSED', /in use by process/);
    const stops = box.commands().filter((x) => x[1] === 'stop' || x[1] === 'start').map((x) => x[1]);
    assert.deepEqual(stops, ['stop', 'start'], 'the key server is started again after a refused restore');
    await stopServer();
    const r = await ok<{ replacedInto: string; contents: { objects: number } }>('backup.restore', { name: backupName, shares: shares.slice(1, 3), confirm: backupName });
    assert.equal(r.result.contents.objects, uids.length);
    assert.ok(existsSync(join(r.result.replacedInto, 'keyhaven.db')), 'the replaced store is kept');
    const restored = readdirSync(join(box.paths.dataDir, 'backup')).filter((d) => d.startsWith('restored-'));
    assert.equal(restored.length, 1);
    const extras = join(box.paths.dataDir, 'backup', restored[0]!);
    // The administration log's copy is there for the key server's account to read, whatever the helper's umask.
    assert.equal(statSync(join(box.paths.adminAuditCopy, '..')).mode & 0o777, 0o755);
    assert.equal(statSync(box.paths.adminAuditCopy).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(extras).sort(), ['admin-audit.db', 'appliance.json']);
    assert.equal(JSON.parse(readFileSync(join(extras, 'appliance.json'), 'utf8')).backup.username, host.username, 'the backup carries the appliance settings');
    await startServer();
    const d = await kmip();
    for (const u of uids) assert.equal(keyBytesOf(await send(d, [withUid(Enum.Operation.Get, u)])).toString('hex'), material.get(u), `key ${u}`);
    const gone = (await send(d, [withUid(Enum.Operation.Get, later)])).items[0]!;
    assert.equal(gone.status, Enum.ResultStatus.OperationFailed, 'a key made after the backup is not there');
    d.close();
    const audit = box.journalLines().filter((l) => /Restore Backup|backup\.restore/.test(l));
    assert.ok(audit.some((l) => /"result":"success"/.test(l)), audit.join('\n'));
  });
});
