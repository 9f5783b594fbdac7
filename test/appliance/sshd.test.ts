// The appliance's sshd configuration, checked by the real OpenSSH server: `sshd -t` accepts it, and a
// real sshd on a loopback port with it (a test-only account in place of admin, created and removed
// here) refuses root, forwarding, weak algorithms and a fourth password try, and runs the menu —
// through the account's real wrapper (from 50-admin-access.sh) — whatever command the client asks
// for; a key added through the real admin helper (root, umask 0077 as its unit runs it) logs in, and
// the image's tmpfiles entries repair unreadable key modes at boot. Needs root and openssh-server
// (test/install-deps.sh); skipped otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installedAlgorithms, MAIN_SSHD_CONFIG, renderSshdConfig } from '../../appliance/ssh/sshd-config.js';
import { Terminal } from '../support/terminal.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { rootOnly } from '../support/root-only.js';

const SSHD = '/usr/sbin/sshd';
const skip = rootOnly('a test account and sshd') || (!existsSync(SSHD) ? 'needs openssh-server (bash test/install-deps.sh)' : false);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PROVISION = join(REPO, 'appliance/provision/50-admin-access.sh');

test('the renderer keeps only algorithms the installed OpenSSH has, and refuses when none of a kind remain', () => {
  const full = renderSshdConfig();
  assert.match(full, /^KexAlgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,/m);
  const old = renderSshdConfig({ supported: { kex: ['curve25519-sha256', 'diffie-hellman-group14-sha1'], cipher: ['aes256-gcm@openssh.com', 'aes128-cbc'], mac: ['hmac-sha1', 'hmac-sha2-256-etm@openssh.com'], key: ['ssh-ed25519', 'ssh-rsa'] } });
  assert.match(old, /^KexAlgorithms curve25519-sha256$/m);
  assert.match(old, /^Ciphers aes256-gcm@openssh\.com$/m);
  assert.match(old, /^MACs hmac-sha2-256-etm@openssh\.com$/m);
  assert.match(old, /^HostKeyAlgorithms ssh-ed25519$/m);
  assert.throws(() => renderSshdConfig({ supported: { kex: ['diffie-hellman-group1-sha1'] } }), /supports none of the allowed key exchange algorithms/);
});

