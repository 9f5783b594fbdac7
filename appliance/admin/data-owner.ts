// How root (the administration helper, the first-boot wizard) uses the key server's data directory:
// never by walking or writing it — its owner can swap any entry for a symlink at any moment — but
// through the data worker (data-worker.ts) started as the directory's owner, and, for the one thing
// root itself needs (the master key that keys the administration log), by reading one file without
// following a link.
//
// The owner is the owner of the directory itself, read with lstat: its parent (/var/lib) is root's
// and writable by root only (checked), so the owner cannot replace the directory, and only root can
// change whose it is. On the appliance (root prefix "/") it must also be the `keyhaven` account of
// /etc/passwd; root is refused. A test tree (KEYHAVEN_APPLIANCE_ROOT) may be root's.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeSpec, type ErrorCode } from '../../lib/errors.js';
import { describeZodError } from '../../lib/zod-issues.js';
import { MASTER_KEY_BYTES, parseConfig, resolvePaths, ServerCodes } from '../../server/index.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { WORKER_OPS, withoutControls, workerAnswerSchema, type WorkerOpName, type WorkerParams, type WorkerResult } from './data-worker.js';
import type { AppliancePaths } from './paths.js';

/** The key server's account (appliance/provision/10-install-server.sh). */
export const DATA_OWNER_ACCOUNT = 'keyhaven';
/** The launcher next to the compiled modules on the appliance, and next to the sources in a checkout. */
const KEYHAVEN_JS = fileURLToPath(new URL('../bin/keyhaven.js', import.meta.url));
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface DataOwner {
  readonly uid: number;
  readonly gid: number;
}

const unsafe = (message: string) => new KeyhavenError(ErrorCodes.ADMIN_DATA_DIR_UNSAFE, message);
const isTestTree = (paths: AppliancePaths): boolean => paths.root !== '/';

function passwdUid(passwd: string, account: string): number | undefined {
  const line = readFileSync(passwd, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === account);
  const uid = line === undefined ? NaN : Number(line.split(':')[2]);
  return Number.isInteger(uid) ? uid : undefined;
}

/** Whose the data directory is: the account the worker runs as. */
export function dataDirOwner(paths: AppliancePaths): DataOwner {
  const dir = paths.dataDir;
  const parent = dirname(dir);
  const me = process.getuid?.() ?? 0;
  const p = lstatSync(parent);
  if (!p.isDirectory() || (p.uid !== 0 && p.uid !== me) || (p.mode & 0o022) !== 0) {
    throw unsafe(`${parent} must be a directory of root's that only root can write (it is owned by uid ${p.uid}, mode ${(p.mode & 0o7777).toString(8)}): only root can repair this, and admin has no shell: send a support bundle to your support contact`);
  }
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyhavenError(ServerCodes.STORE_MISSING, `the key server's data directory ${dir} does not exist`);
    throw err;
  }
  if (!st.isDirectory()) throw unsafe(`${dir} is not a directory (a symbolic link or another file is there): nothing is done with it; only root can repair this: send a support bundle to your support contact`);
  if (!isTestTree(paths)) {
    if (st.uid === 0) throw unsafe(`${dir} belongs to root: it must belong to the key server's account (${DATA_OWNER_ACCOUNT}); only root can repair this: send a support bundle to your support contact`);
    const expected = passwdUid(join(paths.root, 'etc/passwd'), DATA_OWNER_ACCOUNT);
    if (expected !== st.uid) throw unsafe(`${dir} belongs to uid ${st.uid}, not to the ${DATA_OWNER_ACCOUNT} account${expected === undefined ? ' (which does not exist)' : ` (uid ${expected})`}: nothing is done with it`);
  }
  return { uid: st.uid, gid: st.gid };
}

/** What the worker says reaches the administrator's terminal and the journal: no control characters. */
const printable = (s: string, max = 2000): string => withoutControls(s).slice(0, max);

/**
 * Runs one data-worker operation as the data directory's owner and returns its checked result.
 * The worker's refusals come back as KeyhavenErrors with the worker's code; anything else it says is
 * checked against the operation's result schema, and a worker that breaks the protocol, hangs or
 * dies is a KH_ADMIN_WORKER_FAILED.
 */
