// A real privileged helper on a temporary socket, as systemd runs it (systemd-socket-activate
// --accept --inetd: one `keyhaven admin-helper` per connection, the connection on stdin/stdout),
// with every path under a temporary root (KEYHAVEN_APPLIANCE_ROOT): system commands are recorded in
// ROOT/commands.log, chpasswd is a stand-in that records its input and writes a real SHA-512 crypt
// hash into ROOT/etc/shadow (admin starts with ADMIN_PASSWORD), the key server's data directory
// holds a real CA, server certificate and an empty key store.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callHelper } from '../../../appliance/admin/client.js';
import { appliancePaths, type AppliancePaths } from '../../../appliance/admin/paths.js';
import type { AdminResponse } from '../../../appliance/admin/protocol.js';
import { initPki, issueServer, parseConfig } from '../../../server/index.js';
import { openStore } from '../../../server/run.js';

/** The admin password the sandbox's ROOT/etc/shadow starts with. */
export const ADMIN_PASSWORD = 'Sandbox-Admin-Passphrase-31';

export const KEYHAVEN = fileURLToPath(new URL('../../../appliance/bin/keyhaven.js', import.meta.url));

export class AdminSandbox {
  private journal = '';
  private constructor(
    readonly root: string,
    readonly socket: string,
    readonly paths: AppliancePaths,
    private readonly activator: ChildProcess,
  ) {
    activator.stderr!.setEncoding('utf8').on('data', (d: string) => (this.journal += d));
  }

  /**
   * `dataOwner`: the data directory and everything in it belong to that account, as on the appliance
   * (where it is the key server's); the tree above it is made traversable (0755, root's). `env`: more
   * of the helper's environment (KEYHAVEN_SANDBOX_REAL_COMMANDS, KEYHAVEN_SANDBOX_REPLIES: admin/cli.ts).
   */
  static async start(options: { withPki?: boolean; dataOwner?: { uid: number; gid: number }; env?: Record<string, string> } = {}): Promise<AdminSandbox> {
    const root = mkdtempSync(join(tmpdir(), 'kh-admin-'));
    const paths = appliancePaths(root);
    mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
    if (options.withPki !== false) {
      await initPki(paths.dataDir, { name: 'keyhaven-test' });
      await issueServer(paths.dataDir, { dns: ['keyhaven-test'] });
      openStore(parseConfig({ dataDir: paths.dataDir }, 'test'), { create: true }).db.close();
    }
    if (options.dataOwner) {
      for (const d of [root, join(root, 'var'), join(root, 'var/lib')]) chmodSync(d, 0o755);
      execFileSync('chown', ['-R', `${options.dataOwner.uid}:${options.dataOwner.gid}`, paths.dataDir]);
    }
    mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    const shadowLine = (pw: string) => `admin:${execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: pw, encoding: 'utf8' }).trim()}:20000:0:99999:7:::\n`;
    writeFileSync(join(root, 'etc/shadow'), shadowLine(ADMIN_PASSWORD), { mode: 0o600 });
    // As chpasswd does: the new hash replaces admin's line in the shadow file.
    writeFileSync(
      join(root, 'usr/sbin/chpasswd'),
      `#!/bin/sh\ncat > '${root}/chpasswd.input'\npw=$(cut -d: -f2- '${root}/chpasswd.input' | head -n1)\nprintf 'admin:%s:20000:0:99999:7:::\\n' "$(printf %s "$pw" | openssl passwd -6 -stdin)" > '${root}/etc/shadow'\n`,
    );
    chmodSync(join(root, 'usr/sbin/chpasswd'), 0o755);
    const socket = join(root, 'admin.sock');
    const activator = spawn('systemd-socket-activate', ['--listen', socket, '--accept', '--inetd', `--setenv=KEYHAVEN_APPLIANCE_ROOT=${root}`, `--setenv=PATH=${process.env.PATH}`, ...Object.entries(options.env ?? {}).map(([k, v]) => `--setenv=${k}=${v}`), process.execPath, KEYHAVEN, 'admin-helper'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const sandbox = new AdminSandbox(root, socket, paths, activator);
    for (let i = 0; !existsSync(socket); i++) {
      if (i > 100) throw new Error(`the helper socket never appeared:\n${sandbox.journal}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return sandbox;
  }

  call(action: string, params: unknown = {}, client?: { address: string }): Promise<AdminResponse> {
    return callHelper(this.socket, { action, params: params as Record<string, unknown>, ...(client ? { client } : {}) });
  }

  /** Sends raw bytes as a request (for malformed input). */
  async raw(line: string): Promise<AdminResponse> {
    const { connect } = await import('node:net');
    return new Promise((resolve, reject) => {
      const s = connect(this.socket);
      let text = '';
      s.on('connect', () => s.end(line));
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('end', () => resolve(JSON.parse(text) as AdminResponse));
      s.on('error', reject);
    });
  }

  /** The system-log lines the helpers wrote (stderr → journal on the appliance). */
  journalLines(): string[] {
    return this.journal.split('\n').filter((l) => /^<\d>\{/.test(l));
  }

  commands(): string[][] {
    const f = join(this.root, 'commands.log');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
  }

  async stop(): Promise<void> {
    if (this.activator.exitCode === null) {
      const gone = new Promise((r) => this.activator.once('exit', r));
      this.activator.kill('SIGTERM');
      await gone;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
