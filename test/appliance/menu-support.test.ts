// The CA certificate and the support bundle, driven from the admin menu in a real terminal against a
// real helper: what is copied off the screen is checked as the administrator's workstation would
// (the PEM parses, the archive decodes, matches its SHA-256 and untars), and the bundle is proven
// free of the secrets planted around it — in the data directory, /etc and the journal it collects.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IssuedBundle } from '../../appliance/admin/actions/pki-issue-client.js';
import type { SupportBundle } from '../../appliance/admin/actions/support-bundle.js';
import { JOURNAL_LINES, MAX_ARCHIVE_BYTES, supportBundle } from '../../appliance/admin/actions/support-bundle.js';
import type { ActionContext } from '../../appliance/admin/action.js';
import type { AdminAuditLog } from '../../appliance/admin/admin-audit.js';
import { masterKeyPath } from '../../appliance/admin/data-owner.js';
import { sandboxSettingsApplier } from '../../appliance/admin/settings-applier.js';
import { scrub } from '../../appliance/admin/support/redact.js';
import { realRunner, type SystemRunner } from '../../appliance/admin/system-runner.js';
import { listIssued, parseConfig, pkiPaths } from '../../server/index.js';
import { openStore } from '../../server/run.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

/** The read-only commands the bundle runs; the sandbox runs them for real (the rest it only records). */
const QUERIES = ['/usr/bin/uname', '/usr/bin/uptime', '/usr/bin/systemctl', '/usr/bin/journalctl', '/usr/sbin/nft', '/usr/bin/systemd-analyze', '/usr/bin/df', '/usr/bin/free', '/usr/sbin/ip', '/usr/bin/ss', '/usr/bin/chronyc'];
const EXPECTED_FILES = ['README.txt', 'version.txt', 'services.txt', 'journal-system.txt', 'journal-keyserver.txt', 'firewall.txt', 'settings.json', 'keyhaven.json', 'security.txt', 'resources.txt', 'network.txt', 'certificates.txt'];

let box: AdminSandbox;
let replies: string;
before(async () => {
  replies = join(mkdtempSync(join(tmpdir(), 'kh-replies-')), 'replies.json');
  writeFileSync(replies, '{}');
  // The helper reads the replies file at each request: a test can put words in journalctl's mouth.
  box = await AdminSandbox.start({ env: { KEYHAVEN_SANDBOX_REAL_COMMANDS: QUERIES.join(','), KEYHAVEN_SANDBOX_REPLIES: replies } });
});
after(async () => {
  await box?.stop();
  rmSync(join(replies, '..'), { recursive: true, force: true });
});

/** The text between the menu's BEGIN/END markers for `title`, as the administrator would copy it. */
function copyBlock(screen: string, title: string): string {
  const t = title.replace(/[.]/g, '\\.');
  const m = new RegExp(`===== BEGIN ${t} =====\\n([\\s\\S]*?)\\n===== END ${t} =====`).exec(screen);
  assert.ok(m, `no ${title} block on the screen`);
  return `${m[1]}\n`;
}

const colonHex = (b: Buffer): string => b.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');