test('sshd -t accepts the configuration as the image installs it', { skip }, () => {
  const dir = mkdtempSync('/run/kh-sshd-t-');
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, '10-keyhaven.conf'), renderSshdConfig({ supported: installedAlgorithms() }));
    writeFileSync(join(dir, 'sshd_config'), MAIN_SSHD_CONFIG.replace('/etc/ssh/sshd_config.d/*.conf', join(dir, '10-keyhaven.conf')));
    const r = spawnSync(SSHD, ['-t', '-f', join(dir, 'sshd_config'), '-h', join(dir, 'key')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // The effective settings (sshd -T) for admin connecting from anywhere.
    const t = execFileSync(SSHD, ['-T', '-f', join(dir, 'sshd_config'), '-h', join(dir, 'key'), '-C', 'user=admin,host=client,addr=192.0.2.7'], { encoding: 'utf8' });
    for (const line of ['permitrootlogin no', 'allowusers admin', 'maxauthtries 3', 'logingracetime 30', 'disableforwarding yes', 'allowtcpforwarding no', 'x11forwarding no', 'permittunnel no', 'forcecommand /usr/local/bin/keyhaven-menu', 'kbdinteractiveauthentication no', 'authenticationmethods publickey password', 'requiredrsasize 3072']) {
      assert.match(t, new RegExp(`^${line}$`, 'm'), line);
    }
    assert.doesNotMatch(t, /^subsystem /m, 'no sftp subsystem');
    assert.doesNotMatch(t, /^acceptenv /m, 'no client environment');
    assert.doesNotMatch(t, /^ciphers .*cbc/m);
    assert.doesNotMatch(t, /^macs .*(sha1|md5)/m);
    assert.doesNotMatch(t, /^kexalgorithms .*sha1/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A free loopback port. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a real sshd with the appliance configuration', { skip }, () => {
  const user = `khtest${randomBytes(3).toString('hex')}`;
  const group = `${user}g`;
  const password = `Kh-${randomBytes(9).toString('base64url')}-pass`;
  let dir: string;
  let port: number;
  let sshd: ChildProcess;
  let sshdLog = '';

  const ssh = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number; login?: string } = {}) =>
    spawnSync(
      'ssh',
      ['-F', '/dev/null', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', ...args.slice(0, -1), `${opts.login ?? user}@127.0.0.1`, ...args.slice(-1)].filter((a) => a !== ''),
      { encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 30_000, env: opts.env ?? process.env },
    );
  const withKey = ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i'];

  before(async () => {
    dir = mkdtempSync('/run/kh-sshd-');
    chmodSync(dir, 0o755);
    execFileSync('groupadd', [group]);
    execFileSync('useradd', ['--create-home', '--gid', group, '--shell', join(dir, 'keyhaven-menu'), user]);
    execFileSync('chpasswd', [], { input: `${user}:${password}\n` });
    // The account's real login program, pointed at this checkout instead of /opt/keyhaven.
    const script = readFileSync(PROVISION, 'utf8');
    const wrapper = /<<'WRAPPER'\n([\s\S]*?)\nWRAPPER\n/.exec(script)![1]!.replace('/opt/keyhaven/appliance/bin/keyhaven.js', join(REPO, 'appliance/bin/keyhaven.js')).replace('HOME=/home/admin', `HOME=/home/${user}`);
    writeFileSync(join(dir, 'keyhaven-menu'), `${wrapper}\n`, { mode: 0o755 });
    // One key authorised for the test account and, to prove it does not matter, for root too.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
    mkdirSync(join(dir, 'keys'), { mode: 0o755 });
    const pub = readFileSync(join(dir, 'client.pub'), 'utf8');
    writeFileSync(join(dir, 'keys', user), `restrict,pty ${pub}`, { mode: 0o644 });
    writeFileSync(join(dir, 'keys', 'root'), pub, { mode: 0o644 });
    writeFileSync(
      join(dir, 'sshd_config'),
      renderSshdConfig({ user, group, forceCommand: join(dir, 'keyhaven-menu'), authorizedKeysFile: join(dir, 'keys/%u'), hostKeys: [join(dir, 'hostkey')], supported: installedAlgorithms() }),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    port = await freePort();
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port), '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr!.setEncoding('utf8').on('data', (d: string) => (sshdLog += d));
    await waitForPort(port);
  });

  after(async () => {
    if (sshd && sshd.exitCode === null) {
      const gone = new Promise((r) => sshd.once('exit', r));
      sshd.kill('SIGTERM');
      await gone;
    }
    spawnSync('pkill', ['-KILL', '-u', user]); // sessions of the test account only
    spawnSync('userdel', ['--remove', user]);
    spawnSync('groupdel', [group]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a command asked for runs the menu instead, which wants a terminal; no shell, no sftp', () => {
    const r = ssh([...withKey, join(dir, 'client'), "/bin/sh -c 'echo PWNED$((6*7))'"]);
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}\n${sshdLog}`);
    assert.match(r.stdout, /admin menu needs a terminal/);
    assert.doesNotMatch(r.stdout + r.stderr, /PWNED42/);
    const sftp = spawnSync('sftp', ['-F', '/dev/null', '-P', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', ...withKey, join(dir, 'client'), '-b', '-', `${user}@127.0.0.1`], { input: 'ls /\n', encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(sftp.status, 0, 'sftp does not work');
    assert.doesNotMatch(sftp.stdout, /\bbin\b.*\betc\b/s);
  });

  test('with a terminal, the menu runs whatever the command; Ctrl-D logs out and the connection closes', async () => {
    const t = Terminal.start(['ssh', '-tt', '-F', '/dev/null', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...withKey, join(dir, 'client'), `${user}@127.0.0.1`, '/bin/bash -i']);
    try {
      await t.waitFor(/\? Main menu/, 30_000);
      t.press('C-c', 'C-z', 'C-\\');
      t.type('echo PWNED$((6*7))');
      await new Promise((r) => setTimeout(r, 700));
      t.press('C-c');
      await new Promise((r) => setTimeout(r, 700));
      t.press('C-d');
      await t.waitFor(/Logged out\./, 30_000);
      assert.equal(await t.exitStatus(), 0, 'ssh ended: the session had nothing after the menu');
      assert.doesNotMatch(t.history(), /PWNED42/);
    } finally {
      t.close();
    }
  });

  test('the password logs in to the menu; after 3 wrong passwords the server disconnects', () => {
    const askpass = join(dir, 'askpass');
    const tries = join(dir, 'tries');
    writeFileSync(askpass, `#!/bin/sh\necho x >> '${tries}'\necho "$ANSWER"\n`, { mode: 0o755 });
    const env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    const opts = ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=10'];
    const wrong = ssh([...opts, 'true'], { env: { ...env, ANSWER: 'not-the-password' } });
    assert.equal(wrong.status, 255);
    assert.match(wrong.stderr, /Too many authentication failures|Permission denied/);
    assert.equal(readFileSync(tries, 'utf8').trim().split('\n').length, 3, 'three tries, then disconnected');
    const right = ssh([...opts, 'true'], { env: { ...env, ANSWER: password } });
    assert.equal(right.status, 1, `${right.stdout}${right.stderr}\n${sshdLog}`);
    assert.match(right.stdout, /admin menu needs a terminal/);
  });

  test('root is refused even with an authorised key; so is any other account', () => {
    const r = ssh([...withKey, join(dir, 'client'), 'true'], { login: 'root' });
    assert.equal(r.status, 255);
    assert.match(r.stderr, /Permission denied/);
    const nobody = ssh([...withKey, join(dir, 'client'), 'true'], { login: 'nobody' });
    assert.equal(nobody.status, 255);
  });

  test('port forwarding of any kind is refused', async () => {
    const remote = ssh([...withKey, join(dir, 'client'), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:0:127.0.0.1:${port}`, ''], { timeout: 20_000 });
    assert.equal(remote.status, 255, remote.stderr);
    assert.match(remote.stderr, /remote port forwarding failed/);

    // -L: the client listens, but the server refuses to open the channel to the target.
    const target = createServer((c) => c.end('SECRET-SERVICE\n'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const localPort = await freePort();
    const tunnel = spawn('ssh', ['-F', '/dev/null', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', ...withKey, join(dir, 'client'), '-N', '-L', `127.0.0.1:${localPort}:127.0.0.1:${targetPort}`, `${user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tunnel.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      await waitForPort(localPort);
      const got = await new Promise<string>((resolve) => {
        let data = '';
        const c = connect(localPort, '127.0.0.1');
        c.setEncoding('utf8').on('data', (d: string) => (data += d));
        c.on('close', () => resolve(data));
        c.on('error', () => resolve(data));
        setTimeout(() => c.destroy(), 5000);
      });
      assert.equal(got, '', 'nothing came through the tunnel');
      for (let i = 0; i < 50 && !/prohibited/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(stderr, /administratively prohibited/);
    } finally {
      tunnel.kill('SIGTERM');
      await new Promise((r) => target.close(r));
    }
  });

  test('a key added through the admin helper (root, umask 0077 as its unit runs it) logs in as the account', async () => {
    // The helper's root laid out as the image's: /, /etc and /etc/ssh as Debian ships them (root's,
    // 0755); under /run, as sshd's StrictModes refuses a path through world-writable /tmp.
    const umask = process.umask(0o077);
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = '/run';
    let box: AdminSandbox;
    try {
      box = await AdminSandbox.start({ withPki: false });
    } finally {
      process.umask(umask);
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
    let keySshd: ChildProcess | undefined;
    let log = '';
    try {
      for (const d of ['', 'etc', 'etc/ssh']) {
        mkdirSync(join(box.root, d), { recursive: true });
        chmodSync(join(box.root, d), 0o755);
      }
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'added by the helper', '-f', join(dir, 'helper-key')]);
      const added = await box.call('ssh-key.add', { key: readFileSync(join(dir, 'helper-key.pub'), 'utf8') });
      assert.equal(added.ok, true, JSON.stringify(added));
      // sshd reads the helper's file for the test account, with the appliance's configuration.
      const config = join(dir, 'sshd_config.helper');
      writeFileSync(config, renderSshdConfig({ user, group, forceCommand: join(dir, 'keyhaven-menu'), authorizedKeysFile: box.paths.authorizedKeys, hostKeys: [join(dir, 'hostkey')], supported: installedAlgorithms() }));
      const keyPort = await freePort();
      keySshd = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(keyPort), '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
      keySshd.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
      await waitForPort(keyPort);
      const login = () => spawnSync('ssh', ['-F', '/dev/null', '-p', String(keyPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=publickey', ...withKey, join(dir, 'helper-key'), `${user}@127.0.0.1`, 'true'], { encoding: 'utf8', timeout: 30_000 });
      const r = login();
      assert.equal(r.status, 1, `${r.stdout}${r.stderr}\nsshd: ${log}`);
      assert.match(r.stdout, /admin menu needs a terminal/);

      // Modes an older helper left (umask 0077) lock the key out; the image's tmpfiles entries, applied
      // at every boot, repair them.
      chmodSync(dirname(box.paths.authorizedKeys), 0o700);
      chmodSync(box.paths.authorizedKeys, 0o600);
      assert.equal(login().status, 255, 'unreadable to the account: refused');
      const conf = /cat > \/usr\/lib\/tmpfiles\.d\/keyhaven-authorized-keys\.conf <<'CONF'\n([\s\S]*?)\nCONF\n/.exec(readFileSync(PROVISION, 'utf8'))?.[1];
      assert.ok(conf, '50-admin-access.sh installs the tmpfiles entries');
      writeFileSync(join(dir, 'authorized-keys.conf'), `${conf.replaceAll('/etc/ssh/authorized_keys/admin', box.paths.authorizedKeys).replaceAll('/etc/ssh/authorized_keys ', `${dirname(box.paths.authorizedKeys)} `)}\n`);
      execFileSync('systemd-tmpfiles', ['--create', join(dir, 'authorized-keys.conf')]);
      assert.equal(login().status, 1, 'readable again after boot');
    } finally {
      if (keySshd && keySshd.exitCode === null) {
        const gone = new Promise((r) => keySshd!.once('exit', r));
        keySshd.kill('SIGTERM');
        await gone;
      }
      await box.stop();
    }
  });

  test('weak algorithms are refused by negotiation', () => {
    const key = [...withKey, join(dir, 'client')];
    const cbc = ssh([...key, '-c', 'aes128-cbc', 'true']);
    assert.equal(cbc.status, 255, `${cbc.stderr}${String(cbc.error ?? '')}\n${sshdLog}`);
    assert.match(cbc.stderr, /no matching cipher found/);
    const sha1kex = ssh([...key, '-o', 'KexAlgorithms=diffie-hellman-group14-sha1', 'true']);
    assert.match(sha1kex.stderr, /no matching key exchange method found/);
    const sha1mac = ssh([...key, '-c', 'aes128-ctr', '-o', 'MACs=hmac-sha1', 'true']);
    assert.match(sha1mac.stderr, /no matching MAC found/);
    const rsaSha1 = ssh([...key, '-o', 'HostKeyAlgorithms=ssh-rsa', 'true']);
    assert.match(rsaSha1.stderr, /no matching host key type found/);
  });
});
