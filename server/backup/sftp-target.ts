// The SFTP transport for backup files: send, list, fetch and prune backups on one backup host. The
// host is pinned by the SHA-256 fingerprint of its host key (never trusted on first use) and the
// appliance logs in with its own SSH key, nothing else. An upload goes to a temporary name, is flushed,
// read back and compared with what was sent, and only then renamed: a backup name only ever holds a
// complete, verified copy. Every wait is bounded by the target's timeout; the connection is always ended.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as SshClient, ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { fingerprintOf, keyTypeOf, matchesFingerprint, parseFingerprint } from './host-key-fingerprint.js';

export { parseFingerprint } from './host-key-fingerprint.js';

const { Client, utils } = ssh2;

export interface SftpTarget {
  host: string;
  port: number;
  username: string;
  /** Remote directory, relative to the login (or chroot) directory, e.g. 'backups' or '.'. */
  directory: string;
  /** The pinned host key, as `ssh-keygen -lf` prints it: 'SHA256:<base64 without padding>'. */
  hostKeySha256: string;
  /** The appliance's private key in OpenSSH format. */
  privateKey: string | Buffer;
  /** Bounds the connection and each operation (a transfer: each stretch without progress); default 20 s. */
  timeoutMs?: number;
}

export interface UploadResult {
  name: string;
  size: number;
  /** SHA-256 of the bytes sent, as read back from the host (hex). */
  sha256: string;
  /** Backups and stale temporary files deleted by `keep`. */
  pruned: string[];
  /** Set when the backup was stored but pruning failed (the backup stays; the next upload prunes again). */
  pruneError?: string;
}

export interface RemoteBackup {
  name: string;
  size: number;
  modified: Date;
}

/** The only remote names backups get; nothing else is listed, fetched or pruned. */
export const BACKUP_NAME = /^keyhaven-[0-9A-Za-z._-]{1,100}\.khbak$/;
/** Temporary upload names: '.<backup name>.partial-<16 hex>' (hidden, and never a backup name). */
const PARTIAL_NAME = /^\.keyhaven-[0-9A-Za-z._-]{1,100}\.khbak\.partial-[0-9a-f]{16}$/;

const DEFAULT_TIMEOUT_MS = 20_000;
/** A temporary file this much older than the upload just made is a failed upload's, not a running one's. */
const STALE_PARTIAL_S = 3600;
const CHUNK = 64 * 1024;
/** Requests in flight (~1 MiB), so that the round-trip time does not bound the throughput. */
const DEPTH = 16;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
// SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7).
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;

interface Target {
  host: string;
  port: number;
  username: string;
  directory: string;
  fingerprint: string;
  privateKey: string | Buffer;
  timeoutMs: number;
  /** 'user@host:port', for messages. */
  where: string;
}

const badInput = (message: string) => new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, message);
const transfer = (message: string, cause?: unknown) => new KeyhavenError(ErrorCodes.BACKUP_TRANSFER, message, cause === undefined ? undefined : { cause });
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/** The name, if it is one a backup may have; throws BACKUP_BAD_INPUT otherwise. */
export function checkBackupName(name: string): string {
  if (typeof name !== 'string' || !BACKUP_NAME.test(name) || name.includes('..') || name.includes('/')) {
    throw badInput(`"${String(name).slice(0, 120)}" is not a backup file name: backups are named keyhaven-<letters, digits, '.', '_' or '-'>.khbak (no '/', no '..').`);
  }
  return name;
}

/** A new ed25519 key pair for the appliance to log in to the backup host with. */
export function generateClientKey(comment: string): { privateKey: string; publicKey: string } {
  // The comment ends the authorized_keys line: printable, one line.
  if (typeof comment !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,99}$/.test(comment)) {
    throw badInput('The SSH key comment must be 1 to 100 printable ASCII characters on one line.');
  }
  const keys = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: keys.private, publicKey: keys.public.trim() };
}

