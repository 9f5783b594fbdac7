// The two servers under test, each a subprocess: Keyhaven (`keyhaven serve --config FILE`) and
// PyKMIP's own server (`pykmip-server`, Debian package python3-pykmip), both on 127.0.0.1 with the
// same server certificate and the same CA, so that the TLS work per connection is the same.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEYHAVEN_BIN = join(ROOT, 'appliance/bin/keyhaven.js');

export interface BenchServer {
  name: string;
  pid: number;
  port: number;
  /** Recent stdout/stderr, for error reports. */
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, name: string, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on port ${port} within ${timeoutMs / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function capture(child: ChildProcess): () => string {
  let text = '';
  const add = (b: Buffer) => {
    text = (text + b.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

function stopper(child: ChildProcess, signal: NodeJS.Signals, graceMs: number, group: boolean): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = (sig: NodeJS.Signals) => {
        try {
          // A detached child leads its own process group (it and what it started): signal that.
          if (group) process.kill(-child.pid!, sig);
          else child.kill(sig);
        } catch {
          /* already gone */
        }
      };
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        if (group) {
          try {
            process.kill(-child.pid!, 'SIGKILL'); // stragglers (PyKMIP's multiprocessing manager)
          } catch {
            /* none left */
          }
        }
        resolve();
      });
      kill(signal);
    });
}

export interface KeyhavenOptions {
  dataDir: string;
  port: number;
  /** Tree holding appliance/bin/keyhaven.js: this checkout (TypeScript through tsx) by default, or a compiled build. */
  root?: string;
  /** Write a V8 CPU profile of the server process into this directory. */
  cpuProfDir?: string;
  /** Further node options for the server process (e.g. --perf-basic-prof for Linux perf). */
  nodeArgs?: string[];
}

export async function startKeyhaven(o: KeyhavenOptions): Promise<BenchServer> {
  const configFile = join(o.dataDir, 'bench-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ dataDir: o.dataDir, listeners: { kmip: { host: '127.0.0.1', port: o.port } }, log: { level: 'warn' } }, null, 2),
  );
  const args = [
    ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
    ...(o.nodeArgs ?? []),
    o.root ? join(o.root, 'appliance/bin/keyhaven.js') : KEYHAVEN_BIN,
    'serve',
    '--config',
    configFile,
  ];
  const child = spawn(process.execPath, args, { cwd: o.root ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = capture(child);
  await waitForPort(o.port, child, 'Keyhaven', output);
  return { name: 'Keyhaven', pid: child.pid!, port: o.port, output, stop: stopper(child, 'SIGTERM', 15_000, false) };
}

export const PYKMIP_INSTALL_HINT =
  'PyKMIP\'s server is not installed: `sudo apt-get install python3-pykmip` (Debian/Ubuntu) provides `pykmip-server`.';

/**
 * Compiles the checkout with tsc (as the appliance ships it: plain JavaScript, no tsx) into
 * `dir`, with source maps, and makes it runnable there (package.json, node_modules, the launcher).
 * Type errors elsewhere in the tree do not stop the emit. Returns the tree's root.
 */
export function buildCompiled(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--outDir', dir, '--noEmit', 'false', '--sourceMap', 'true'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (!existsSync(join(dir, 'appliance/cli.js'))) throw new Error(`tsc produced no build:\n${r.stdout}${r.stderr}`);
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'appliance/bin'), { recursive: true });
  copyFileSync(KEYHAVEN_BIN, join(dir, 'appliance/bin/keyhaven.js'));
  return dir;
}

/** Path of `pykmip-server`, or undefined when it is not installed. */
export function findPykmip(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v pykmip-server'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

/** "PyKMIP 0.10.0 on Python 3.11.2 (OpenSSL …)", asked of the interpreter pykmip-server runs on. */
export function pykmipVersion(exe: string): string {
  let python = 'python3';
  try {
    const shebang = readFileSync(exe, 'utf8').split('\n', 1)[0]!;
    if (shebang.startsWith('#!')) python = shebang.slice(2).trim().split(/\s+/)[0]!;
  } catch {
    /* use python3 */
  }
  const r = spawnSync(
    python,
    ['-c', 'import importlib.metadata as m, platform, ssl; print(f"PyKMIP {m.version(\'PyKMIP\')} on Python {platform.python_version()} ({ssl.OPENSSL_VERSION})")'],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? r.stdout.trim() : 'PyKMIP (version unknown)';
}

export interface PykmipOptions {
  dir: string;
  port: number;
  certificate: string;
  key: string;
  ca: string;
}

/**
 * PyKMIP 0.10 server: TLS 1.2 only (auth_suite TLS1.2), client certificates required and checked
 * for the clientAuth EKU (enable_tls_client_auth), client identity = the certificate's CN. Its
 * TLS 1.2 suites are CBC+HMAC or ECDSA-only GCM; with our RSA server key the forward-secret ones
 * are ECDHE-RSA-AES{128-SHA256,256-SHA384}. Logging at WARNING, as Keyhaven's at warn.
 */
export async function startPykmip(exe: string, o: PykmipOptions): Promise<BenchServer> {
  mkdirSync(join(o.dir, 'policies'), { recursive: true });
  const conf = join(o.dir, 'server.conf');
  writeFileSync(
    conf,
    [
      '[server]',
      'hostname=127.0.0.1',
      `port=${o.port}`,
      `certificate_path=${o.certificate}`,
      `key_path=${o.key}`,
      `ca_path=${o.ca}`,
      'auth_suite=TLS1.2',
      `policy_path=${join(o.dir, 'policies')}`,
      'enable_tls_client_auth=True',
      'tls_cipher_suites=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
      'logging_level=WARNING',
      `database_path=${join(o.dir, 'pykmip.db')}`,
      '',
    ].join('\n'),
  );
  const child = spawn(exe, ['-f', conf, '-l', join(o.dir, 'server.log')], {
    cwd: o.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output = capture(child);
  await waitForPort(o.port, child, 'PyKMIP', output);
  return { name: 'PyKMIP', pid: child.pid!, port: o.port, output, stop: stopper(child, 'SIGINT', 5_000, true) };
}