describe('Show the CA certificate', () => {
  test('the PEM copied off the screen is the CA file, with its fingerprint, subject and validity', async () => {
    const m = await Menu.open(box.socket);
    try {
      await m.choose('Show the CA certificate');
      const screen = await m.expect(/Compare the fingerprint/);
      const copied = new X509Certificate(copyBlock(screen, 'keyhaven-ca.crt'));
      const onDisk = new X509Certificate(readFileSync(pkiPaths(box.paths.dataDir).caCert));
      assert.ok(copied.raw.equals(onDisk.raw), 'the copied certificate is not the CA file');
      assert.ok(copied.ca, 'the copied certificate is not a CA');
      const fingerprint = colonHex(createHash('sha256').update(onDisk.raw).digest());
      assert.match(screen, new RegExp(`SHA-256 +${fingerprint}\\n`));
      assert.match(screen, /Subject +CN=Keyhaven CA keyhaven-test,O=Keyhaven\n/);
      assert.match(screen, new RegExp(`Valid from +${new Date(onDisk.validFrom).toISOString().slice(0, 10)} until ${new Date(onDisk.validTo).toISOString().slice(0, 10)}`));
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });
});

/** Runs the support bundle from the menu and returns the files of the archive copied off the screen. */
async function bundleFromMenu(): Promise<{ files: Map<string, Buffer>; screen: string }> {
  const m = await Menu.open(box.socket);
  const dir = mkdtempSync(join(tmpdir(), 'kh-bundle-'));
  try {
    await m.choose('Create a support bundle');
    const screen = await m.expect(/Done: created a support bundle/, 60_000);
    const title = /===== BEGIN (keyhaven-support-[\w.-]+\.tar\.gz\.b64) =====/.exec(screen)?.[1];
    assert.ok(title, 'no bundle block on the screen');
    const archive = Buffer.from(copyBlock(screen, title), 'base64');
    // The size and SHA-256 on the screen are those of what was copied: the administrator's check.
    assert.match(screen, new RegExp(`Size +${archive.length} bytes\\n`));
    assert.match(screen, new RegExp(`SHA-256 ${createHash('sha256').update(archive).digest('hex')}\\n`));
    writeFileSync(join(dir, 'bundle.tar.gz'), archive);
    mkdirSync(join(dir, 'x'));
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', join(dir, 'x')]);
    const [top, ...others] = readdirSync(join(dir, 'x'));
    assert.deepEqual(others, [], 'the archive has one top directory');
    assert.equal(`${top}.tar.gz.b64`, title);
    const files = new Map(readdirSync(join(dir, 'x', top!)).map((f) => [f, readFileSync(join(dir, 'x', top!, f))]));
    await m.atMainMenu();
    return { files, screen };
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Create a support bundle', () => {
  test('the archive copied off the screen holds versions, services, journals, firewall, settings, configuration and certificates', async () => {
    const serverConfig = join(box.root, 'etc/keyhaven/keyhaven.json');
    mkdirSync(join(serverConfig, '..'), { recursive: true });
    const credential = { subject: 'CN=app,O=Keyhaven', username: 'app-user', passwordHash: `scrypt$16384$8$1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}` };
    writeFileSync(serverConfig, JSON.stringify({ dataDir: '/var/lib/keyhaven', log: { level: 'info' }, credentials: [credential] }));
    writeFileSync(join(box.root, 'etc/debian_version'), '13.1\n');

    const { files } = await bundleFromMenu();
    assert.deepEqual([...files.keys()].sort(), [...EXPECTED_FILES].sort());
    const text = (name: string) => files.get(name)!.toString('utf8');

    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.match(text('version.txt'), new RegExp(`==== Keyhaven\\n${pkg.version.replace(/\./g, '\\.')}\\n`));
    assert.match(text('version.txt'), /==== \/etc\/debian_version\n13\.1\n/);
    assert.ok(text('version.txt').includes(execFileSync('uname', ['-a'], { encoding: 'utf8' }).trim()), 'the kernel line is not uname -a');
    assert.match(text('services.txt'), /\$ \/usr\/bin\/systemctl status --no-pager --full --lines=0 keyhaven\.service /);
    assert.match(text('journal-keyserver.txt'), /journalctl .* -u keyhaven\.service/);
    assert.match(text('firewall.txt'), /\$ \/usr\/sbin\/nft list ruleset/);
    assert.match(text('security.txt'), /systemd-analyze security --no-pager keyhaven\.service/);
    assert.match(text('resources.txt'), /df -hT[\s\S]*free -h/);

    const settings = await box.call('settings.show');
    assert.ok(settings.ok);
    assert.deepEqual(JSON.parse(text('settings.json')), settings.result);
    // The configuration is there, its password hash is not.
    assert.deepEqual(JSON.parse(text('keyhaven.json')), { dataDir: '/var/lib/keyhaven', log: { level: 'info' }, credentials: [{ ...credential, passwordHash: '[removed]' }] });

    // Certificate fingerprints and serials are public and stay, however much they look like hex keys.
    const ca = new X509Certificate(readFileSync(pkiPaths(box.paths.dataDir).caCert));
    assert.ok(text('certificates.txt').includes(ca.fingerprint256), 'the CA fingerprint is missing');
    for (const c of listIssued(box.paths.dataDir)) assert.ok(text('certificates.txt').includes(c.serial), `serial ${c.serial} is missing`);

    // What this machine lacks or refuses is a note, not a failure; the README lists the files' redactions.
    const readme = text('README.txt');
    for (const [cmd, args] of [['/usr/bin/chronyc', '-n tracking'], ['/usr/sbin/nft', 'list ruleset'], ['/usr/bin/systemd-analyze', 'security --no-pager keyhaven.service']] as const) {
      if (!existsSync(cmd)) assert.ok(readme.includes(`${cmd} ${args}: not run: ${cmd} is not installed here`), `no note for the missing ${cmd}`);
    }
  });

  test('no planted secret, nor its hex or base64, is anywhere in the bundle', async () => {
    const planted = await plantSecrets();
    const { files, screen } = await bundleFromMenu();
    const journal = files.get('journal-system.txt')!.toString('utf8');
    assert.match(journal, /keyhaven\[4242\]: KMIP listener on \[::\]:6000/, 'the harmless journal lines must stay');
    for (const f of files.keys()) assert.doesNotMatch(files.get(f)!.toString('utf8'), /-----BEGIN|\$6\$|\$y\$|Bearer [A-Za-z0-9]/, f);
    for (const [what, needles] of planted) {
      assert.ok(needles.length > 0, `nothing to look for of ${what}`);
      for (const [name, data] of files) {
        const text = data.toString('utf8');
        for (const n of needles) {
          if (typeof n === 'string') assert.ok(!text.includes(n), `${what} (${n.slice(0, 20)}…) is in ${name}`);
          else assert.equal(data.indexOf(n), -1, `${what} (raw bytes) is in ${name}`);
        }
      }
    }
    // The journal's planted secrets were there to be found: the screen counts what was removed.
    assert.match(screen, /text that looked like a secret was removed \([1-9]\d* places\)/);
  });
});

type Needles = (string | Buffer)[];

/**
 * A secret's bytes and its encodings, as windows: a part of it found anywhere counts — except parts
 * that are also in `publicParts` (a PKCS#12 carries the certificates, whose names and serial are public).
 */
function needlesOf(secret: Buffer, publicParts: readonly Buffer[] = []): Needles {
  const windows = (s: string, size = 32, step = 8): string[] => (s.length <= size ? [s] : Array.from({ length: Math.floor((s.length - size) / step) + 1 }, (_, i) => s.slice(i * step, i * step + size)));
  const b64 = secret.toString('base64');
  const encodings = [secret.toString('hex'), secret.toString('hex').toUpperCase(), colonHex(secret), colonHex(secret).toLowerCase(), b64.replace(/=+$/, ''), secret.toString('base64url')];
  const raw: Buffer[] = [];
  for (let i = 0; i + 16 <= secret.length || i === 0; i += 16) raw.push(secret.subarray(i, Math.min(secret.length, i + 16)));
  const publicText = publicParts.flatMap((p) => [p.toString('hex'), colonHex(p), p.toString('base64'), p.toString('base64url')]).join('\n');
  const secretOnly = (n: string | Buffer) => (typeof n === 'string' ? !publicText.toLowerCase().includes(n.toLowerCase()) : publicParts.every((p) => p.indexOf(n) === -1));
  return [...raw, ...encodings.flatMap((e) => windows(e))].filter(secretOnly);
}

const pemBody = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

/**
 * Secrets in every place an appliance has them — the master key, a key's material wrapped in the
 * store, the CA's private key, a PKCS#12 bundle and its key left in the data directory, the admin
 * password hash in etc/shadow, an SSH host key — and the same, with a bearer token, printed in the
 * journal the bundle collects (as a careless log line would), next to a harmless line that must stay.
 */
async function plantSecrets(): Promise<[string, Needles][]> {
  const dataDir = box.paths.dataDir;
  const masterKey = readFileSync(masterKeyPath(box.paths));
  const material = randomBytes(32);
  const { db, store } = openStore(parseConfig({ dataDir }, 'test'), { create: false });
  let wrapped: Buffer;
  try {
    store.insert({ uid: 'planted-key', objectType: 2, owner: 'CN=app,O=Keyhaven', state: 2, attributes: [], material });
    wrapped = (db.prepare('SELECT material FROM objects WHERE uid = ?').get('planted-key') as { material: Buffer }).material;
  } finally {
    db.close();
  }
  const caKeyPem = readFileSync(pkiPaths(dataDir).caKey, 'utf8');
  const issued = await box.call('pki.issue-client', { name: 'planted', purpose: 'application', p12Password: 'Planted-P12-Password' });
  assert.ok(issued.ok, JSON.stringify(issued));
  const bundle = issued.result as IssuedBundle;
  const p12 = Buffer.from(bundle.p12Base64!, 'base64');
  writeFileSync(join(dataDir, 'planted.p12'), p12, { mode: 0o600 });
  writeFileSync(join(dataDir, 'planted.key'), bundle.keyPem, { mode: 0o600 });
  mkdirSync(join(box.root, 'etc/ssh'), { recursive: true });
  const sshKey = join(box.root, 'etc/ssh/ssh_host_ed25519_key');
  rmSync(sshKey, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', sshKey]);
  const sshKeyPem = readFileSync(sshKey, 'utf8');
  const shadowFile = join(box.root, 'etc/shadow');
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: 'Planted-Admin-Password', encoding: 'utf8' }).trim();
  writeFileSync(shadowFile, `${existsSync(shadowFile) ? readFileSync(shadowFile, 'utf8') : ''}planted:${hash}:20000:0:99999:7:::\n`, { mode: 0o600 });
  const yescrypt = `$y$j9T$${randomBytes(12).toString('base64').replace(/[+=]/g, '.')}$${randomBytes(32).toString('base64').replace(/[+=/]/g, '.').slice(0, 43)}`;
  const bearer = randomBytes(24).toString('base64url');

  const at = '2026-01-01T00:00:00.000000+0000 keyhaven';
  const log = [
    `${at} keyhaven[4242]: KMIP listener on [::]:6000`,
    `${at} keyhaven[4242]: debug: master key ${masterKey.toString('hex')}`,
    `${at} keyhaven[4242]: debug: master key (base64) ${masterKey.toString('base64')}`,
    `${at} keyhaven[4242]: debug: priv:\n    ${colonHex(masterKey).toLowerCase().match(/.{1,45}/g)!.join('\n    ')}`,
    `${at} keyhaven[4242]: debug: material ${material.toString('hex')} wrapped ${wrapped.toString('base64')} ${wrapped.toString('hex')}`,
    `${at} keyhaven[4242]: loaded CA key\n${caKeyPem}`,
    `${at} keyhaven[4242]: bundle ${bundle.p12Base64}`,
    `${at} sshd[77]: host key\n${sshKeyPem}`,
    `${at} chpasswd[88]: admin:${hash}:20000:0:99999:7:::`,
    `${at} chpasswd[88]: planted ${yescrypt}`,
    `${at} curl[99]: Authorization: Bearer ${bearer}`,
  ].join('\n');
  writeFileSync(replies, JSON.stringify({ '/usr/bin/journalctl': `${log}\n` }));

  return [
    ['the master key', needlesOf(masterKey)],
    ["a key's material", needlesOf(material)],
    ["a key's wrapped material", needlesOf(wrapped)],
    ["the CA's private key", needlesOf(pemBody(caKeyPem))],
    ["a client's private key", needlesOf(pemBody(bundle.keyPem))],
    ['a PKCS#12 bundle', needlesOf(p12, [pemBody(bundle.certPem), pemBody(bundle.caPem)])],
    ['an SSH private key', needlesOf(pemBody(sshKeyPem))],
    ['a SHA-512 crypt password hash', [hash, hash.split('$').at(-1)!]],
    ['a yescrypt password hash', [yescrypt, yescrypt.split('$').at(-1)!]],
    ['a bearer token', [bearer]],
  ];
}