function checkTarget(t: SftpTarget): Target {
  if (typeof t.host !== 'string' || !/^[A-Za-z0-9.:_-]{1,253}$/.test(t.host)) throw badInput(`The backup host "${String(t.host).slice(0, 80)}" is not a host name or IP address.`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw badInput(`The backup host's port ${String(t.port)} is not a port number (1-65535).`);
  if (typeof t.username !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(t.username)) throw badInput('The backup account name must be 1 to 64 printable characters without spaces.');
  const dir = t.directory;
  if (typeof dir !== 'string' || dir.length === 0 || dir.length > 1024 || /[\x00-\x1f\x7f]/.test(dir) || dir.split('/').includes('..')) {
    throw badInput(`The backup directory "${String(dir).slice(0, 80)}" is not allowed: give a directory such as 'backups' or '.', without '..'.`);
  }
  const fingerprint = parseFingerprint(String(t.hostKeySha256 ?? ''));
  const parsed = utils.parseKey(t.privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) {
    throw badInput("The appliance's SSH key for backups cannot be read (not an unencrypted OpenSSH private key): create the backup SSH key again and install its public key on the backup host.");
  }
  const timeoutMs = t.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) throw badInput(`The timeout ${String(timeoutMs)} ms is not between 100 ms and 10 minutes.`);
  const hostPort = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
  return { host: t.host, port: t.port, username: t.username, directory: dir, fingerprint, privateKey: t.privateKey, timeoutMs, where: `${t.username}@${hostPort}` };
}

const remotePath = (t: Target, name: string) => posix.join(t.directory, name);
const isRegular = (mode: number | undefined) => mode === undefined || (mode & S_IFMT) === S_IFREG;
const sftpStatus = (e: unknown): number | undefined => {
  const cause = e instanceof KeyhavenError ? e.cause : e;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
};

/** One SSH connection with its SFTP session. */
class Session {
  /** Why the connection ended, once it has. */
  private lost: string | undefined;
  /** The error that made us cut the connection (a timeout), reported instead of what follows from it. */
  private aborted: KeyhavenError | undefined;

  private constructor(
    private readonly client: SshClient,
    readonly sftp: SFTPWrapper,
    readonly t: Target,
    private readonly closed: Promise<void>,
  ) {
    // A malformed answer makes ssh2 emit 'error' on the SFTP session: without a listener that would
    // end the process. Requests in flight fail on their own; later ones fail at once.
    sftp.on('error', (err: Error) => this.connectionLost(`the SFTP session failed: ${err.message}`));
    sftp.on('close', () => this.connectionLost('the SFTP session was closed'));
  }

