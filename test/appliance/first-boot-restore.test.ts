// The first-boot wizard restoring a backup, in a pseudo-terminal, from a real OpenSSH server in a
// network namespace (test/support/sftp-host.ts). The backup is an appliance's as its key server makes
// it: keys made through KMIP, the appliance's settings and its administration log inside. On the new
// appliance: the SSH key it shows is not yet installed, so listing fails with the reason and nothing
// is restored; once installed, the backup is chosen, a mistyped share is refused as typed, two good
// ones restore it. The restored appliance serves the same keys to the same client certificate, its
// administration log continues the backup's chain, and its backup schedule is the backup's.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AdminAuditLog } from '../../appliance/admin/admin-audit.js';
import { appliancePaths } from '../../appliance/admin/paths.js';
import { Enum, initPki, issueClient, issueServer, parseConfig } from '../../server/index.js';
import { backupName, createBackup, generateClientKey, initBackupKey, openStore, uploadBackup } from '../../server/run.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, withUid } from '../support/requests.js';
import { rootOnly } from '../support/root-only.js';
import { SftpHost } from '../support/sftp-host.js';
import { Terminal } from '../support/terminal.js';
import { KEYHAVEN, freePort, keyBytesOf, send, startServerProcess, uidOf, type ServerProcess } from '../store/helpers.js';

