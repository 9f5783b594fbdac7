// The first-boot wizard in a pseudo-terminal, typed at as an administrator would: each answer is
// validated with a clear message, weak and mismatched passwords are refused, Ctrl-C starts over,
// an interrupted run's leftovers are removed, and completion is recorded only at the end.
// (The sandbox writes the same files under a temporary root and records the commands it would run;
// the real system path is exercised by the end-to-end boot test.)
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdminAuditLog } from '../../appliance/admin/admin-audit.js';
import { appliancePaths } from '../../appliance/admin/paths.js';
import { Terminal } from '../support/terminal.js';

const CLI = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));
const GOOD = 'Tr0ub4dor&3-Xylo9';
const dirs: string[] = [];
const terminals: Terminal[] = [];
after(() => {
  for (const t of terminals) t.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sandbox(settings: unknown = { hostname: 'kms01.example.com', address: { mode: 'static', address: '10.1.2.3', prefix: 24, gateway: '10.1.2.1' }, network: { ntpServers: ['10.1.2.123'], adminNetworks: ['10.9.0.0/16'] } }) {
  const dir = mkdtempSync(join(tmpdir(), 'kh-firstboot-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
  const root = join(dir, 'root');
  mkdirSync(root);
  return { root, settings: join(dir, 'settings.json') };
}

function wizard(sb: { root: string; settings: string }): Terminal {
  const t = Terminal.start([process.execPath, CLI, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', sb.root, '--settings', sb.settings]);
  terminals.push(t);
  return t;
}

const erase = (t: Terminal) => t.press(...Array<string>(40).fill('BSpace'));

async function answer(t: Terminal, text: string, expect: RegExp, timeoutMs?: number): Promise<void> {
  erase(t);
  t.type(text);
  t.press('Enter');
  await t.waitForTail(expect, timeoutMs);
}

const commands = (root: string) => (existsSync(join(root, 'commands.log')) ? readFileSync(join(root, 'commands.log'), 'utf8') : '');

test('confirmed settings, refused passwords, then a complete first boot', { timeout: 180_000 }, async () => {
  const sb = sandbox();
  const t = wizard(sb);
  await t.waitFor(/Admin networks +10\.9\.0\.0\/16[\s\S]*Are these settings correct\?/);
  t.press('Enter');
  await t.waitFor(/\? New admin password/);
  await answer(t, 'short', /Use at least 15 characters \(this has 5\)/);
  await answer(t, 'aaaaaaaaaaaaaaaaaaa', /Avoid runs such as/);
  await answer(t, 'admin-kms01-Password1', /Do not build the password from common words/);
  await answer(t, GOOD, /^\? Repeat the password\s*$/m);
  await answer(t, `${GOOD}x`, /The two passwords differ/);
  assert.ok(!existsSync(join(sb.root, 'var/lib/keyhaven-appliance/first-boot-started')), 'nothing changed before the password is settled');
  await answer(t, GOOD, /^\? Repeat the password\s*$/m);
  await answer(t, GOOD, /Join an existing mirror group[\s\S]*navigate/);
  t.press('Enter'); // a new group
  await t.waitForTail(/Press Enter for the login prompt/, 90_000); // RSA 3072 CA and server keys
  const screen = t.screen();
  assert.match(screen, /Mirroring +a group of one/);
  // The fingerprints shown are those of the certificates written.
  const ca = new X509Certificate(readFileSync(join(sb.root, 'var/lib/keyhaven/pki/ca.crt')));
  assert.ok(screen.replace(/\s/g, '').includes(ca.fingerprint256), 'CA fingerprint shown');
  assert.match(screen, /SSH +open to 10\.9\.0\.0\/16/);
  // This appliance's own SSH host keys were made, and their fingerprints shown as ssh-keygen -l prints them.
  for (const [label, file] of [['ED25519', 'ssh_host_ed25519_key.pub'], ['ECDSA', 'ssh_host_ecdsa_key.pub'], ['RSA', 'ssh_host_rsa_key.pub']]) {
    const fp = execFileSync('ssh-keygen', ['-l', '-f', join(sb.root, 'etc/ssh', file!)], { encoding: 'utf8' }).split(' ')[1]!;
    assert.ok(screen.includes(`${label!.padEnd(8)} ${fp}`), `${label} ${fp} shown`);
  }
  assert.ok(existsSync(join(sb.root, 'var/lib/keyhaven-appliance/first-boot-complete')), 'completion recorded');
  t.press('Enter');
  assert.equal(await t.exitStatus(), 0);
  const saved = JSON.parse(readFileSync(join(sb.root, 'etc/keyhaven/appliance.json'), 'utf8'));
  assert.equal(saved.network.ssh.enabled, true, 'SSH opened for the admin networks');
  assert.deepEqual(saved.network.mirroring, { peers: [], restrictInbound: true }, 'a group of one: 6002 closed');
  const log = commands(sb.root).split('\n');
  assert.deepEqual(log.filter((l) => !l.startsWith('<')), ['apply settings', 'set admin password', 'systemctl start keyhaven.service', 'systemctl enable --now ssh.service', 'hand over tty1', '']);
  // First boot is in the administration audit log (HMAC chain intact) and the system log.
  const audit = AdminAuditLog.open(appliancePaths(sb.root), { create: false });
  try {
    assert.deepEqual(audit.verify().ok, true);
    const records = audit.tail(10).filter((r) => r.address === 'console');
    assert.deepEqual(records.map((r) => [r.operation, r.identity, r.result]), [['Change Admin Password', 'admin', 'success'], ['Complete First Boot', 'admin', 'success']]);
    assert.match(records[1]!.reason, /SSH open to 10\.9\.0\.0\/16/);
  } finally {
    audit.close();
  }
  assert.ok(log.some((l) => l.startsWith('<5>') && l.includes('"event":"keyhaven-first-boot"')), 'journal line');
});

test('corrections are validated field by field; Ctrl-C starts over without changing anything', { timeout: 180_000 }, async () => {
  const sb = sandbox();
  const t = wizard(sb);
  await t.waitFor(/Are these settings correct\?/);
  t.type('n');
  t.press('Enter');
  await t.waitFor(/\? Host name/);
  await answer(t, 'bad_name', /hostname: must be a host name/);
  await answer(t, 'kms02.example.com', /↑↓ navigate/);
  t.press('Enter'); // keep the static address
  await t.waitFor(/\? IP address/);
  await answer(t, '10.1.2.300', /address\.address: must be an IPv4 or IPv6 address/);
  await answer(t, '10.1.2.4', /\? Prefix length/);
  await answer(t, '33x', /address\.prefix/);
  await answer(t, '24', /\? Gateway/);
  await answer(t, '10.1.2.1', /\? DNS servers/);
  await answer(t, 'dns.example.com', /is a hostname; the firewall pins addresses/);
  await answer(t, '10.1.2.53', /\? NTP servers/);
  await answer(t, '10.1.2.123', /\? SIEM/);
  await answer(t, '10.1.2.10', /\? Admin networks/);
  await answer(t, '10.9.0.0/33', /adminNetworks/);
  await answer(t, '10.9.0.0/16', /Are these settings correct\?/);
  await t.waitFor(/Host name +kms02\.example\.com[\s\S]*Address +10\.1\.2\.4\/24[\s\S]*SIEM \(syslog\) +10\.1\.2\.10[\s\S]*Are these settings correct\?/);
  // Job control and quit are ignored: still the wizard (keys at a person's pace).
  const pause = () => new Promise((r) => setTimeout(r, 300));
  t.press('C-z');
  await pause();
  t.press('C-\\');
  await pause();
  await t.waitForTail(/Are these settings correct\?/);
  t.press('C-c');
  await t.waitFor(/Interrupted\. First boot starts over\./);
  assert.equal(await t.exitStatus(), 1);
  assert.equal(commands(sb.root), '', 'nothing was applied');
  assert.ok(!existsSync(join(sb.root, 'var/lib/keyhaven-appliance')), 'no progress recorded');
});

/** The key server's account owns its data directory on the appliance: `nobody` here, when the tests run as root. */
const nobody = (): { uid: number; gid: number } | undefined =>
  process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) } : undefined;

test('a run interrupted half-way is undone before the next one starts; what is made in the data directory is its owner’s', { timeout: 180_000 }, async () => {
  const sb = sandbox();
  // What a power-off after the CA was made leaves: the started mark and a CA nobody saw.
  mkdirSync(join(sb.root, 'var/lib/keyhaven-appliance'), { recursive: true });
  writeFileSync(join(sb.root, 'var/lib/keyhaven-appliance/first-boot-started'), 'x');
  mkdirSync(join(sb.root, 'var/lib/keyhaven/pki'), { recursive: true });
  writeFileSync(join(sb.root, 'var/lib/keyhaven/pki/ca.crt'), 'half-written');
  writeFileSync(join(sb.root, 'var/lib/keyhaven/pki/server.crt'), 'half-written');
  const owner = nobody();
  if (owner) {
    // The wizard runs as root; the data directory is the key server's, as the image makes it.
    for (const d of [dirname(sb.root), sb.root, join(sb.root, 'var'), join(sb.root, 'var/lib')]) chmodSync(d, 0o755);
    execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, join(sb.root, 'var/lib/keyhaven')]);
  }
  const t = wizard(sb);
  await t.waitFor(/Are these settings correct\?/);
  t.press('Enter');
  await t.waitFor(/\? New admin password/);
  await answer(t, GOOD, /^\? Repeat the password\s*$/m);
  await answer(t, GOOD, /Join an existing mirror group[\s\S]*navigate/);
  t.press('Enter');
  await t.waitForTail(/Press Enter for the login prompt/, 90_000); // RSA 3072 CA and server keys
  assert.match(t.screen(), /created the appliance CA/);
  assert.doesNotThrow(() => new X509Certificate(readFileSync(join(sb.root, 'var/lib/keyhaven/pki/ca.crt'))), 'a fresh, valid CA replaced the leftover');
  assert.match(commands(sb.root), /^reset partial first boot\n/);
  t.press('Enter');
  assert.equal(await t.exitStatus(), 0);
  if (owner) {
    // CA, server certificate and master key were made by the data directory's owner: root made nothing there.
    const made = ['', 'pki', 'pki/ca.key', 'pki/ca.crt', 'pki/server.key', 'pki/index.json', 'master.key'].map((f) => join(sb.root, 'var/lib/keyhaven', f));
    for (const f of made) assert.equal(statSync(f).uid, owner.uid, `${f} belongs to the data directory's owner`);
  }
});