  static open(t: Target): Promise<Session> {
    return new Promise((resolvePromise, reject) => {
      const client = new Client();
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      let presented: Buffer | undefined;
      let session: Session | undefined;
      let settled = false;
      const fail = (e: KeyhavenError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(e);
      };
      // readyTimeout bounds the TCP connect, key exchange and login; this bounds the whole, SFTP included.
      const timer = setTimeout(() => fail(unreachable(t, `no answer within ${seconds(t.timeoutMs)}`)), t.timeoutMs + 1000);
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (!settled) fail(presented ? hostKeyRefused(t, presented) : connectError(t, err));
        else session?.connectionLost(err.message);
      });
      client.on('close', () => {
        if (!settled) fail(presented ? hostKeyRefused(t, presented) : unreachable(t, 'it closed the connection during the SSH handshake'));
        else session?.connectionLost('the connection was closed');
      });
      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (settled) return;
          if (err) {
            fail(transfer(`${t.where} accepted the appliance's key but not an SFTP session (${err.message}): allow the account SFTP on the backup host (Subsystem sftp, or ForceCommand internal-sftp).`, err));
            return;
          }
          settled = true;
          clearTimeout(timer);
          session = new Session(client, sftp, t, closed);
          resolvePromise(session);
        });
      });
      const config: ConnectConfig = {
        host: t.host,
        port: t.port,
        username: t.username,
        privateKey: t.privateKey,
        // Only the appliance's key: no 'none', no password, no agent.
        authHandler: ['publickey'],
        // The pin is the only trust: a key that does not match ends the handshake before the login starts.
        hostVerifier: (key: Buffer): boolean => {
          if (matchesFingerprint(key, t.fingerprint)) return true;
          presented = key;
          return false;
        },
        readyTimeout: t.timeoutMs,
        // Without the SHA-1 host key signature and MACs; ssh2's default key exchanges and ciphers are SHA-2 and AEAD/CTR.
        algorithms: {
          serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'],
          hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
        },
      };
      try {
        client.connect(config);
      } catch (e) {
        fail(unreachable(t, (e as Error).message));
      }
    });
  }

  get connected(): boolean {
    return this.lost === undefined;
  }

  connectionLost(why: string): void {
    this.lost ??= why;
  }

  /** Cuts the connection: every request in flight then fails, and reports `e`. */
  abort(e: KeyhavenError): void {
    this.aborted ??= e;
    this.lost ??= e.message;
    this.client.destroy();
  }

  /**
   * One SFTP request. Bounded by the timeout unless `timed` is false (a transfer's requests, which
   * watch their progress instead: many are in flight and queue behind one another).
   */
  request<T>(what: string, start: (cb: (err?: Error | null, value?: T) => void) => void, timed = true): Promise<T> {
    if (this.aborted) return Promise.reject(this.aborted);
    if (this.lost) return Promise.reject(this.failure(what, new Error(this.lost)));
    return new Promise<T>((resolvePromise, reject) => {
      const timer = timed
        ? setTimeout(() => {
            this.abort(this.noAnswer(what));
            reject(this.aborted);
          }, this.t.timeoutMs)
        : undefined;
      const done = (err?: Error | null, value?: T) => {
        clearTimeout(timer);
        if (err) reject(this.aborted ?? this.failure(what, err));
        else resolvePromise(value as T);
      };
      try {
        start(done);
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** A watchdog for a transfer: fails it when no request completes for the timeout. */
  watch(what: string): { poke(): void; stop(): void } {
    const timer = setTimeout(() => this.abort(this.noAnswer(what)), this.t.timeoutMs);
    return {
      poke: () => timer.refresh(),
      stop: () => clearTimeout(timer),
    };
  }

  private noAnswer(what: string): KeyhavenError {
    return transfer(`The backup host ${this.t.where} stopped answering (nothing for ${seconds(this.t.timeoutMs)}) when asked to ${what}; the connection was closed. Check the host and the network to it; a scheduled backup is retried.`);
  }

  private failure(what: string, err: Error): KeyhavenError {
    const status = sftpStatus(err);
    const dir = `"${this.t.directory}"`;
    const why = this.lost
      ? `the connection was lost (${this.lost}); a scheduled backup is retried`
      : status === NO_SUCH_FILE
        ? `no such file or directory: check that the directory ${dir} exists on the backup host`
        : status === PERMISSION_DENIED
          ? `permission denied: the account "${this.t.username}" must be allowed to create, read, rename and delete files in ${dir}`
          : status === FAILURE
            ? `the host reported a failure (${err.message}): a full disk or a quota, most likely`
            : err.message;
    return transfer(`Could not ${what} on ${this.t.where}: ${why}.`, err);
  }

  /** Whether something exists under that path (a symbolic link counts). */
  async exists(path: string, what: string): Promise<boolean> {
    try {
      await this.request<Stats>(what, (cb) => this.sftp.lstat(path, cb));
      return true;
    } catch (e) {
      if (sftpStatus(e) === NO_SUCH_FILE && !this.lost) return false;
      throw e;
    }
  }

  closeHandle(handle: Buffer, what: string): Promise<void> {
    return this.request<void>(what, (cb) => this.sftp.close(handle, cb));
  }

  /** Best effort, for cleaning up after a failure: never throws, never waits on a lost connection. */
  async quietly(action: () => Promise<unknown>): Promise<void> {
    if (this.lost) return;
    await action().catch(() => undefined);
  }

  /** Ends the connection; waits (bounded) until it is closed. */
  async close(): Promise<void> {
    this.client.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, Math.min(this.t.timeoutMs, 2000))))]);
    clearTimeout(timer);
    this.client.destroy();
  }
}