describe('the support bundle stays small enough to copy', () => {
  test('an oversized journal is cut to its last lines, and the bundle says so', async () => {
    // Letters g-z only: incompressible enough to overflow the limit, never shaped like hex or base64.
    const letters = 'ghijklmnopqrstuvwxyz';
    const line = (i: number) => `2026-01-01T00:00:00 keyhaven[7]: line ${String(i).padStart(4, '0')} ${Array.from(randomBytes(150), (b) => letters[b % letters.length]).join('')}`;
    const lines = Array.from({ length: JOURNAL_LINES }, (_, i) => line(i));
    writeFileSync(replies, JSON.stringify({ '/usr/bin/journalctl': `${lines.join('\n')}\n` }));
    try {
      const r = await box.call('support.bundle');
      assert.ok(r.ok, JSON.stringify(r));
      const b = r.result as SupportBundle;
      assert.ok(b.bytes <= MAX_ARCHIVE_BYTES, `${b.bytes} bytes`);
      const cut = /journals: the last (\d+) lines of each, not 1000/.exec(b.truncated.join('\n'));
      assert.ok(cut, `nothing says the journals were cut: ${JSON.stringify(b.truncated)}`);
      const kept = Number(cut[1]);
      const journal = execFileSync('tar', ['-xzOf', '-', `${b.directory}/journal-system.txt`], { input: Buffer.from(b.base64, 'base64'), encoding: 'utf8' });
      const shown = journal.split('\n').filter((l) => l.includes('keyhaven[7]'));
      // The newest lines are the ones kept.
      assert.deepEqual(shown, lines.slice(-kept));
      const readme = execFileSync('tar', ['-xzOf', '-', `${b.directory}/README.txt`], { input: Buffer.from(b.base64, 'base64'), encoding: 'utf8' });
      assert.match(readme, new RegExp(`Cut to fit:\\n  journals: the last ${kept} lines of each`));
    } finally {
      writeFileSync(replies, '{}');
    }
  });
});