export async function asDataOwner<N extends WorkerOpName>(paths: AppliancePaths, op: N, params: WorkerParams<N>): Promise<WorkerResult<N>> {
  const owner = dataDirOwner(paths);
  const definition = WORKER_OPS[op];
  const same = owner.uid === process.getuid?.() && owner.gid === process.getgid?.();
  return new Promise((resolve, reject) => {
    const fail = (message: string) => reject(new KeyhavenError(ErrorCodes.ADMIN_WORKER_FAILED, `the data worker (${op}, uid ${owner.uid}) ${message}`));
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(process.execPath, [KEYHAVEN_JS, 'admin-worker'], {
        cwd: '/',
        // Nothing of root's environment; with uid/gid, node also drops the supplementary groups (libuv).
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...(isTestTree(paths) ? { KEYHAVEN_APPLIANCE_ROOT: paths.root } : {}) },
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(same ? {} : { uid: owner.uid, gid: owner.gid }),
      });
    } catch (err) {
      return fail(`could not be started: ${(err as Error).message}`);
    }
    let out = Buffer.alloc(0);
    let err = '';
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      // Reported before the kill: a kill that fails (EPERM where the helper lacks CAP_KILL) emits an
      // 'error', which was reported instead as the worker not starting.
      finish(() => fail(`did not answer within ${definition.timeoutMs / 1000} s`));
      child.kill('SIGKILL');
    }, definition.timeoutMs);
    child.on('error', (e) => finish(() => fail(`could not be started: ${e.message}`)));
    child.stdout.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
      if (out.length > MAX_ANSWER_BYTES) {
        child.kill('SIGKILL');
        finish(() => fail(`answered more than ${MAX_ANSWER_BYTES} bytes`));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    child.stdin.on('error', () => undefined); // a worker that died early: reported on close
    child.stdin.end(`${JSON.stringify({ dataDir: paths.dataDir, op, params })}\n`);
    child.on('close', (code, signal) => {
      finish(() => {
        let answer;
        try {
          answer = workerAnswerSchema.parse(JSON.parse(out.toString('utf8')));
        } catch {
          return fail(`gave no answer (exit ${signal ?? code})${err.trim() ? `: ${printable(err.trim())}` : ''}`);
        }
        if (!answer.ok) {
          const code: ErrorCode = codeSpec(answer.code) ? (answer.code as ErrorCode) : ErrorCodes.ADMIN_WORKER_FAILED;
          return reject(new KeyhavenError(code, printable(answer.message, 4000)));
        }
        const result = definition.result.safeParse(answer.result);
        if (!result.success) return fail(`answered something that is not a ${op} result: ${printable(describeZodError(result.error, '', '; '), 500)}`);
        resolve(result.data as WorkerResult<N>);
      });
    });
  });
}

/** Creates the master key through the worker if the key server has not yet (nothing root makes lands in the data directory). */
export async function ensureMasterKey(paths: AppliancePaths): Promise<void> {
  try {
    lstatSync(masterKeyPath(paths));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await asDataOwner(paths, 'master-key.ensure', {});
  }
}

/** Where the key server keeps its master key in this data directory (server/config.ts resolvePaths). */
export const masterKeyPath = (paths: AppliancePaths): string => resolvePaths(parseConfig({ dataDir: paths.dataDir }, 'the data directory')).masterKey;

/**
 * Reads the master key as root without following a link the owner put in its place: O_NOFOLLOW (the
 * data directory itself cannot be swapped, see above), O_NONBLOCK (a FIFO there must not hang the
 * helper), then fstat of what was opened: a regular file of exactly 32 bytes, readable by its owner only.
 */
export function readMasterKey(paths: AppliancePaths): Buffer {
  const file = masterKeyPath(paths);
  const refuse = (why: string) => new KeyhavenError(ServerCodes.STORE_MASTER_KEY, `the master key file ${file} ${why}`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw refuse('does not exist: the key server creates it when it first starts');
    if (code === 'ELOOP') throw refuse('is a symbolic link: it is not followed; restore the master key file from backup');
    throw refuse(`cannot be opened: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse('is not a regular file');
    if ((st.mode & 0o077) !== 0) throw refuse(`is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`);
    if (st.size !== MASTER_KEY_BYTES) throw refuse(`holds ${st.size} bytes, not ${MASTER_KEY_BYTES}`);
    const key = Buffer.alloc(MASTER_KEY_BYTES);
    const n = readSync(fd, key, 0, MASTER_KEY_BYTES, 0);
    if (n !== MASTER_KEY_BYTES) throw refuse(`gave ${n} bytes, not ${MASTER_KEY_BYTES}`);
    return key;
  } finally {
    closeSync(fd);
  }
}
