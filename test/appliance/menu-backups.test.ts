// Backups from the admin menu, driven as the administrator does, in a real pseudo-terminal against a
// real helper, with a real OpenSSH server in a network namespace as the backup host: the status says
// what is missing; the host and schedule are asked field by field (a host name and an MD5 fingerprint
// refused as typed) and confirmed; the SSH key is shown to install; the backup key's shares are shown
// one custodian at a time and never recorded; a backup on the host is verified with two shares typed
// hidden (a mistyped one refused as typed); a restore not confirmed by the backup's name changes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../server/index.js';
import { backupName, createBackup, generateClientKey, uploadBackup } from '../../server/run.js';
import { rootOnly } from '../support/root-only.js';
import { SftpHost } from '../support/sftp-host.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

const skip = rootOnly('a network namespace and a real sshd as the backup host');
const work = mkdtempSync(join(tmpdir(), 'kh-menu-backups-'));
const uploader = generateClientKey('uploader@test');
let box: AdminSandbox;
let host: SftpHost;

const ENTRIES = ['Back up now', 'Backup host and schedule', 'SSH key for the backup host', 'Backup key and custodian shares', 'Verify a backup', 'Restore a backup over this appliance'] as const;
async function inBackups(m: Menu, entry: (typeof ENTRIES)[number]): Promise<string> {
  await m.choose('Backups');
  const screen = await m.expect(/\? Backups/);
  m.press(...Array<string>(ENTRIES.indexOf(entry)).fill('Down'), 'Enter');
  return screen;
}