const GOOD = 'Tr0ub4dor&3-Xylo9';
const dir = mkdtempSync(join(tmpdir(), 'kh-firstboot-restore-'));
const running: ServerProcess[] = [];
const terminals: Terminal[] = [];
let host: SftpHost | undefined;
after(async () => {
  for (const t of terminals) t.close();
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  await host?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const skip = rootOnly('a network namespace and a real sshd as the backup host');

test('first boot restores a backup from the SFTP host: same keys to the same client, the administration log continued', { skip, timeout: 400_000 }, async () => {
  const uploader = generateClientKey('uploader@test');
  host = await SftpHost.start({ authorizedKey: uploader.publicKey });

  // The appliance that is lost: keys, a client certificate, its settings and administration log.
  const old = appliancePaths(join(dir, 'old'));
  mkdirSync(old.dataDir, { recursive: true, mode: 0o700 });
  await initPki(old.dataDir, { name: 'kms01.example.com', bits: 2048 });
  await issueServer(old.dataDir, { dns: ['kms01.example.com'], bits: 2048 });
  const vcenter = await issueClient(old.dataDir, { name: 'vcenter', bits: 2048 });
  const client = { ca: join(dir, 'ca.crt'), cert: join(dir, 'vcenter.crt'), key: join(dir, 'vcenter.key') };
  writeFileSync(client.ca, readFileSync(join(old.dataDir, 'pki/ca.crt')));
  writeFileSync(client.cert, readFileSync(vcenter.certPath));
  writeFileSync(client.key, readFileSync(vcenter.keyPath));
  openStore(parseConfig({ dataDir: old.dataDir, store: { anchorFile: old.anchorFile } }, 'test'), { create: true }).db.close();
  const port = await freePort();
  const serve = (dataDir: string, anchorFile: string, name: string) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ dataDir, store: { anchorFile }, listeners: { kmip: { host: '127.0.0.1', port } } }));
    return startServerProcess(file, 60_000).then((p) => (running.push(p), p));
  };
  let server = await serve(old.dataDir, old.anchorFile, 'old');
  const c = await KmipTestClient.connect(port, client, { servername: 'kms01.example.com' });
  const material = new Map<string, string>();
  for (let i = 0; i < 3; i++) {
    const uid = uidOf(await send(c, [createAes()]));
    material.set(uid, keyBytesOf(await send(c, [withUid(Enum.Operation.Get, uid)])).toString('hex'));
  }
  c.close();
  mkdirSync(join(old.root, 'etc/keyhaven'), { recursive: true });
  writeFileSync(old.settings, JSON.stringify({ hostname: 'kms01.example.com', network: { backupHost: host.address }, backup: { username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, schedule: { every: 'week', day: 5, at: '23:15' }, keep: 9 } }));
  const adminLog = AdminAuditLog.open(old);
  adminLog.append({ identity: 'admin', address: '192.0.2.50', operation: 'Set NTP Servers', objectId: 'network.ntpServers', result: 'success', reason: 'on the lost appliance' });
  adminLog.copyForBackup(old.adminAuditCopy);
  adminLog.close();
  const { shares } = await initBackupKey({ dataDir: old.dataDir, masterKeyFile: join(old.dataDir, 'master.key'), count: 3, threshold: 2, rekey: false });
  const made = await createBackup({
    config: parseConfig({ dataDir: old.dataDir, store: { anchorFile: old.anchorFile }, backup: { sftp: { host: host.address, username: host.username, hostKeySha256: host.hostKeyFingerprint }, schedule: { every: 'day', at: '02:00' }, include: { 'appliance.json': old.settings, 'admin-audit.db': old.adminAuditCopy } } }, 'test'),
    out: join(dir, 'made.khbak'),
  });
  const name = backupName('kms01.example.com'.replace(/-/g, ''), new Date());
  await uploadBackup({ host: host.address, port: 22, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, privateKey: uploader.privateKey }, made.file, name);
  server.child.kill('SIGTERM');
  await server.exited;

  // The new appliance, same name and address, first boot.
  const root = join(dir, 'new');
  mkdirSync(root);
  const paths = appliancePaths(root);
  const settings = join(dir, 'settings.json');
  writeFileSync(settings, JSON.stringify({ hostname: 'kms01.example.com', address: { mode: 'static', address: '10.1.2.4', prefix: 24, gateway: '10.1.2.1' } }));
  const t = Terminal.start([process.execPath, KEYHAVEN, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', root, '--settings', settings]);
  terminals.push(t);
  const enter = async (text: string, expect: RegExp, timeoutMs?: number) => {
    t.press(...Array<string>(120).fill('BSpace'));
    await new Promise((r) => setTimeout(r, 300)); // the erasing is echoed before the new text arrives
    t.type(text);
    t.press('Enter');
    await t.waitForTail(expect, timeoutMs, 8);
  };
  await t.waitFor(/Are these settings correct\?/);
  t.press('Enter');
  await t.waitFor(/\? New admin password/);
  await enter(GOOD, /^\? Repeat the password\s*$/m);
  await enter(GOOD, /Restore from a backup[\s\S]*navigate/);
  t.press('Down', 'Down', 'Enter');
  await t.waitForTail(/\? Backup host IP address/, 20_000, 8);
  await enter('backup.example', /is a hostname; the firewall pins addresses/);
  await enter(host.address, /\? Account on the backup host/);
  await enter(host.username, /\? Directory there/);
  await enter('backups', /\? Backup host key fingerprint/);
  await enter('MD5:00:11', /not an SSH host key fingerprint\. An MD5 fingerprint is not accepted/);
  await enter(host.hostKeyFingerprint, /Installed on the backup host\?[\s\S]*Yes, list the backups/, 60_000);
  const shown = /^(ssh-ed25519 \S+ keyhaven-backup@\S+)$/m.exec(t.history());
  assert.ok(shown, 'the wizard shows its SSH public key');
  // Not installed yet: listing fails with the reason, nothing restored.
  t.press('Enter');
  await t.waitForTail(/What now\?[\s\S]*Try again/, 60_000, 8);
  assert.match(t.history(), /Restoring failed: .*refused the appliance's SSH key/);
  host.authorize(uploader.publicKey, shown[1]!);
  t.press('Enter'); // try again
  await t.waitForTail(/Installed on the backup host\?/, 60_000, 8);
  t.press('Enter');
  await t.waitForTail(new RegExp(`Backup to restore[\\s\\S]*${name.replace(/\./g, '\\.')}`), 60_000, 8);
  t.press('Enter');
  await t.waitForTail(/\? Share 1 of M/, 20_000, 8);
  const typo = shares[0]!.replace(/([0-9a-f])(-[0-9a-f]{8})$/, (_m, a: string, check: string) => `${a === '0' ? '1' : '0'}${check}`);
  await enter(typo, /does not match its check value/);
  await enter(shares[0]!, /\? Share 2 of 2/);
  await enter(shares[2]!, /Press Enter for the login prompt/, 240_000);
  const screen = t.history();
  assert.match(screen, new RegExp(`restored ${name.replace(/\./g, '\\.')} \\(made .* on .*\\): 3 objects`));
  assert.match(screen, /the backup's administration log continues here/);
  assert.match(screen, /the backup's CA and server certificate restored/);
  for (const s of shares) assert.ok(!screen.includes(s), 'a share was echoed');
  t.press('Enter');
  assert.equal(await t.exitStatus(), 0);

  // The administration log: the lost appliance's records, then this first boot, one chain.
  const log = AdminAuditLog.open(paths, { create: false });
  try {
    const v = log.verify();
    assert.ok(v.ok, JSON.stringify(v));
    const ops = log.tail(10).map((r) => r.operation);
    assert.deepEqual(ops.slice(-3), ['Set NTP Servers', 'Change Admin Password', 'Complete First Boot']);
  } finally {
    log.close();
  }
  const saved = JSON.parse(readFileSync(paths.settings, 'utf8')) as { network: { backupHost: string }; backup: { schedule: unknown; keep: number; directory: string } };
  assert.equal(saved.network.backupHost, host.address);
  assert.deepEqual([saved.backup.schedule, saved.backup.keep, saved.backup.directory], [{ every: 'week', day: 5, at: '23:15' }, 9, 'backups']);

  // Started as keyhaven.service starts it: the same keys to the same client certificate.
  server = await serve(paths.dataDir, paths.anchorFile, 'new');
  const d = await KmipTestClient.connect(port, client, { servername: 'kms01.example.com' });
  try {
    for (const [uid, hex] of material) assert.equal(keyBytesOf(await send(d, [withUid(Enum.Operation.Get, uid)])).toString('hex'), hex, `key ${uid}`);
  } finally {
    d.close();
  }
});
