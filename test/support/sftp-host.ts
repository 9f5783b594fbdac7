// A real OpenSSH SFTP server for the backup transport's tests, alone in a network namespace: a veth
// pair on a random /30 of 10.231.0.0/16 (this side in the root namespace), a fresh ed25519 host key, a
// test-only system account chrooted (ChrootDirectory, ForceCommand internal-sftp) to a root-owned
// directory with a `backups` subdirectory it owns, and key-only logins against a root-owned
// authorized_keys file. Faults are real: sshd stopped, sessions killed or paused, nft rules in the
// namespace dropping its traffic. cleanup() removes everything it made, also after a failed start.
// Needs root, iproute2, nftables and openssh-server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
const NFT_TABLE = 'kh_sftp_test';

/** Runs a command to completion (bounded); throws with its output unless it exits 0. */
function run(cmd: string, args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => (clearTimeout(timer), reject(e)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${out.trim()}`));
    });
    child.stdin.end(o.input ?? '');
  });
}

const quiet = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a TCP connection to address:port is accepted within ms. */
function accepts(address: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: address, port });
    const timer = setTimeout(() => (c.destroy(), resolve(false)), ms);
    c.once('connect', () => (clearTimeout(timer), c.destroy(), resolve(true)));
    c.once('error', () => (clearTimeout(timer), resolve(false)));
  });
}

/** `ssh-keygen -lf` of a public key file: 'SHA256:…'. */
export function fingerprintOfFile(pubFile: string): string {
  const line = execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8', timeout: 10_000 });
  const fp = line.split(' ')[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${line}`);
  return fp;
}

export class SftpHost {
  readonly port = 22;
  /** The server's address in the namespace; `clientAddress` is this side's. */
  address = '';
  clientAddress = '';
  hostKeyFingerprint = '';
  private sshd: ChildProcess | undefined;
  private sshdLog = '';
  private readonly hostKey: string;
  private readonly config: string;
  private readonly authorizedKeys: string;
  private cleaned = false;

  private constructor(
    readonly ns: string,
    readonly veth: string,
    readonly username: string,
    /** The temporary directory holding the configuration, keys and chroot (root's, 0755). */
    readonly dir: string,
    private readonly listenOn?: string,
  ) {
    this.hostKey = join(dir, 'host_ed25519');
    this.config = join(dir, 'sshd_config');
    this.authorizedKeys = join(dir, 'authorized_keys');
  }

  /** The account's chroot (root's, 0755), as seen from here. */
  get chroot(): string {
    return join(this.dir, 'chroot');
  }

  /** The account's `backups` directory, as seen from here. */
  get backups(): string {
    return join(this.chroot, 'backups');
  }

  /** What sshd wrote to standard error so far. */
  get log(): string {
    return this.sshdLog;
  }

  /**
   * `listen`: an address this machine has (e.g. a test network's bridge, for VMs on it) to listen on
   * port 22 there, in this namespace, instead of in a namespace of its own.
   */
  static async start(o: { authorizedKey: string; listen?: string }): Promise<SftpHost> {
    if (!existsSync(SSHD)) throw new Error('needs openssh-server (bash test/install-deps.sh)');
    const hex = randomBytes(3).toString('hex');
    const dir = mkdtempSync('/run/kh-sftp-');
    const host = new SftpHost(`kh-sftp-${hex}`, `khsftp${hex}`, `khsftp${hex}`, dir, o.listen);
    try {
      await host.setUp(o.authorizedKey);
      return host;
    } catch (e) {
      await host.cleanup();
      throw e;
    }
  }