function hostKeyRefused(t: Target, presented: Buffer): KeyhavenError {
  return new KeyhavenError(
    ErrorCodes.BACKUP_HOST_KEY,
    `The backup host ${t.host}:${t.port} presented the ${keyTypeOf(presented)} host key ${fingerprintOf(presented)}, but the pinned fingerprint is ${t.fingerprint}: the connection was refused before logging in, and nothing was sent. ` +
      "If the host's key was replaced on purpose, verify the host and its new key on the host itself (`ssh-keygen -lf` on its public host key file), then enter its new fingerprint; otherwise the connection may be intercepted. A host key is never trusted on first use.",
  );
}

function unreachable(t: Target, why: string): KeyhavenError {
  return new KeyhavenError(
    ErrorCodes.BACKUP_HOST_UNREACHABLE,
    `The backup host ${t.host}:${t.port} cannot be reached: ${why}. Check its address and port, that its SSH server runs, and that the network lets the appliance through to it; the backup is retried.`,
  );
}

function connectError(t: Target, err: Error & { level?: string; code?: string }): KeyhavenError {
  if (err.level === 'client-authentication') {
    return new KeyhavenError(
      ErrorCodes.BACKUP_AUTH,
      `The backup host ${t.host}:${t.port} refused the appliance's SSH key for the account "${t.username}": install the public key the menu shows for backups in that account's authorized_keys on the backup host (and check the account name).`,
    );
  }
  if (err.level === 'client-timeout') return unreachable(t, `no answer within ${seconds(t.timeoutMs)}`);
  const why: Record<string, string> = {
    ECONNREFUSED: 'it refused the connection (nothing listens on that port)',
    EHOSTUNREACH: 'there is no route to it',
    ENETUNREACH: 'there is no route to its network',
    ETIMEDOUT: 'the connection timed out',
    ECONNRESET: 'it reset the connection',
    ENOTFOUND: 'its name cannot be resolved',
    EAI_AGAIN: 'its name cannot be resolved (DNS does not answer)',
  };
  if (err.code && why[err.code]) return unreachable(t, why[err.code]!);
  return unreachable(t, `the SSH connection failed (${err.message})`);
}

interface LocalFile {
  path: string;
  fh: FileHandle;
  size: number;
}

const localError = (what: string, e: unknown) =>
  e instanceof KeyhavenError ? e : transfer(`Could not ${what}: ${(e as Error).message ?? String(e)}.`, e);

async function openLocal(path: string): Promise<LocalFile> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    return { path, fh, size: st.size };
  } catch (e) {
    await fh?.close().catch(() => undefined);
    throw localError(`read the backup file ${path}`, e);
  }
}

/**
 * Stores a local backup file on the host as `remoteName`: sent to a temporary name, flushed (where
 * the host offers fsync@openssh.com), its size checked, read back and compared, then renamed. An
 * existing backup is never replaced. With `keep`, the oldest backups beyond `keep` (this one counted)
 * and stale temporary files of failed uploads are deleted.
 */
export async function uploadBackup(t: SftpTarget, localFile: string, remoteName: string, o: { keep?: number; series?: string } = {}): Promise<UploadResult> {
  const target = checkTarget(t);
  const name = checkBackupName(remoteName);
  if (o.keep !== undefined && (!Number.isInteger(o.keep) || o.keep < 1 || o.keep > 100_000)) {
    throw badInput(`Backups to keep (${String(o.keep)}) must be a whole number of at least 1.`);
  }
  const local = await openLocal(localFile);
  try {
    const session = await Session.open(target);
    try {
      return await upload(session, local, name, o.keep, o.series);
    } finally {
      await session.close();
    }
  } finally {
    await local.fh.close().catch(() => undefined);
  }
}