describe('Backups in the menu', { skip, timeout: 300_000 }, () => {
  before(async () => {
    box = await AdminSandbox.start();
    host = await SftpHost.start({ authorizedKey: uploader.publicKey });
  });
  after(async () => {
    await host?.cleanup();
    await box?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  let shares: string[] = [];
  test('set up from nothing: host and schedule checked as typed, the SSH key shown, the shares one custodian at a time', async () => {
    const m = await Menu.open(box.socket);
    try {
      const status = await inBackups(m, 'Backup host and schedule');
      assert.match(status, /backup host: +not set up/);
      assert.match(status, /backup key: +none yet/);
      await m.expect(/\? Backup host \(SFTP server\) IP address/);
      m.enter('backup.example');
      await m.expect(/is a hostname; the firewall pins addresses/);
      m.press(...Array<string>(20).fill('BSpace'));
      m.enter(host.address);
      await m.expect(/\? Account on the backup host/);
      m.press(...Array<string>(20).fill('BSpace'));
      m.enter(host.username);
      await m.expect(/\? Directory there/);
      m.press('BSpace');
      m.enter('backups');
      await m.expect(/\? Backup host key fingerprint/);
      m.enter('MD5:00:11:22');
      await m.expect(/An MD5 fingerprint is not accepted/);
      m.press(...Array<string>(20).fill('BSpace'));
      m.enter(host.hostKeyFingerprint);
      await m.expect(/\? How often/);
      m.press('Down', 'Enter'); // weekly
      await m.expect(/\? On/);
      m.press('Down', 'Down', 'Down', 'Enter'); // Wednesday
      await m.expect(/\? At \(HH:MM/);
      m.press(...Array<string>(10).fill('BSpace'));
      m.enter('24:00');
      await m.expect(/a time from 00:00 to 23:59/);
      m.press(...Array<string>(10).fill('BSpace'));
      m.enter('01:30');
      await m.expect(/\? Backups to keep on the host/);
      m.press(...Array<string>(10).fill('BSpace'));
      m.enter('5');
      await m.expect(/\? Apply \(the firewall opens SFTP to this host only/);
      m.enter('y');
      await m.expect(/Done: backups to .* weekly at 01:30, keeping 5\./);
      const saved = JSON.parse(readFileSync(box.paths.settings, 'utf8'));
      assert.deepEqual(saved.backup.schedule, { every: 'week', day: 3, at: '01:30' });
      assert.equal(saved.network.backupHost, host.address);

      await inBackups(m, 'SSH key for the backup host');
      const key = /===== BEGIN SSH public key =====\n(ssh-ed25519 \S+ \S+)\n===== END SSH public key =====/.exec(await m.expect(/===== END SSH public key =====/));
      assert.ok(key);
      host.authorize(uploader.publicKey, key[1]!);

      await inBackups(m, 'Backup key and custodian shares');
      await m.expect(/\? Number of custodians/);
      m.enter();
      await m.expect(/\? Shares needed to rebuild the key/);
      m.enter();
      for (let i = 1; i <= 3; i++) {
        await m.expect(new RegExp(`Custodian ${i} of 3: ready to write down your share\\?`));
        m.enter();
        const screen = await m.expect(new RegExp(`Share ${i} of 3: +(KHS1-\\S+)`));
        shares.push(new RegExp(`Share ${i} of 3: +(KHS1-\\S+)`).exec(screen.slice(screen.lastIndexOf(`Share ${i} of 3:`)))![1]!);
        await m.expect(new RegExp(`Custodian ${i}: written down`));
        m.enter();
      }
      await m.expect(/Done: made backup-key generation 1 .* shown as 3 shares, any 2 of which rebuild it\./);
      assert.equal(new Set(shares).size, 3);
      for (const s of shares) assert.equal(m.history().split(s).length - 1, 1, 'each share is shown once');
      const audit = readFileSync(box.paths.adminAudit).toString('latin1');
      for (const s of shares) assert.ok(!audit.includes(s) && !box.journalLines().join('\n').includes(s), 'a share was recorded');
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });

  test('Verify a backup with two custodians\' shares; a restore not confirmed by name changes nothing', async () => {
    // A backup of this appliance on the host (as its key server makes them), under the menu's backup key.
    const made = await createBackup({ config: parseConfig({ dataDir: box.paths.dataDir }, 'test'), out: join(work, 'made.khbak') });
    const name = backupName('menutest', new Date());
    await uploadBackup({ host: host.address, port: 22, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, privateKey: uploader.privateKey }, made.file, name);
    const m = await Menu.open(box.socket);
    try {
      await inBackups(m, 'Verify a backup');
      await m.expect(new RegExp(`\\? Which backup[\\s\\S]*${name.replace(/\./g, '\\.')}`));
      m.enter();
      await m.expect(/\? Share 1 of M/);
      const typo = shares[1]!.replace(/([0-9a-f])(-[0-9a-f]{8})$/, (_x, a: string, c: string) => `${a === '0' ? '1' : '0'}${c}`);
      m.enter(typo);
      await m.expect(/does not match its check value/);
      m.press(...Array<string>(120).fill('BSpace'));
      m.enter(shares[1]);
      await m.expect(/\? Share 2 of 2/);
      m.enter(shares[1]);
      await m.expect(/share 2 was typed already/);
      m.press(...Array<string>(120).fill('BSpace'));
      m.enter(shares[2]);
      const screen = await m.expect(/Done: verified .*: intact/, 120_000);
      assert.match(screen, new RegExp(`${name.replace(/\./g, '\\.')} is intact:\\n +made: .*\\n +generation: +1`));
      for (const s of shares) assert.ok(!m.history().includes(s.slice(-20)) || m.history().split(s).length - 1 <= 1, 'a typed share was echoed');

      await inBackups(m, 'Restore a backup over this appliance');
      await m.expect(new RegExp(`\\? Which backup[\\s\\S]*${name.replace(/\./g, '\\.')}`));
      m.enter();
      await m.expect(/\? To restore it, type its name/);
      m.enter('yes');
      await m.expect(/that is not the name/);
      m.press(...Array<string>(10).fill('BSpace'));
      m.enter();
      await m.expect(/Nothing was restored\./);
      assert.ok(!box.commands().some((c) => c[1] === 'stop'), 'the key server was not stopped');
    } finally {
      m.close();
    }
  });
});