  private async setUp(authorizedKey: string): Promise<void> {
    // sshd reads authorized_keys as the account: the directories on the way must be traversable.
    chmodSync(this.dir, 0o755);
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', this.username]);
    // useradd leaves the password '!' (locked), which sshd without PAM refuses even for keys; '*' is no password.
    await run('usermod', ['-p', '*', this.username]);
    mkdirSync(this.backups, { recursive: true, mode: 0o755 });
    chmodSync(this.chroot, 0o755);
    const uid = Number(execFileSync('id', ['-u', this.username], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', this.username], { encoding: 'utf8' }).trim());
    chownSync(this.backups, uid, gid);
    this.authorize(authorizedKey);
    this.newHostKey();

    if (this.listenOn) this.address = this.listenOn;
    else await this.makeNetwork();
    writeFileSync(
      this.config,
      [
        `ListenAddress ${this.address}:${this.port}`,
        `HostKey ${this.hostKey}`,
        'PidFile none',
        'LogLevel VERBOSE',
        'UsePAM no',
        'PermitRootLogin no',
        `AllowUsers ${this.username}`,
        'AuthenticationMethods publickey',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        `AuthorizedKeysFile ${this.authorizedKeys}`,
        'DisableForwarding yes',
        'PermitTTY no',
        'Subsystem sftp internal-sftp',
        `ChrootDirectory ${this.chroot}`,
        'ForceCommand internal-sftp',
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    await run(SSHD, ['-t', '-f', this.config]);
    await this.startSshd();
  }

  private async makeNetwork(): Promise<void> {
    // A /30 in 10.231.0.0/16 that nothing here uses yet: .1 this side, .2 the server.
    const used = await run('ip', ['-4', '-o', 'addr', 'show']);
    let base = '';
    for (let i = 0; i < 20 && !base; i++) {
      const c = randomInt(0, 256);
      const d = randomInt(0, 64) * 4;
      const candidates = [0, 1, 2, 3].map((k) => `10.231.${c}.${d + k}/`);
      if (!candidates.some((a) => used.includes(` ${a}`))) base = `10.231.${c}.${d}`;
    }
    if (!base) throw new Error('no free /30 in 10.231.0.0/16');
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    this.clientAddress = `${a}.${b}.${c}.${d + 1}`;
    this.address = `${a}.${b}.${c}.${d + 2}`;
    await run('ip', ['netns', 'add', this.ns]);
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['link', 'add', this.veth, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', this.ns]);
    await run('ip', ['addr', 'add', `${this.clientAddress}/30`, 'dev', this.veth]);
    await run('ip', ['link', 'set', this.veth, 'up']);
    await run('ip', ['-n', this.ns, 'addr', 'add', `${this.address}/30`, 'dev', 'veth0']);
    await run('ip', ['-n', this.ns, 'link', 'set', 'veth0', 'up']);
  }

  /** Replaces the keys the account may log in with. */
  authorize(...publicKeys: string[]): void {
    writeFileSync(this.authorizedKeys, publicKeys.map((k) => `${k.trim()}\n`).join(''), { mode: 0o644 });
    chmodSync(this.authorizedKeys, 0o644);
  }

  private newHostKey(): void {
    rmSync(this.hostKey, { force: true });
    rmSync(`${this.hostKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'keyhaven test backup host', '-f', this.hostKey], { timeout: 10_000 });
    this.hostKeyFingerprint = fingerprintOfFile(`${this.hostKey}.pub`);
  }

  /** Starts the listening sshd and waits (bounded) until it accepts connections. */
  async startSshd(): Promise<void> {
    if (this.sshd) return;
    const sshd = [SSHD, '-D', '-e', '-f', this.config];
    const child = this.listenOn ? spawn(sshd[0]!, sshd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('ip', ['netns', 'exec', this.ns, ...sshd], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.sshd = child;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.sshdLog = (this.sshdLog + d).slice(-200_000)));
    const until = Date.now() + 20_000;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited at start: ${this.sshdLog}`);
      if (await accepts(this.address, this.port, 1000)) return;
      if (Date.now() > until) break;
      await sleep(100);
    }
    throw new Error(`sshd does not accept connections on ${this.address}:${this.port}: ${this.sshdLog}`);
  }

  /** Stops the listening sshd (sessions already open go on, as with a real restart). */
  async stopSshd(): Promise<void> {
    const child = this.sshd;
    if (!child) return;
    this.sshd = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!(await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]))) {
      child.kill('SIGKILL');
      await Promise.race([gone, sleep(5000)]);
    }
  }

  /** A new host key, and sshd restarted with it; returns its fingerprint. */
  async replaceHostKey(): Promise<string> {
    await this.stopSshd();
    this.newHostKey();
    await this.startSshd();
    return this.hostKeyFingerprint;
  }

  /**
   * Runs a command in sshd's mount namespace (`ip netns exec` gives it its own, where mounts made out
   * here do not reach): e.g. a small tmpfs over the backups directory, a full disk for sshd.
   */
  inSshdMounts(args: string[]): string {
    if (!this.sshd?.pid) throw new Error('sshd is not running');
    return execFileSync('nsenter', ['-t', String(this.sshd.pid), '-m', '--', ...args], { encoding: 'utf8', timeout: 10_000 });
  }

  /** The processes of open SSH sessions: every process in the namespace but the listener. */
  async sessionPids(): Promise<number[]> {
    if (this.listenOn) {
      // No namespace of its own: the sessions are sshd's processes named after the account.
      const found = await run('pgrep', ['-f', `^sshd: ${this.username}\\b`]).catch(() => '');
      return found.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== this.sshd?.pid);
    }
    const out = await run('ip', ['netns', 'pids', this.ns]).catch(() => '');
    return out.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== this.sshd?.pid);
  }

  /** Signals the session processes (not the listener): SIGKILL cuts their connections, SIGSTOP freezes them. */
  async signalSessions(signal: NodeJS.Signals): Promise<number> {
    const pids = await this.sessionPids();
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
    return pids.length;
  }

  /**
   * Drops what reaches the server's SSH port, in the namespace: at once, or once `afterBytes` have
   * passed (nft quota), to cut a transfer at a set point.
   */
  async dropTraffic(o: { afterBytes?: number } = {}): Promise<void> {
    const quota = o.afterBytes === undefined ? '' : `quota over ${o.afterBytes} bytes `;
    await run('ip', ['netns', 'exec', this.ns, 'nft', '-f', '-'], {
      input: `table inet ${NFT_TABLE} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip daddr ${this.address} tcp dport ${this.port} ${quota}drop\n  }\n}\n`,
    });
  }

  async allowTraffic(): Promise<void> {
    await quiet(run('ip', ['netns', 'exec', this.ns, 'nft', 'delete', 'table', 'inet', NFT_TABLE]));
  }

  /** Names in the backups directory (as root sees it). */
  files(): string[] {
    return readdirSync(this.backups).sort();
  }

  /** Removes everything start() made; safe to call again, and after a failed start. */
  async cleanup(): Promise<void> {
    await this.stopSshd();
    if (!this.cleaned) {
      for (let i = 0; i < 50; i++) {
        if ((await this.signalSessions('SIGKILL')) === 0) break;
        await sleep(100);
      }
      await quiet(run('ip', ['netns', 'del', this.ns]));
      await quiet(run('ip', ['link', 'del', this.veth])); // normally gone with the namespace
      for (let i = 0; i < 20; i++) {
        const known = await run('getent', ['passwd', this.username]).then(() => true, () => false);
        if (!known) break;
        await quiet(run('userdel', [this.username]));
        if (i > 0) await sleep(200);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    const left = await this.leftovers();
    this.cleaned = left.length === 0;
    if (!this.cleaned) throw new Error(`the SFTP test host left behind: ${left.join(', ')}`);
  }

  /** What of this host still exists (empty after cleanup). */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    if ((await run('ip', ['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === this.ns)) left.push(`namespace ${this.ns}`);
    if (await run('ip', ['link', 'show', this.veth]).then(() => true, () => false)) left.push(`link ${this.veth}`);
    if (await run('getent', ['passwd', this.username]).then(() => true, () => false)) left.push(`account ${this.username}`);
    if (await run('getent', ['group', this.username]).then(() => true, () => false)) left.push(`group ${this.username}`);
    if (existsSync(this.dir)) left.push(this.dir);
    if (this.sshd) left.push(`sshd ${this.sshd.pid}`);
    return left;
  }
}