async function upload(session: Session, local: LocalFile, name: string, keep: number | undefined, series: string | undefined): Promise<UploadResult> {
  const { sftp, t } = session;
  const finalPath = remotePath(t, name);
  if (await session.exists(finalPath, `check for ${name}`)) throw exists(t, name);
  const tempName = `.${name}.partial-${randomBytes(8).toString('hex')}`;
  const temp = remotePath(t, tempName);
  let committed = false;
  try {
    // 'wx': created here, never an existing file reused.
    const handle = await session.request<Buffer>(`create ${tempName}`, (cb) => sftp.open(temp, 'wx', 0o600, cb));
    let sent: { size: number; digest: Buffer };
    try {
      sent = await sendFile(session, handle, local, `send ${name}`);
      await session.request<void>(`flush ${tempName} to disk`, (cb) => {
        try {
          sftp.ext_openssh_fsync(handle, (err) => cb(err));
        } catch {
          cb(); // not offered by this server: the read-back below still checks what it holds
        }
      });
      const st = await session.request<Stats>(`check the size of ${tempName}`, (cb) => sftp.fstat(handle, cb));
      if (st.size !== sent.size) throw transfer(`The copy of ${name} on ${t.where} has ${st.size} bytes instead of ${sent.size}; it was deleted and the backup is retried.`);
    } catch (e) {
      await session.quietly(() => session.closeHandle(handle, `close ${tempName}`));
      throw e;
    }
    await session.closeHandle(handle, `close ${tempName}`);

    // Read back by name, what the rename will move: it must be, byte for byte, what was sent.
    const back = await digestRemote(session, temp, sent.size, `read back ${tempName}`);
    if (!timingSafeEqual(back, sent.digest)) {
      throw transfer(`The copy of ${name} read back from ${t.where} differs from what was sent (SHA-256 ${back.toString('hex')}, sent ${sent.digest.toString('hex')}); it was deleted and nothing was stored. Check the backup host's storage; the backup is retried.`);
    }

    // SFTP v3's rename fails when the new name exists (draft-ietf-secsh-filexfer-02 §6.5), and
    // OpenSSH does it as link() then unlink(): the backup name appears whole, and never replaces
    // another. posix-rename@openssh.com would silently replace it, so it is not used.
    try {
      await session.request<void>(`rename ${tempName} to ${name}`, (cb) => sftp.rename(temp, finalPath, cb));
    } catch (e) {
      if (session.connected && (await session.exists(finalPath, `check for ${name}`).catch(() => false))) throw exists(t, name);
      throw e;
    }
    committed = true;

    const result: UploadResult = { name, size: sent.size, sha256: back.toString('hex'), pruned: [] };
    if (keep !== undefined) {
      try {
        result.pruned = await prune(session, keep, name, series);
      } catch (e) {
        result.pruneError = (e as Error).message;
      }
    }
    return result;
  } finally {
    if (!committed) await session.quietly(() => session.request<void>(`delete ${tempName}`, (cb) => sftp.unlink(temp, cb)));
  }
}

function exists(t: Target, name: string): KeyhavenError {
  return badInput(`A backup named ${name} exists already in "${t.directory}" on ${t.where}: it is never replaced; send this one under another name.`);
}

/** Sends the local file through the open remote handle with writes in flight; hashes what it sends. */
async function sendFile(session: Session, handle: Buffer, local: LocalFile, what: string): Promise<{ size: number; digest: Buffer }> {
  const hash = createHash('sha256');
  const watch = session.watch(what);
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;
  let position = 0;
  const stream = local.fh.createReadStream({ start: 0, highWaterMark: CHUNK, autoClose: false });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      const at = position;
      position += chunk.length;
      const write: Promise<void> = session
        .request<void>(what, (cb) => session.sftp.write(handle, chunk, 0, chunk.length, at, cb), false)
        .then(() => watch.poke(), (e: unknown) => void (failed ??= e))
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
      while (inFlight.size >= DEPTH && failed === undefined) await Promise.race(inFlight);
      if (failed !== undefined) throw failed;
    }
    await Promise.all(inFlight);
    if (failed !== undefined) throw failed;
  } catch (e) {
    throw localError(`read the backup file ${local.path}`, e);
  } finally {
    watch.stop();
    stream.destroy();
  }
  if (position !== local.size) throw transfer(`The backup file ${local.path} changed while it was sent (${position} bytes instead of ${local.size}); nothing was stored.`);
  return { size: position, digest: hash.digest() };
}

