// The root helper against an attacker who runs code as the key server's account (the owner of the
// data directory). (1) While the real helper serves Status, audit view/verify and PKI actions again
// and again, the attacker swaps directories inside the data directory with symlinks to a root-owned
// tree outside it, in a tight loop (renameat2 RENAME_EXCHANGE): nothing outside the data directory
// may change owner or mode, and nothing in the data directory may end up owned by anyone but its
// owner. Needs root (the helper runs as root, the attacker as `nobody`); skipped otherwise.
// (2) The master key the helper reads as root, replaced by a symlink or a FIFO: refused, not
// followed, no hang. (3) Whom the worker runs as, and the strictness of its one-request protocol.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { dataDirOwner } from '../../appliance/admin/data-owner.js';
import { serveWorkerRequest } from '../../appliance/admin/data-worker.js';
import { appliancePaths } from '../../appliance/admin/paths.js';
import type { AdminResponse } from '../../appliance/admin/protocol.js';
import { KeyhavenError } from '../../appliance/errors.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { rootOnly } from '../support/root-only.js';

const notRoot = rootOnly('the helper runs as root and the attacker as nobody');
const isRoot = !notRoot;
/** How long the helper is hammered, and how many requests at most. */
const RACE_MS = Number(process.env.KEYHAVEN_RACE_SECONDS || 40) * 1000;
const MAX_RUNS = 300;
/** Names the attacker's directory and the canary share: each is a chance for a walk to cross over. */
const NAMES = Array.from({ length: 24 }, (_, i) => `f${i}`);

// renameat2(2) with RENAME_EXCHANGE swaps two names atomically: one is a directory the walker
// descends into, the other a symlink to the canary. ctypes calls glibc's wrapper (syscall 316 on
// x86-64 where the wrapper is missing).
const ATTACKER = String.raw`
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
try:
    fn = libc.renameat2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    swap = lambda a, b: fn(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
except AttributeError:
    swap = lambda a, b: libc.syscall(316, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
pairs = [(sys.argv[i].encode(), sys.argv[i + 1].encode()) for i in range(1, len(sys.argv), 2)]
for a, b in pairs:
    if swap(a, b) != 0:
        sys.stderr.write('renameat2 failed: %s\n' % os.strerror(ctypes.get_errno()))
        sys.exit(1)
print('swapping', flush=True)
while True:
    for a, b in pairs:
        swap(a, b)
`;

interface Entry {
  uid: number;
  gid: number;
  mode: number;
}

function snapshot(dir: string, into = new Map<string, Entry>()): Map<string, Entry> {
  const st = lstatSync(dir);
  into.set(dir, { uid: st.uid, gid: st.gid, mode: st.mode });
  if (st.isDirectory()) for (const e of readdirSync(dir)) snapshot(join(dir, e), into);
  return into;
}

function changes(before: Map<string, Entry>, after: Map<string, Entry>): string[] {
  const out: string[] = [];
  for (const [path, b] of before) {
    const a = after.get(path);
    if (!a) out.push(`${path} disappeared`);
    else if (a.uid !== b.uid || a.gid !== b.gid || a.mode !== b.mode) out.push(`${path}: ${b.uid}:${b.gid} ${b.mode.toString(8)} -> ${a.uid}:${a.gid} ${a.mode.toString(8)}`);
  }
  return out;
}

const ids = (name: string): { uid: number; gid: number } => ({
  uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()),
  gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()),
});

let box: AdminSandbox | undefined;
let attacker: ChildProcess | undefined;
before(async () => {
  if (isRoot) box = await AdminSandbox.start({ dataOwner: ids('nobody') });
});
after(async () => {
  attacker?.kill('SIGKILL');
  await box?.stop();
});

