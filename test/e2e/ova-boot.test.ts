// End to end: build the OVA, unpack it as vSphere would, check the manifest and the disk, boot the
// disk under QEMU with the OVF environment on a CD (iso transport), complete first boot on the serial
// console as an administrator would, and from the host prove that the KMIP port answers a Discover
// Versions through the firewall, SSH answers only the admin network, and the other ports stay silent;
// the host plays the SIEM and receives the key server's audit records, sshd's and auditd's; after ten
// wrong passwords SSH locks the admin out, while a key the admin added in the menu still logs in.
// Once the wizard is up the console stays quiet (no kernel, firewall or service lines), shows no
// Debian MOTD, and the SSH host key fingerprints it shows are those the SSH client sees.
//
// Needs root (image build, loop mount, tap device). The console log is kept in test-output/ on failure.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildOva } from '../../appliance/build/build-ova.js';
import { runCommand } from '../../appliance/build/run-command.js';
import { MENU_OPTIONS } from '../../appliance/menu/options/index.js';
import { textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { initPki, issueClient, issueServer, pkiPaths } from '../../server/pki/index.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { rootOnly } from '../support/root-only.js';
import { TcpCollector } from '../support/syslog-collector.js';
import { field, parseResponse, request } from '../support/requests.js';
import { backupRestoreVm } from './backup-restore-vm.js';
import { mirrorPair } from './mirror-pair.js';
import { ovfEnvironmentIso } from './helpers/ovf-env.js';
import { probeTcp } from './helpers/probe.js';
import { SerialConsole } from './helpers/serial-console.js';
import { openSsh, sshAuthenticates, sshDialog, sshSession } from './helpers/ssh-session.js';
import { createTap, startVm, type Vm } from './helpers/vm.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// A network of its own per run (tap device and addresses), so two runs on one machine do not collide.
const NET = 64 + (process.pid % 128);
const GUEST = { ip: `10.${NET}.0.10`, prefix: 24, gateway: `10.${NET}.0.1`, hostname: 'kh-e2e.example.test', mac: '52:54:00:77:00:10' };
const HOST_CIDR = `10.${NET}.0.1/24`;
/** A second host address, the only one in the appliance's admin networks. */
const ADMIN_HOST = `10.${NET}.0.2`;
const ADMIN_PASSWORD = 'Keyhaven-e2e first boot 7Qz!';
/** Set from the menu after first boot (11d). */
const NEW_ADMIN_PASSWORD = 'Keyhaven-e2e changed later 4Wm#';
const TAP = `khe2e${process.pid}`.slice(0, 15);
const BOOT_DEADLINE_MS = 10 * 60 * 1000;

const notRoot = rootOnly('image build, loop mount, tap device');

/** What must not print over the wizard, the login prompt or the menu: kernel lines (printk time stamps, nft log prefixes) and systemd status lines. */
const CONSOLE_NOISE = /keyhaven-(drop|closed)-(in|out|fwd)|^\s*\[\s*\d+\.\d+\]|\[\s*(OK|FAILED|DEPEND)\s*\]/;
/** Debian's stock MOTD (/etc/motd) and update-motd.d's uname line. */
const DEBIAN_MOTD = /ABSOLUTELY NO WARRANTY|programs included with the Debian|\bLinux \S+ \d+\.\d+\.\d+\S* #\d/;
/** Host key fingerprints as the wizard and the banner print them: label, then SHA256:…. */
const HOST_KEY_LINE = /^ {2}(?:SSH host key {1,2}| {13})?(ED25519|ECDSA|RSA) +(SHA256:[A-Za-z0-9+/]{43})$/gm;
const hostKeysIn = (text: string) => new Map([...text.matchAll(HOST_KEY_LINE)].map((m) => [m[1]!, m[2]!]));

// Connections to a guest that was killed can stay half-open forever; once the test has finished,
// nothing of it may keep this process (and CI) waiting.
after(() => {
  setTimeout(() => process.exit(process.exitCode ?? 0), 5000).unref();
});

// One OVA for both tests of this file (they run one after the other: two at once would share the
// host's two cores between three TCG guests).
const shared = mkdtempSync(join(tmpdir(), 'keyhaven-e2e-ova-'));
after(() => rmSync(shared, { recursive: true, force: true }));
let building: ReturnType<typeof buildOva> | undefined;
const builtOva = (log: (line: string) => void) =>
  (building ??= buildOva({ repoRoot: ROOT, outDir: join(shared, 'out'), diskGiB: 8, hardwareVersion: 15, mirror: process.env.KEYHAVEN_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian', rebuildBase: false, keepWork: false, workDir: join(shared, 'build'), log }));

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The appliance's PKI made on the host (CA, server certificate for the guest's name and address, a client). */
async function makeTestPki(dir: string) {
  await initPki(dir, { name: 'e2e', bits: 2048 });
  await issueServer(dir, { dns: [GUEST.hostname], ip: [GUEST.ip], bits: 2048 });
  const client = await issueClient(dir, { name: 'vcenter-e2e', bits: 2048 });
  return { ca: pkiPaths(dir).caCert, cert: client.certPath, key: client.keyPath };
}

/** Puts the PKI into /var/lib/keyhaven/pki of the raw disk's root partition (offset 1 MiB), owned by keyhaven. */
async function injectPki(rawDisk: string, pkiDir: string, work: string): Promise<void> {
  const mnt = join(work, 'mnt');
  mkdirSync(mnt, { recursive: true });
  await runCommand('mount', ['-o', 'loop,offset=1048576', rawDisk, mnt]);
  try {
    const passwd = readFileSync(join(mnt, 'etc/passwd'), 'utf8');
    const entry = passwd.split('\n').find((l) => l.startsWith('keyhaven:'));
    assert.ok(entry, 'the image has a keyhaven account');
    const [, , uid, gid] = entry.split(':');
    const target = join(mnt, 'var/lib/keyhaven/pki');
    cpSync(join(pkiDir, 'pki'), target, { recursive: true });
    await runCommand('chown', ['-R', `${uid}:${gid}`, target]);
  } finally {
    await runCommand('umount', [mnt]);
  }
}

async function discoverVersions(files: { ca: string; cert: string; key: string }): Promise<number[][]> {
  const client = await KmipTestClient.connect(6000, files, { host: GUEST.ip, servername: GUEST.hostname, timeout: 5000 });
  try {
    const response = parseResponse(await client.send(request([{ operation: Enum.Operation.DiscoverVersions, payload: [] }], { minor: 2 })));
    const item = response.items[0]!;
    assert.equal(item.status, Enum.ResultStatus.Success);
    return (item.payload?.value ?? [])
      .filter((v) => v.tag === Tag.ProtocolVersion)
      .map((v) => [field<number>(v as never, Tag.ProtocolVersionMajor)!, field<number>(v as never, Tag.ProtocolVersionMinor)!]);
  } finally {
    // Destroyed, not ended: the guest is killed later and would never answer a FIN, leaving the
    // socket (and this test process) waiting.
    client.socket.destroy();
  }
}

test('the OVA builds, unpacks, boots and serves KMIP behind its firewall', { skip: notRoot, timeout: 40 * 60 * 1000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-e2e-'));
  let vm: Vm | undefined;
  let serial: SerialConsole | undefined;
  // Checks that do not depend on each other are all run and reported together (one boot is slow).
  const failures: string[] = [];
  const check = async (name: string, body: () => Promise<void> | void): Promise<void> => {
    try {
      await body();
      t.diagnostic(`ok: ${name}`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
      t.diagnostic(`FAILED: ${name}: ${(err as Error).message}`);
    }
  };
  const tap = await createTap(TAP, HOST_CIDR);
  // The SIEM of the vApp properties (keyhaven.syslog): TCP 514 on the host's tap address.
  const siem = await TcpCollector.listen(514, [], tap.hostAddress);
  await runCommand('ip', ['addr', 'add', `${ADMIN_HOST}/24`, 'dev', TAP]);
  try {
    // 1. Build (warm when the base layer is cached).
    const built = await builtOva((l) => t.diagnostic(l));
    t.diagnostic(`OVA ${(built.size / 1048576).toFixed(1)} MiB, built in ${built.seconds.toFixed(1)} s`);

    // 2. The archive: USTAR, descriptor first, then manifest, then the disk.
    const listing = (await runCommand('tar', ['-tf', built.ova], { captureStdout: true })).trim().split('\n');
    assert.deepEqual(listing.map((n) => n.split('.').pop()), ['ovf', 'mf', 'vmdk']);
    const header = readFileSync(built.ova).subarray(257, 265);
    assert.equal(header.toString('latin1'), 'ustar\u000000', 'USTAR magic and version');
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    await runCommand('tar', ['-xf', built.ova, '-C', unpacked]);
    assert.deepEqual(readdirSync(unpacked).sort(), [...listing].sort());

    // 3. The manifest: exactly `SHA256(name)= hex` lines, one per other file, digests matching.
    const mf = readFileSync(join(unpacked, listing[1]!), 'utf8');
    const lines = mf.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const m = /^SHA256\(([^)]+)\)= ([0-9a-f]{64})$/.exec(line);
      assert.ok(m, `manifest line ${JSON.stringify(line)}`);
      assert.equal(await sha256(join(unpacked, m[1]!)), m[2], `digest of ${m[1]}`);
    }

    // 4. The disk: a streamOptimized VMDK that qemu-img reads back.
    const vmdk = join(unpacked, listing[2]!);
    const info = JSON.parse(await runCommand('qemu-img', ['info', '--output=json', vmdk], { captureStdout: true })) as { format: string; 'virtual-size': number; 'format-specific'?: { data?: { 'create-type'?: string } } };
    assert.equal(info.format, 'vmdk');
    assert.equal(info['format-specific']?.data?.['create-type'], 'streamOptimized');
    assert.equal(info['virtual-size'], 8 * 1024 ** 3);
    const raw = join(work, 'disk.raw');
    await runCommand('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', vmdk, raw]);

    // 5. The PKI a deployed appliance would hold, and the vApp properties on a CD.
    const pkiDir = join(work, 'pki-data');
    const client = await makeTestPki(pkiDir);
    await injectPki(raw, pkiDir, work);
    const iso = await ovfEnvironmentIso(work, {
      'keyhaven.hostname': GUEST.hostname,
      'keyhaven.ip': GUEST.ip,
      'keyhaven.prefix': String(GUEST.prefix),
      'keyhaven.gateway': GUEST.gateway,
      'keyhaven.dns': '',
      'keyhaven.ntp': tap.hostAddress,
      'keyhaven.syslog': tap.hostAddress,
      // SSH is opened to this network only: the host's second address, not its first.
      'keyhaven.admin_networks': `${ADMIN_HOST}/32`,
    });

    // 6. Boot. Until first boot is complete the serial console shows the wizard, not a login prompt,
    // and neither the key server nor SSH runs.
    const socket = join(work, 'console.sock');
    vm = startVm({ disk: raw, diskFormat: 'raw', cdrom: iso, tap: TAP, mac: GUEST.mac, consoleLog: join(work, 'console.log'), consoleSocket: socket });
    serial = await SerialConsole.connect(socket);
    const settingsShown = await serial.waitFor(/Are these settings correct\?/, BOOT_DEADLINE_MS);
    t.diagnostic(`boot to first-boot wizard: ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s (QEMU TCG)`);
    assert.match(settingsShown, /Host name +kh-e2e\.example\.test/);
    assert.ok(settingsShown.includes(`Address          ${GUEST.ip}/24, gateway ${GUEST.gateway}`), 'static address shown');
    assert.ok(settingsShown.includes(`Admin networks   ${ADMIN_HOST}/32`), 'admin network shown');
    assert.doesNotMatch(serial.transcript(), /login:/, 'no login prompt before first boot is complete');
    assert.equal(await probeTcp(GUEST.ip, 6000, 3000), 'refused', 'the key server does not run before first boot is complete');
    assert.equal(await probeTcp(GUEST.ip, 22, 3000, ADMIN_HOST), 'silent', 'SSH is closed before first boot is complete');
    // The console is the wizard's from here on: probes the firewall drops and logs leave no line on it.
    const quietFrom = serial.transcript().length;
    const noise = () => serial!.transcript().slice(quietFrom).split('\n').filter((l) => CONSOLE_NOISE.test(l));
    for (const port of [80, 443, 3886, 6001]) assert.equal(await probeTcp(GUEST.ip, port, 2000), 'silent');
    await new Promise((r) => setTimeout(r, 3000));
    await check('no kernel, firewall or service lines over the wizard', () => assert.deepEqual(noise(), []));

    // 7. First boot through the serial console: accept the settings, a weak password is refused, a
    // good one accepted; the CA placed on the disk is kept and its fingerprint shown.
    serial.line('');
    await serial.waitFor(/New admin password/, 60_000);
    serial.line('short');
    await serial.waitFor(/Use at least 15 characters \(this has 5\)/, 30_000);
    serial.type('\x7f'.repeat(10));
    serial.line(ADMIN_PASSWORD);
    await serial.waitFor(/Repeat the password/, 30_000);
    serial.line(ADMIN_PASSWORD);
    await serial.waitFor(/Mirror group[\s\S]*Join an existing mirror group/, 30_000);
    serial.line(''); // a new group: this appliance's own CA (the one placed on the disk)
    const done = await serial.waitFor(/Press Enter for the login prompt/, 180_000);
    assert.match(done, /kept the CA placed on the disk before first boot/);
    const caFingerprint = new X509Certificate(readFileSync(client.ca)).fingerprint256;
    assert.ok(done.replace(/\s/g, '').includes(caFingerprint), 'the CA fingerprint is shown');
    const wizardHostKeys = hostKeysIn(done);
    await check('the wizard shows the three SSH host key fingerprints', () => assert.deepEqual([...wizardHostKeys.keys()], ['ED25519', 'ECDSA', 'RSA']));
    serial.line('');
    const loginScreen = await serial.waitFor(/Log in as admin for the administration menu\.[\s\S]*login:/, 60_000);
    const bannerHostKeys = hostKeysIn(loginScreen);
    await check('the console banner shows the same host key fingerprints', () => assert.deepEqual(bannerHostKeys, wizardHostKeys));

    // 7b. The console login: straight to the menu, no Debian MOTD or kernel version before it.
    serial.line('admin');
    await serial.waitFor(/Password:/, 60_000);
    serial.line(ADMIN_PASSWORD);
    const consoleLogin = await serial.waitFor(/Main menu/, 120_000);
    await check('no Debian MOTD at the console login', () => assert.doesNotMatch(consoleLogin, DEBIAN_MOTD));
    serial.type('\x04'); // Ctrl-D at the main menu: logged out, the login prompt comes back
    await serial.waitFor(/Logged out\.[\s\S]*login:/, 60_000);

    // 8. The key server answers a Discover Versions over mutual TLS through the firewall.
    let versions: number[][] | undefined;
    let lastError = '';
    const kmipDeadline = Date.now() + 120_000;
    while (!versions && Date.now() < kmipDeadline) {
      assert.equal(vm.process.exitCode, null, 'QEMU is still running');
      try {
        versions = await discoverVersions(client);
      } catch (err) {
        lastError = (err as Error).message;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    assert.ok(versions, `no Discover Versions answer within 120 s of first boot completing (last error: ${lastError})`);
    t.diagnostic(`boot to KMIP ready (including first boot on the console): ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s; versions ${versions.map((v) => v.join('.')).join(', ')}`);
    assert.deepEqual(versions[0], [1, 4], 'the newest version first (KMIP 1.4 §4.26)');
    assert.ok(versions.some(([a, b]) => a === 1 && b === 0));

    // 9. The vApp properties were read from the CD and applied.
    const consoleText = vm.console();
    assert.match(consoleText, /reading vApp properties from iso/);
    assert.ok(consoleText.includes(`host kh-e2e.example.test, ${GUEST.ip}/24 via ${GUEST.gateway}; firewall applied`), 'settings applied at boot');

    // 10. Nothing else answers: SSH from outside the admin networks, HTTP, key management, web
    // management, and mirroring (the key server listens on 6002, but a group of one has no peer to
    // let in, which shows the silence is the firewall's doing) — silent (dropped). SSH answers the
    // admin network; the encryption services answer on 6003 and serve nothing of key management.
    for (const port of [22, 80, 443, 6001, 3886, 6002]) {
      assert.equal(await probeTcp(GUEST.ip, port, 3000), 'silent', `port ${port} must not answer`);
    }
    assert.equal(await probeTcp(GUEST.ip, 6000, 3000), 'open');
    await check('6003 serves the encryption services, not key retrieval', async () => {
      const services = await KmipTestClient.connect(6003, client, { host: GUEST.ip, servername: GUEST.hostname, timeout: 10_000 });
      try {
        const r = parseResponse(await services.send(request([{ operation: Enum.Operation.Get, payload: [textString(Tag.UniqueIdentifier, 'any')] }], { minor: 2 })));
        assert.equal(r.items[0]!.status, Enum.ResultStatus.OperationFailed);
        assert.equal(r.items[0]!.reason, Enum.ResultReason.OperationNotSupported);
        assert.match(r.items[0]!.message ?? '', /not served on the encryption services port 6003/);
      } finally {
        services.socket.destroy();
      }
    });
    assert.equal(await probeTcp(GUEST.ip, 22, 5000, ADMIN_HOST), 'open', 'SSH from the admin network');

    // 11. SSH as admin from the admin network: the menu, whatever is asked for; Ctrl-C, Ctrl-Z and
    // Ctrl-\ leave it the menu. From outside the admin networks SSH does not connect (silent above).
    let adminPassword = ADMIN_PASSWORD;
    const ssh = { host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: ADMIN_PASSWORD, waitFor: /Main menu/, timeoutMs: 90_000 };
    const interactive = await sshSession({ ...ssh, keys: ['\x03', '\x1a', '\x1c'] });
    assert.match(interactive, /Keyhaven 0\.1\.0 administration/);
    assert.doesNotMatch(interactive, /\$ $|# $|uid=\d+/m, 'no shell prompt or command output');
    const asked = await sshSession({ ...ssh, command: '/bin/sh -c "echo SHELL-REACHED; id"' });
    assert.match(asked, /Main menu/, 'ForceCommand runs the menu instead of the requested command');
    assert.doesNotMatch(asked, /SHELL-REACHED|uid=\d+/);
    await check('no Debian MOTD in the SSH session', () => assert.doesNotMatch(interactive, DEBIAN_MOTD));

    // 11b. The host keys the SSH client sees (each type in turn, recorded in a known_hosts file as
    // a first connection does) are those the console showed.
    for (const [label, algorithm] of [['ED25519', 'ssh-ed25519'], ['ECDSA', 'ecdsa-sha2-nistp256'], ['RSA', 'rsa-sha2-512']] as const) {
      await check(`the ${label} host key the client sees is the one shown on the console`, async () => {
        const knownHosts = join(work, `known_hosts.${label}`);
        const r = await openSsh(['-b', ADMIN_HOST, '-o', `HostKeyAlgorithms=${algorithm}`, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', `admin@${GUEST.ip}`, 'true']);
        assert.ok(existsSync(knownHosts), `no host key recorded: ${r.stderr}`);
        const listed = await runCommand('ssh-keygen', ['-l', '-E', 'sha256', '-f', knownHosts], { captureStdout: true });
        const m = /^\d+ (SHA256:\S+) .*\((\w+)\)$/m.exec(listed.trim());
        assert.ok(m, listed);
        assert.equal(m[2], label);
        assert.equal(m[1], wizardHostKeys.get(label), `ssh-keygen -lf: ${listed.trim()}`);
      });
    }

    // 11c. An SSH key added in the menu as the admin does (SSH keys for admin, Add a key, paste the
    // .pub line), then a login with it by OpenSSH's client.
    const keyFile = join(work, 'admin_ed25519');
    await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@e2e', '-f', keyFile]);
    const pub = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    const sshKeysAt = MENU_OPTIONS.findIndex((o) => o.label === 'SSH keys for admin');
    assert.ok(sshKeysAt >= 0);
    const added = await sshDialog(
      { host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: ADMIN_PASSWORD, timeoutMs: 120_000 },
      [
        { expect: /Main menu/, send: `${'\x1b[B'.repeat(sshKeysAt)}\r` },
        { expect: /What do you want to do\?/, send: '\r' },
        { expect: /Public key/, send: `${pub}\r` },
      ],
      /Done: added SSH key [^\n]*\n/,
    );
    assert.match(added, /Main menu[^\n]*SSH keys for admin/);
    const keyLogin = () => openSsh(['-b', ADMIN_HOST, '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', `admin@${GUEST.ip}`, 'true']);
    const sshdSays = () => siem.messages.filter((m) => /authorized keys|publickey/i.test(m)).join('\n');
    await check('the key added in the menu logs in (the menu runs: no terminal asked for)', async () => {
      const r = await keyLogin();
      assert.equal(r.status, 1, `ssh exited ${r.status}: ${r.stderr}\nsshd: ${sshdSays()}`);
      assert.match(r.stdout, /admin menu needs a terminal/);
      await siem.waitFor(new RegExp(`Accepted publickey for admin from ${ADMIN_HOST.replace(/\./g, '\\.')}`), 60_000);
    });

    // 11d. The admin password changed in the menu: the current one is checked in the image (perl's
    // crypt over the yescrypt hash), the new one logs in, the old one no longer does.
    const menuAt = (label: string) => {
      const i = MENU_OPTIONS.findIndex((o) => o.label === label);
      assert.ok(i >= 0, label);
      return `${'\x1b[B'.repeat(i)}\r`;
    };
    await check('the admin password changed in the menu, after the current one was checked', async () => {
      const changed = await sshDialog(
        { host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: adminPassword, timeoutMs: 180_000 },
        [
          { expect: /Main menu/, send: menuAt('Change the admin password') },
          { expect: /Current admin password/, send: `${adminPassword}\r` },
          { expect: /New admin password/, send: `${NEW_ADMIN_PASSWORD}\r` },
          { expect: /Repeat the new password/, send: `${NEW_ADMIN_PASSWORD}\r` },
        ],
        /Done: changed the admin password/,
      );
      assert.match(changed, /Done: changed the admin password/);
      adminPassword = NEW_ADMIN_PASSWORD;
      assert.equal(await sshAuthenticates({ host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: NEW_ADMIN_PASSWORD, timeoutMs: 90_000 }), true, 'the new password logs in');
      assert.equal(await sshAuthenticates({ host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: ADMIN_PASSWORD, timeoutMs: 90_000 }), false, 'the old one does not');
    });

    // 11e. The server certificate renewed in the menu: a connection opened before keeps working, a
    // new one gets the new certificate (systemd signals the confined key server; no restart).
    // Renewal runs in the data worker, started as the key server's account: this also proves the helper
    // can start it on the appliance (it could not under NoNewPrivileges=yes).
    await check('the server certificate renewed in the menu is served at once; an open connection keeps working', async () => {
      // What the key server told the SIEM about reloads and refusals, for a failure message.
      const serverSays = () => siem.messages.filter((m) => /Reload Certificates|Handshake|Connection/.test(m)).slice(-10).join('\n');
      // Read at the handshake (KmipTestClient): a TLS 1.3 socket reads none once session tickets came.
      const fingerprintOf = (c: KmipTestClient, which: string): string => {
        assert.ok(c.serverCertificate, `${which}: no server certificate at the handshake\nkey server:\n${serverSays()}`);
        return c.serverCertificate.fingerprint256;
      };
      const held = await KmipTestClient.connect(6000, client, { host: GUEST.ip, servername: GUEST.hostname, timeout: 10_000 });
      try {
        const old = fingerprintOf(held, 'the connection opened before the renewal');
        const renewed = await sshDialog(
          { host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: adminPassword, timeoutMs: 300_000 },
          [
            { expect: /Main menu/, send: menuAt('Renew the server certificate') },
            { expect: /Renew the server certificate now\?/, send: 'y\r' },
          ],
          /Done: renewed the server certificate[^\n]*\n/,
        );
        const plain = renewed.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
        assert.match(plain, /Key server\s+reloaded/);
        const shown = /New server certificate:[\s\S]*?SHA-256\s+([0-9A-F]{2}(?::[0-9A-F]{2}){31})/.exec(plain)?.[1];
        assert.ok(shown && shown !== old, `a new fingerprint is shown (old ${old}): ${plain.slice(-1500)}`);
        let served = '';
        for (const deadline = Date.now() + 30_000; served !== shown && Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
          const fresh = await KmipTestClient.connect(6000, client, { host: GUEST.ip, servername: GUEST.hostname, timeout: 10_000 });
          try {
            served = fingerprintOf(fresh, 'a connection opened after the renewal');
            // And it is served: a request answered (a client gone right after the handshake is a refusal to the key server).
            const answered = parseResponse(await fresh.send(request([{ operation: Enum.Operation.DiscoverVersions, payload: [] }], { minor: 2 })));
            assert.equal(answered.items[0]!.status, Enum.ResultStatus.Success, 'a new connection is served');
          } finally {
            fresh.socket.destroy();
          }
        }
        assert.equal(served, shown, 'a new connection gets the certificate the menu showed');
        const answer = parseResponse(await held.send(request([{ operation: Enum.Operation.DiscoverVersions, payload: [] }], { minor: 2 })));
        assert.equal(answer.items[0]!.status, Enum.ResultStatus.Success, 'the connection opened before the renewal still works');
      } finally {
        held.socket.destroy();
      }
    });

    // 12. The SIEM received, over TCP 514 through the firewall: the key server's audit record of the
    // Discover Versions (RFC 5424 structured data with its sequence number), sshd's login of the
    // admin (from the journal) and auditd's record of it (from the audit trail).
    const kmipRecord = await siem.waitFor(/\[keyhaven@32473 [^\]]*operation="Discover Versions"/, 60_000);
    assert.match(kmipRecord, /seq="\d+"/);
    assert.match(kmipRecord, /identity="[^"]*vcenter-e2e/);
    await siem.waitFor(new RegExp(`Accepted password for admin from ${ADMIN_HOST.replace(/\./g, '\\.')}`), 60_000);
    await siem.waitFor(/auditd[\s\S]*type=USER_(AUTH|LOGIN|START)/, 60_000);
    t.diagnostic(`SIEM received ${siem.messages.length} messages`);

    // 13. Lockout (PCI DSS 8.3.4): ten wrong passwords over SSH, then the right one is refused too.
    const wrong = { host: GUEST.ip, from: ADMIN_HOST, username: 'admin', password: 'not the admin password!', timeoutMs: 90_000 };
    for (let i = 0; i < 10; i++) assert.equal(await sshAuthenticates(wrong), false, `wrong password ${i + 1} refused`);
    assert.equal(await sshAuthenticates({ ...wrong, password: adminPassword }), false, 'the right password is refused while locked');
    await siem.waitFor(/pam_faillock|Consecutive login failures|account temporarily locked/i, 60_000);
    await check('while the password is locked out, the key still logs in', async () => {
      const r = await keyLogin();
      assert.equal(r.status, 1, `ssh exited ${r.status}: ${r.stderr}\nsshd: ${sshdSays()}`);
      assert.match(r.stdout, /admin menu needs a terminal/);
    });

    // 14. Nothing printed over the wizard, the login prompt or the menus since the wizard came up,
    // though every probe above that the firewall dropped was logged.
    await check('no kernel, firewall or service lines on the console after the wizard came up', () => assert.deepEqual(noise(), []));
    await check('the dropped probes were logged, to the journal (forwarded to the SIEM)', () => siem.waitFor(/keyhaven-drop-in: .*DPT=3886/, 60_000).then(() => undefined));
    // The SSH sessions above ended by closing the connection: the menu ends by SIGHUP, never by an abort
    // (auditd reports a process ended by a core-dumping signal as ANOM_ABEND, forwarded to the SIEM).
    await check('no process ended abnormally (no auditd ANOM_ABEND)', () => {
      const abends = siem.messages.filter((m) => /ANOM_ABEND/.test(m));
      assert.deepEqual(abends, []);
    });
    assert.deepEqual(failures, [], 'every check passed');
  } catch (err) {
    if (vm) {
      const out = join(ROOT, 'test-output');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'e2e-console.log'), vm.console());
      if (serial) writeFileSync(join(out, 'e2e-serial-transcript.txt'), serial.transcript());
      // The guest's persistent journal is on the disk: keep it for `journalctl -D` after a loop mount.
      await vm.stop();
      if (existsSync(join(work, 'disk.raw'))) {
        await runCommand('mv', [join(work, 'disk.raw'), join(out, 'e2e-disk.raw')]);
        t.diagnostic(`disk kept: mount -o loop,offset=1048576 ${join(out, 'e2e-disk.raw')} /mnt && journalctl -D /mnt/var/log/journal`);
      }
      t.diagnostic(`console log kept: ${join(out, 'e2e-console.log')}`);
      t.diagnostic(vm.console().split('\n').slice(-40).join('\n'));
    }
    throw err;
  } finally {
    await siem.close();
    serial?.close();
    await vm?.stop();
    await tap.remove();
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
});

// Two appliances mirroring (issue 13): test/e2e/mirror-pair.ts. Two TCG guests take a while: set
// KEYHAVEN_E2E_MIRROR=0 to leave it out of a run.
test('two appliances from the OVA mirror keys: B joins A\'s group from its first-boot wizard, serves A\'s keys, and A catches up after a power-off', { skip: notRoot || (process.env.KEYHAVEN_E2E_MIRROR === '0' && 'KEYHAVEN_E2E_MIRROR=0'), timeout: 75 * 60 * 1000 }, async (t) => {
  const built = await builtOva((l) => t.diagnostic(l));
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-e2e-mirror-'));
  try {
    await mirrorPair(t, built.ova, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

// Backups (issue 14): test/e2e/backup-restore-vm.ts. KEYHAVEN_E2E_BACKUP=0 leaves it out of a run.
test('an appliance backs up to an SFTP host from its menu; a replacement restored from it at first boot serves the same key to the same client bundle', { skip: notRoot || (process.env.KEYHAVEN_E2E_BACKUP === '0' && 'KEYHAVEN_E2E_BACKUP=0'), timeout: 60 * 60 * 1000 }, async (t) => {
  const built = await builtOva((l) => t.diagnostic(l));
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-e2e-backup-'));
  try {
    await backupRestoreVm(t, built.ova, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