/** The SHA-256 of a remote file, which must have exactly `size` bytes. */
async function digestRemote(session: Session, path: string, size: number, what: string): Promise<Buffer> {
  const handle = await session.request<Buffer>(what, (cb) => session.sftp.open(path, 'r', cb));
  const hash = createHash('sha256');
  try {
    await readRemote(session, handle, size, what, (chunk) => void hash.update(chunk));
  } catch (e) {
    await session.quietly(() => session.closeHandle(handle, what));
    throw e;
  }
  await session.closeHandle(handle, what);
  return hash.digest();
}

/**
 * Reads exactly `size` bytes through an open remote handle, in order, with reads in flight; then
 * checks the file ends there.
 */
async function readRemote(session: Session, handle: Buffer, size: number, what: string, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  const watch = session.watch(what);
  const readAt = (offset: number, length: number): Promise<Buffer> => {
    const p = session.request<Buffer>(
      what,
      (cb) => session.sftp.read(handle, Buffer.allocUnsafe(length), 0, length, offset, (err, n, buf) => cb(err, err ? undefined : buf.subarray(0, n))),
      false,
    );
    p.then(() => watch.poke(), () => undefined);
    return p;
  };
  const changed = (how: string) => transfer(`Could not ${what} on ${session.t.where}: the file ${how} than the ${size} bytes it had, so it changed while it was read; nothing was kept.`);
  try {
    const queue: { offset: number; length: number; data: Promise<Buffer> }[] = [];
    let next = 0;
    while (next < size || queue.length > 0) {
      while (queue.length < DEPTH && next < size) {
        const length = Math.min(CHUNK, size - next);
        const data = readAt(next, length);
        data.catch(() => undefined); // awaited in order below
        queue.push({ offset: next, length, data });
        next += length;
      }
      const head = queue.shift()!;
      let data = await head.data;
      // A server may answer with fewer bytes than asked: fetch the rest before going on.
      while (data.length < head.length) {
        const more = await readAt(head.offset + data.length, head.length - data.length);
        if (more.length === 0) throw changed('is shorter');
        data = Buffer.concat([data, more]);
      }
      await onChunk(data);
    }
    if ((await readAt(size, 1)).length !== 0) throw changed('is longer');
  } finally {
    watch.stop();
  }
}

interface DirEntry {
  filename: string;
  attrs: Stats;
}

function listDirectory(session: Session): Promise<DirEntry[]> {
  const { sftp, t } = session;
  return session.request<DirEntry[]>(`list "${t.directory}"`, (cb) => sftp.readdir(t.directory, cb));
}