test('an attacker swapping directories in the data directory changes nothing outside it', { skip: notRoot, timeout: RACE_MS + 180_000 }, async (t) => {
  const b = box!;
  const owner = ids('nobody');
  // The canary: a root-owned tree outside the data directory, with the names the attacker mirrors.
  const canary = join(b.root, 'canary');
  mkdirSync(join(canary, 'sub'), { recursive: true, mode: 0o755 });
  for (const n of NAMES) {
    writeFileSync(join(canary, n), 'root only\n', { mode: 0o600 });
    writeFileSync(join(canary, 'sub', n), 'root only\n', { mode: 0o600 });
  }
  chmodSync(canary, 0o755);
  const before = snapshot(canary);

  // The attacker's side, made as the attacker would (its files, its uid): a directory in the data
  // directory and one in pki/, each with a symlink next to it pointing at the canary.
  const dataDir = b.paths.dataDir;
  const pairs: string[] = [];
  for (const [dir, target] of [
    [dataDir, canary],
    [join(dataDir, 'pki'), join(canary, 'sub')],
  ] as const) {
    mkdirSync(join(dir, 'evil'));
    for (const n of NAMES) writeFileSync(join(dir, 'evil', n), 'attacker\n');
    execFileSync('ln', ['-s', target, join(dir, 'evil-link')]);
    execFileSync('chown', ['-hR', `${owner.uid}:${owner.gid}`, join(dir, 'evil'), join(dir, 'evil-link')]);
    pairs.push(join(dir, 'evil'), join(dir, 'evil-link'));
  }

  attacker = spawn('/usr/bin/python3', ['-c', ATTACKER, ...pairs], { uid: owner.uid, gid: owner.gid, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let attackerErr = '';
  attacker.stderr!.setEncoding('utf8').on('data', (d: string) => (attackerErr += d));
  await new Promise<void>((resolve, reject) => {
    attacker!.stdout!.setEncoding('utf8').once('data', () => resolve());
    attacker!.once('exit', (code) => reject(new Error(`the attacker stopped (${code}): ${attackerErr}`)));
  });

  const actions: [string, Record<string, unknown>][] = [
    ['status', {}],
    ['audit.tail', { count: 20 }],
    ['audit.verify', {}],
    ['pki.list', {}],
  ];
  let runs = 0;
  let succeeded = 0;
  const failures = new Map<string, number>();
  let changed: string[] = [];
  const until = Date.now() + RACE_MS;
  while (Date.now() < until && runs < MAX_RUNS) {
    const [action, params] = runs % 10 === 9 ? ['pki.issue-client', { name: `race-${runs}`, purpose: 'application', dns: [] }] : actions[runs % actions.length]!;
    const r = await b.call(action, params);
    runs++;
    if (r.ok) succeeded++;
    else failures.set(`${action}: ${r.code}: ${r.message.slice(0, 160)}`, (failures.get(`${action}: ${r.code}: ${r.message.slice(0, 160)}`) ?? 0) + 1);
    changed = changes(before, snapshot(canary));
    if (changed.length > 0) break;
  }
  attacker.kill('SIGKILL');
  t.diagnostic(`${runs} helper runs, ${succeeded} succeeded, attacker ${attacker.exitCode === null ? 'running' : `exited ${attacker.exitCode}`}`);
  for (const [f, n] of failures) t.diagnostic(`${n} x ${f}`);

  assert.deepEqual(changed, [], `after ${runs} helper runs, files outside the data directory changed owner or mode`);
  // The requests did their work under attack (the harness did not pass because nothing ran).
  assert.ok(succeeded >= runs * 0.9, `only ${succeeded} of ${runs} requests succeeded`);
  // Nothing the helper made in the data directory belongs to anyone but its owner.
  await new Promise((r) => setTimeout(r, 100));
  const foreign = [...snapshot(dataDir)].filter(([, e]) => e.uid !== owner.uid).map(([p, e]) => `${p} (uid ${e.uid})`);
  assert.deepEqual(foreign, [], 'entries in the data directory not owned by its owner');
});

describe('the master key the helper reads as root', () => {
  let kb: AdminSandbox;
  before(async () => {
    kb = await AdminSandbox.start();
  });
  after(async () => {
    await kb?.stop();
  });

  const refusedWith = (r: AdminResponse, pattern: RegExp) => {
    assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r).slice(0, 300)}`);
    if (!r.ok) assert.match(r.message, pattern);
  };

  test('a symlink in its place is not followed, a FIFO does not hang the helper; nothing is done', { timeout: 120_000 }, async () => {
    assert.ok((await kb.call('status')).ok, 'the helper works before the swap');
    const key = join(kb.paths.dataDir, 'master.key');
    const real = `${key}.real`;
    renameSync(key, real);
    // Another key of root's outside the data directory, of the right size and mode: still not used.
    const outside = join(kb.root, 'outside.key');
    writeFileSync(outside, randomBytes(32), { mode: 0o600 });
    symlinkSync(outside, key);
    refusedWith(await kb.call('status'), /master key file .* is a symbolic link: it is not followed/);
    rmSync(key);
    execFileSync('mkfifo', ['-m', '0600', key]);
    const started = Date.now();
    refusedWith(await kb.call('status'), /master key file .* is not a regular file/);
    assert.ok(Date.now() - started < 20_000, 'answered without waiting on the FIFO');
    rmSync(key);
    renameSync(real, key);
    assert.ok((await kb.call('status')).ok, 'the helper works again with the real key');
  });
});

describe('whom the worker runs as, and what it accepts', () => {
  const tree = (): { root: string; dataDir: string } => {
    const root = mkdtempSync(join(tmpdir(), 'kh-owner-'));
    const dataDir = join(root, 'var/lib/keyhaven');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return { root, dataDir };
  };
  const unsafe = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof KeyhavenError && e.code === 'KH_ADMIN_DATA_DIR_UNSAFE', String(e));
      assert.match(e.message, pattern);
      return true;
    });

  test('the owner of the data directory itself; a symlink there or a parent others can write is refused', () => {
    const t = tree();
    try {
      const paths = appliancePaths(t.root);
      const st = lstatSync(t.dataDir);
      assert.deepEqual(dataDirOwner(paths), { uid: st.uid, gid: st.gid });
      renameSync(t.dataDir, `${t.dataDir}.real`);
      symlinkSync(`${t.dataDir}.real`, t.dataDir);
      unsafe(() => dataDirOwner(paths), /is not a directory \(a symbolic link/);
      rmSync(t.dataDir);
      renameSync(`${t.dataDir}.real`, t.dataDir);
      chmodSync(join(t.root, 'var/lib'), 0o777);
      unsafe(() => dataDirOwner(paths), /var\/lib must be a directory of root's that only root can write/);
    } finally {
      rmSync(t.root, { recursive: true, force: true });
    }
  });

  test('on the appliance (root "/") it must be the keyhaven account, never root', { skip: notRoot }, () => {
    const t = tree();
    try {
      // The appliance's rules, applied to a directory of root's: refused before anything runs.
      const paths = { ...appliancePaths('/'), dataDir: t.dataDir };
      unsafe(() => dataDirOwner(paths), /belongs to root: it must belong to the key server's account/);
    } finally {
      rmSync(t.root, { recursive: true, force: true });
    }
  });

  test('the worker takes one strict request and refuses anything else', async () => {
    const ask = async (request: unknown): Promise<{ ok: boolean; code?: string; message?: string }> => {
      const out = new PassThrough();
      let text = '';
      out.setEncoding('utf8').on('data', (d: string) => (text += d));
      await serveWorkerRequest(Readable.from([typeof request === 'string' ? request : JSON.stringify(request)]), out);
      return JSON.parse(text) as { ok: boolean; code?: string; message?: string };
    };
    const t = tree();
    try {
      assert.equal((await ask('not json')).ok, false);
      assert.match((await ask({ dataDir: t.dataDir, op: 'shell', params: {} })).message!, /op/);
      assert.match((await ask({ dataDir: 'relative/dir', op: 'pki.list', params: {} })).message!, /absolute path/);
      assert.match((await ask({ dataDir: t.dataDir, op: 'pki.list', params: {}, extra: 1 })).message!, /extra/);
      const r = await ask({ dataDir: t.dataDir, op: 'store.audit-tail', params: { count: 10, evil: true } });
      assert.equal(r.code, 'KH_ADMIN_REQUEST_INVALID');
      assert.match(r.message!, /evil/);
      assert.equal((await ask({ dataDir: t.dataDir, op: 'pki.list', params: {} })).code, 'KH_PKI_NOT_INITIALISED');
    } finally {
      rmSync(t.root, { recursive: true, force: true });
    }
  });
});
