// End to end, backups (issue 14), run by ova-boot.test.ts on the OVA it built: appliance A from the
// OVA on a network with the host, where an OpenSSH server on the host's address is the backup host
// (sshd, internal-sftp, chrooted: test/support/sftp-host.ts). A's first boot founds a group; from A's
// SSH menu the administrator issues a client certificate, sets the backup host and schedule (its host
// key fingerprint typed), installs A's SSH key on the host, makes the backup key (three custodians'
// shares), backs up now and verifies the backup from the menu; a key registered before is in it. A is then lost (powered off);
// a replacement R from the same OVA, with A's name and address, restores the backup at first boot
// (R's own SSH key installed on the host, two of the three shares typed on the console) and serves
// the same key to the same client bundle. Timings are printed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCommand } from '../../appliance/build/run-command.js';
import { generateClientKey } from '../../server/backup/sftp-target.js';
import { Enum } from '../../server/index.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { SftpHost } from '../support/sftp-host.js';
import { TcpCollector } from '../support/syslog-collector.js';
import { keyBytesOf, registerAes, send, uidOf } from '../store/helpers.js';
import { withUid } from '../support/requests.js';
import { bootAppliance, completeFirstBoot, firstBootToGroup, guestProperties, pristineDisk, type ApplianceVm, type Guest } from './helpers/appliance-vm.js';
import { createBridge } from './helpers/bridge.js';
import { FAILED, issueClientBundle, mainMenu, plain, retry, submenu, waitFor } from './helpers/menu-steps.js';
import { probeTcp } from './helpers/probe.js';
import { sshDialog } from './helpers/ssh-session.js';

const PASSWORD = 'Keyhaven-e2e backups 8Kp#wide';
const BOOT_DEADLINE_MS = 15 * 60_000;
const BACKUPS = ['Back up now', 'Backup host and schedule', 'SSH key for the backup host', 'Backup key and custodian shares', 'Verify a backup', 'Restore a backup over this appliance'];