/** Our backups among the entries, newest first (by modification time, then by name). */
function backupsIn(entries: DirEntry[]): (RemoteBackup & { mtime: number })[] {
  return entries
    .filter((e) => BACKUP_NAME.test(e.filename) && !e.filename.includes('..') && isRegular(e.attrs.mode))
    .map((e) => ({ name: e.filename, size: e.attrs.size, modified: new Date(e.attrs.mtime * 1000), mtime: e.attrs.mtime }))
    .sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Deletes the oldest backups beyond `keep` (the new one always kept) and stale temporary files. With
 * `series`, only backups named keyhaven-<series>-… count: servers sharing a directory keep their own.
 */
async function prune(session: Session, keep: number, uploaded: string, series: string | undefined): Promise<string[]> {
  const { sftp, t } = session;
  const entries = await listDirectory(session);
  const backups = backupsIn(entries);
  const ours = series === undefined ? backups : backups.filter((b) => b.name.startsWith(`keyhaven-${series}-`));
  const doomed = ours.filter((b) => b.name !== uploaded).slice(keep - 1).map((b) => b.name);
  // The host's clock, not ours, dates a temporary file: compare with the backup just stored there.
  const newest = backups.find((b) => b.name === uploaded);
  if (newest) {
    for (const e of entries) {
      if (PARTIAL_NAME.test(e.filename) && isRegular(e.attrs.mode) && newest.mtime - e.attrs.mtime > STALE_PARTIAL_S) doomed.push(e.filename);
    }
  }
  const pruned: string[] = [];
  for (const name of doomed) {
    await session.request<void>(`delete ${name}`, (cb) => sftp.unlink(remotePath(t, name), cb));
    pruned.push(name);
  }
  return pruned;
}

/** The backups in the target directory, newest first; other files are not listed. */
export async function listBackups(t: SftpTarget): Promise<RemoteBackup[]> {
  const target = checkTarget(t);
  const session = await Session.open(target);
  try {
    return backupsIn(await listDirectory(session)).map(({ name, size, modified }) => ({ name, size, modified }));
  } finally {
    await session.close();
  }
}

/**
 * Fetches a backup into `localFile` (replaced if it exists): written to a temporary file beside it,
 * its size checked against the remote file's, flushed, then renamed into place.
 */
export async function downloadBackup(t: SftpTarget, remoteName: string, localFile: string): Promise<{ size: number; sha256: string }> {
  const target = checkTarget(t);
  const name = checkBackupName(remoteName);
  const dest = resolve(localFile);
  const temp = join(dirname(dest), `.${basename(dest)}.partial-${randomBytes(8).toString('hex')}`);
  const session = await Session.open(target);
  try {
    const path = remotePath(target, name);
    const handle = await session.request<Buffer>(`open ${name}`, (cb) => session.sftp.open(path, 'r', cb)).catch((e: unknown) =>
      Promise.reject(sftpStatus(e) === NO_SUCH_FILE ? badInput(`There is no backup named ${name} in "${target.directory}" on ${target.where}: list the backups there and pick one of them.`) : e),
    );
    let fetched: { size: number; sha256: string };
    try {
      fetched = await fetchTo(session, handle, name, temp);
    } catch (e) {
      await session.quietly(() => session.closeHandle(handle, `close ${name}`));
      throw e;
    }
    await session.closeHandle(handle, `close ${name}`);
    await rename(temp, dest).catch((e: unknown) => Promise.reject(localError(`store ${dest}`, e)));
    return fetched;
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    await session.close();
  }
}

/** Copies the open remote file into a new local file, flushed to disk; its size checked against the remote stat. */
async function fetchTo(session: Session, handle: Buffer, name: string, temp: string): Promise<{ size: number; sha256: string }> {
  const st = await session.request<Stats>(`check ${name}`, (cb) => session.sftp.fstat(handle, cb));
  if (!isRegular(st.mode)) throw transfer(`${name} on ${session.t.where} is not a regular file; nothing was fetched.`);
  const out = await open(temp, 'wx', 0o600).catch((e: unknown) => Promise.reject(localError(`create ${temp}`, e)));
  try {
    const hash = createHash('sha256');
    let size = 0;
    await readRemote(session, handle, st.size, `fetch ${name}`, async (chunk) => {
      hash.update(chunk);
      size += chunk.length;
      for (let off = 0; off < chunk.length; ) {
        const { bytesWritten } = await out.write(chunk, off, chunk.length - off).catch((e: unknown) => Promise.reject(localError(`write ${temp}`, e)));
        off += bytesWritten;
      }
    });
    if (size !== st.size) throw transfer(`Fetched ${size} bytes of ${name} instead of ${st.size}; nothing was kept.`);
    await out.sync().catch((e: unknown) => Promise.reject(localError(`write ${temp}`, e)));
    return { size, sha256: hash.digest('hex') };
  } finally {
    await out.close().catch(() => undefined);
  }
}