describe('the support bundle without every tool', () => {
  test('a missing command and a failing one are notes in the bundle, not a failure', async () => {
    // In-process, as the helper runs it, with nft missing and systemd-analyze refusing.
    const system: SystemRunner = {
      run(command, args, options) {
        if (command === '/usr/sbin/nft') return realRunner.run('/nonexistent/keyhaven-test/nft', args, options);
        if (command === '/usr/bin/systemd-analyze') return Promise.resolve({ stdout: '', stderr: 'Failed to connect to bus', code: 1 });
        return Promise.resolve({ stdout: `${command} answered\n`, stderr: '', code: 0 });
      },
    };
    const ctx: ActionContext = { paths: box.paths, system, settings: sandboxSettingsApplier(box.paths, system), actor: { user: 'admin', address: '192.0.2.7' }, audit: undefined as unknown as AdminAuditLog };
    const { result } = await supportBundle.run({}, ctx);
    const listing = execFileSync('tar', ['-xzOf', '-', `${result.directory}/README.txt`], { input: Buffer.from(result.base64, 'base64'), encoding: 'utf8' });
    assert.match(listing, /\/usr\/sbin\/nft list ruleset: not run: .*ENOENT/);
    assert.match(listing, /systemd-analyze security --no-pager keyhaven\.service: exit status 1 \(Failed to connect to bus\)/);
    assert.match(listing, /by admin \(192\.0\.2\.7\)/);
    assert.equal(result.bytes, Buffer.from(result.base64, 'base64').length);
  });
});