export async function backupRestoreVm(t: TestContext, ova: string, work: string): Promise<void> {
  const net = 64 + ((process.pid + 91) % 128);
  const A: Guest = { name: 'a', hostname: 'kh-backup.example.test', ip: `10.${net}.2.10`, prefix: 24, gateway: `10.${net}.2.1`, mac: '52:54:00:77:02:10' };
  // The replacement: the lost appliance's name and address, another virtual NIC.
  const R: Guest = { ...A, name: 'r', mac: '52:54:00:77:02:11' };
  const admin = `10.${net}.2.2`;
  const tapA = `khba${process.pid}`.slice(0, 15);
  const tapR = `khbr${process.pid}`.slice(0, 15);
  const network = await createBridge(`khbb${process.pid}`.slice(0, 15), `10.${net}.2.1/24`, [tapA, tapR]);
  await runCommand('ip', ['addr', 'add', `${admin}/24`, 'dev', network.bridge]);
  const siem = await TcpCollector.listen(514, [], network.hostAddress);
  // Nobody may log in to the backup host until an appliance's key is installed.
  const host = await SftpHost.start({ authorizedKey: generateClientKey('nobody@e2e').publicKey, listen: network.hostAddress });
  const started = Date.now();
  const timings: string[] = [];
  const mark = (what: string) => {
    const at = `${((Date.now() - started) / 1000).toFixed(0)} s`;
    timings.push(`${at.padStart(6)}  ${what}`);
    t.diagnostic(`[${at}] ${what}`);
  };
  const vms: ApplianceVm[] = [];
  try {
    const unpacked = join(work, 'backup-ova');
    mkdirSync(unpacked, { recursive: true });
    await runCommand('tar', ['-xf', ova, '-C', unpacked]);
    const base = await pristineDisk(join(unpacked, readdirSync(unpacked).find((f) => f.endsWith('.vmdk'))!), work);
    const props = (g: Guest) => guestProperties(g, { 'keyhaven.ntp': network.hostAddress, 'keyhaven.syslog': network.hostAddress, 'keyhaven.admin_networks': `${admin}/32` });

    // 1. A: first boot, a client bundle, and a key to keep.
    const a = await bootAppliance({ work, base, guest: A, tap: tapA, properties: props(A), cpus: 2, boot: 1 });
    vms.push(a);
    await completeFirstBoot(a, PASSWORD, 'new', BOOT_DEADLINE_MS);
    mark('A: first boot complete');
    const ssh = { host: A.ip, from: admin, username: 'admin', password: PASSWORD, timeoutMs: 600_000 };
    await waitFor('SSH on A', 300_000, async () => (await probeTcp(A.ip, 22, 3000, admin)) === 'open');
    const files = await issueClientBundle(ssh, work);
    const kmip = (g: Guest) => KmipTestClient.connect(6000, files, { host: g.ip, servername: g.hostname, timeout: 10_000 });
    const secret = randomBytes(32);
    const onA = await retry('KMIP on A', 120_000, () => kmip(A));
    const uid = uidOf(await send(onA, [registerAes(secret)]));
    onA.socket.destroy();
    mark(`A's menu: client certificate issued; key ${uid} registered`);

    // 2. A's menu: backup host and schedule, A's SSH key installed on the host, the backup key's shares.
    const backups = (target: string) => [...mainMenu('Backups'), ...submenu('Backups', BACKUPS, target)];
    const dialog = async (steps: { expect: RegExp; send: string }[], done: RegExp) => {
      const out = plain(await sshDialog(ssh, steps, new RegExp(`${done.source}|${FAILED.source}`)));
      assert.doesNotMatch(out, FAILED);
      return out;
    };
    await dialog(
      [
        ...backups('Backup host and schedule'),
        { expect: /Backup host \(SFTP server\) IP address/, send: `${host.address}\r` },
        { expect: /Account on the backup host/, send: `${'\x7f'.repeat(10)}${host.username}\r` },
        { expect: /Directory there/, send: '\x7fbackups\r' },
        { expect: /Backup host key fingerprint/, send: `${host.hostKeyFingerprint}\r` },
        { expect: /How often/, send: '\r' },
        { expect: /At \(HH:MM/, send: '\r' },
        { expect: /Backups to keep on the host/, send: '\r' },
        { expect: /Apply \(the firewall opens SFTP/, send: '\r' },
      ],
      /Done: backups to [^\n]*\n/,
    );
    const shown = await dialog([...backups('SSH key for the backup host')], /===== END SSH public key =====/);
    const aKey = /===== BEGIN SSH public key =====\n(ssh-ed25519 \S+ \S+)\n/.exec(shown)?.[1];
    assert.ok(aKey, shown.slice(-800));
    host.authorize(aKey);
    const custodians = [1, 2, 3].flatMap((i) => [
      { expect: new RegExp(`Custodian ${i} of 3: ready`), send: '\r' },
      { expect: new RegExp(`Custodian ${i}: written down`), send: '\r' },
    ]);
    const made = await dialog([...backups('Backup key and custodian shares'), { expect: /Number of custodians/, send: '\r' }, { expect: /Shares needed/, send: '\r' }, ...custodians], /Done: made backup-key generation 1[^\n]*\n/);
    const shares = [...made.matchAll(/Share (\d) of 3: +(KHS1-\S+)/g)].map((m) => m[2]!);
    assert.equal(shares.length, 3, made.slice(-2000));
    mark("A's menu: backup host set, A's SSH key installed, backup key made (2 of 3 shares)");

    // 3. Back up now: A's key server makes the backup; it is on the host.
    const now = await dialog([...backups('Back up now')], /Done: backup \S+ stored on the backup host[^\n]*\n/);
    const name = /Done: backup (\S+) stored/.exec(now)![1]!;
    assert.ok(host.files().includes(name), `${name} on the host: ${host.files().join(', ')}`);
    mark(`A: backed up now: ${name} on the backup host`);
    await waitFor('the backup audited at the SIEM', 60_000, async () => siem.messages.some((m) => m.includes('Backup Created') && m.includes(name)));
    // Verify a backup: the menu's helper fetches it (its unit lets it reach the backup host only) and checks it with two shares.
    const verified = await dialog(
      [...backups('Verify a backup'), { expect: new RegExp(`Which backup[\\s\\S]*${name.replace(/\./g, '\\.')}`), send: '\r' }, { expect: /Share 1 of M/, send: `${shares[0]}\r` }, { expect: /Share 2 of 2/, send: `${shares[1]}\r` }],
      /Done: verified [^\n]*\n/,
    );
    assert.match(verified, new RegExp(`Done: verified ${name.replace(/\./g, '\\.')}: intact, 1 objects`));
    mark(`A's menu: ${name} verified with two shares`);

    // 4. A is lost; R, from the same OVA with A's name and address, restores the backup at first boot.
    await a.powerOff();
    mark('A powered off (lost)');
    const r = await bootAppliance({ work, base, guest: R, tap: tapR, properties: props(R), cpus: 2, boot: 1 });
    vms.push(r);
    const s = r.serial;
    await firstBootToGroup(r, PASSWORD, BOOT_DEADLINE_MS);
    for (let i = 0; i < 2; i++) {
      s.type('\x1b[B');
      await new Promise((res) => setTimeout(res, 1000));
    }
    s.line('');
    await s.waitFor(/Backup host IP address/, 60_000);
    s.line(host.address);
    await s.waitFor(/Account on the backup host/, 60_000);
    s.line(host.username);
    await s.waitFor(/Directory there/, 60_000);
    s.line('backups');
    await s.waitFor(/Backup host key fingerprint/, 60_000);
    s.line(host.hostKeyFingerprint);
    const keyShown = await s.waitFor(/Installed on the backup host\?/, 180_000);
    const rKey = /(ssh-ed25519 [A-Za-z0-9+/=]+ keyhaven-backup@\S+)/.exec(plain(keyShown))?.[1];
    assert.ok(rKey && rKey !== aKey, `R shows its own SSH key:\n${plain(keyShown).slice(-800)}`);
    host.authorize(aKey, rKey);
    s.line('');
    await s.waitFor(new RegExp(`Backup to restore[\\s\\S]*${name.replace(/\./g, '\\.')}`), 180_000);
    s.line('');
    await s.waitFor(/Share 1 of M/, 60_000);
    s.line(shares[2]!);
    await s.waitFor(/Share 2 of 2/, 60_000);
    s.line(shares[0]!);
    const done = plain(await s.waitFor(/Press Enter for the login prompt|Restoring failed[^\n]*\n|First boot could not finish[^\n]*\n/, 600_000));
    assert.match(done, /Press Enter for the login prompt/, done.slice(-1500));
    assert.match(done, new RegExp(`restored ${name.replace(/\./g, '\\.')} \\(made [^)]*\\): \\d+ objects`));
    assert.match(done, /the backup's administration log continues here/);
    s.line('');
    mark(`R: first boot restored ${name}`);

    // 5. R serves A's key to A's client bundle.
    let got: Buffer | undefined;
    await waitFor('R serves the key from the backup', 300_000, async () => {
      const c = await kmip(R);
      try {
        const res = await send(c, [withUid(Enum.Operation.Get, uid)]);
        got = res.items[0]!.status === Enum.ResultStatus.Success ? keyBytesOf(res) : undefined;
        return got !== undefined;
      } finally {
        c.socket.destroy();
      }
    });
    assert.ok(got!.equals(secret), 'the same key material');
    mark('R serves the key made on A, to the same client bundle');
    t.diagnostic(`backup and restore timings (QEMU TCG, 2 vCPUs on a 2-core host):\n${timings.join('\n')}`);
  } catch (err) {
    const out = join(process.cwd(), 'test-output');
    mkdirSync(out, { recursive: true });
    for (const v of vms) writeFileSync(join(out, `e2e-backup-${v.guest.name}-console.txt`), v.serial.transcript());
    writeFileSync(join(out, 'e2e-backup-siem.txt'), siem.messages.join('\n'));
    writeFileSync(join(out, 'e2e-backup-sshd.txt'), host.log);
    t.diagnostic(`timings so far:\n${timings.join('\n')}\nconsoles, SIEM and sshd messages kept in ${out}/e2e-backup-*`);
    throw err;
  } finally {
    for (const v of vms) await v.powerOff();
    await siem.close();
    await host.cleanup();
    await network.remove();
  }
}