describe('the redaction pass', () => {
  test('removes key-shaped text and keeps ordinary system output and the listed public values', () => {
    const key = randomBytes(32);
    const fingerprint = colonHex(randomBytes(32));
    const serial = randomBytes(16).toString('hex');
    const secretLines = [
      `key ${key.toString('hex')}`,
      `key ${key.toString('hex').toUpperCase()}`,
      `key=${key.toString('base64')}`,
      `key ${key.toString('base64url')}`,
      `priv:\n    ${colonHex(key).toLowerCase().match(/.{1,45}/g)!.join('\n    ')}`,
      `-----BEGIN EC PRIVATE KEY-----\n${key.toString('base64')}\n-----END EC PRIVATE KEY-----`,
      `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${key.toString('base64')}`, // cut off before its END line
      'admin:$6$saltsalt$0123456789abcdefABCDEF./0123456789abcdefABCDEF:19000:0:99999:7:::',
      '"passwordHash": "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2g="',
      'password=hunter2 token: abc',
    ];
    for (const line of secretLines) {
      const s = scrub(line, new Set([fingerprint, serial]));
      assert.ok(Object.keys(s.removed).length > 0, `nothing removed from ${line}`);
      assert.ok(!s.text.includes(key.toString('hex').slice(0, 16)) && !s.text.includes(key.toString('base64').slice(0, 16)) && !/saltsalt|hunter2|aGFzaGhhc2g/.test(s.text), `${line} → ${s.text}`);
    }
    const ordinary = [
      `CA SHA-256 ${fingerprint}`,
      `server valid 2028-12-05T06:23:10.229Z ${serial} server / CN=keyhaven-test,O=Keyhaven`,
      'eth0             UP             192.0.2.2/24 fd00::2/64 fe80::fc:ff:fe00:1/64',
      '✓ RestrictAddressFamilies=~AF_(INET|INET6)   Service cannot allocate Internet sockets',
      '/dev/vda ext4 252G 26G 77G 26% /   /usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so',
      'Dec 06 06:23:11 keyhaven systemd[1]: Started keyhaven-admin@3-1234-1000.service - Keyhaven administration helper.',
      'table inet keyhaven { chain input { type filter hook input priority filter; policy drop; tcp dport 6000 accept } }',
    ];
    for (const line of ordinary) assert.equal(scrub(line, new Set([fingerprint, serial])).text, line);
  });
});
