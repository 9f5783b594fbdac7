// The SFTP backup transport against a real OpenSSH server alone in a network namespace
// (test/support/sftp-host.ts): round trips of random multi-MB files, listing and pruning, and what it
// refuses — another host key (pinned, or replaced on the server), a key the account does not accept,
// names that are not backup names, an existing backup name — and what it does when the transfer fails:
// an unreachable host, a connection cut or silenced half-way, a copy that does not read back as sent.
// Never a file left under a backup name. Needs root (namespace, account, sshd) and openssh-server.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { BACKUP_NAME, checkBackupName, downloadBackup, generateClientKey, listBackups, parseFingerprint, uploadBackup, type SftpTarget } from '../../server/backup/sftp-target.js';
import { fingerprintOfFile, SftpHost } from '../support/sftp-host.js';
import { rootOnly } from '../support/root-only.js';

const skip = rootOnly('a network namespace and a real sshd') || (!existsSync('/usr/sbin/sshd') ? 'needs openssh-server (bash test/install-deps.sh)' : false);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PARTIAL = /^\.keyhaven-.*\.partial-[0-9a-f]{16}$/;

/** Asserts the promise rejects with a KeyhavenError of that code; returns it. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<KeyhavenError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KeyhavenError, `a KeyhavenError, not ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function throwsWith(f: () => unknown, code: string): KeyhavenError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KeyhavenError, `a KeyhavenError, not ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it returned`);
}

test('fingerprints: the form ssh-keygen -lf prints, with or without its prefix; nothing else', () => {
  const fp = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
  assert.equal(parseFingerprint(fp), fp);
  assert.equal(parseFingerprint(' uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\n'), fp);
  assert.equal(parseFingerprint('sha256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s='), fp);
  for (const bad of ['', 'SHA256:', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2sA', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2t', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', 'SHA1:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', 'SHA256:uNiVztksCsDhcc0u9e8Bu-QXVUpKZIDTMczCvj3tD2s']) {
    const e = throwsWith(() => parseFingerprint(bad), ErrorCodes.BACKUP_BAD_INPUT);
    assert.match(e.message, /ssh-keygen -lf/);
  }
});

test('backup names: one pattern, no path, no ..', () => {
  assert.equal(checkBackupName('keyhaven-node1-20250101T000000Z.khbak'), 'keyhaven-node1-20250101T000000Z.khbak');
  for (const bad of ['../x.khbak', 'a/b', 'keyhaven-x.txt', 'keyhaven-..khbak', 'keyhaven-a/../b.khbak', 'keyhaven-.khbak.', '', 'KEYHAVEN-a.khbak', '.keyhaven-a.khbak.partial-0011223344556677', `keyhaven-${'a'.repeat(101)}.khbak`, 'keyhaven-a.khbak\n']) {
    throwsWith(() => checkBackupName(bad), ErrorCodes.BACKUP_BAD_INPUT);
  }
  assert.ok(BACKUP_NAME.test(`keyhaven-${'a'.repeat(100)}.khbak`));
});

test('the client key: ed25519 in OpenSSH format; its public line as authorized_keys wants it', () => {
  const k = generateClientKey('keyhaven@kh-01');
  assert.match(k.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n?$/);
  assert.match(k.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* keyhaven@kh-01$/);
  const dir = mkdtempSync(join(tmpdir(), 'kh-key-'));
  try {
    writeFileSync(join(dir, 'k.pub'), `${k.publicKey}\n`);
    assert.match(fingerprintOfFile(join(dir, 'k.pub')), /^SHA256:[A-Za-z0-9+/]{43}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.notEqual(generateClientKey('x').privateKey, k.privateKey);
  for (const bad of ['', 'two\nlines', ' leading space', 'é']) throwsWith(() => generateClientKey(bad), ErrorCodes.BACKUP_BAD_INPUT);
});

describe('backups over SFTP to a real sshd in a network namespace', { skip }, () => {
  const key = generateClientKey('keyhaven-test@appliance');
  let host: SftpHost;
  let work: string;
  const target = (o: Partial<SftpTarget> = {}): SftpTarget => ({
    host: host.address,
    port: host.port,
    username: host.username,
    directory: 'backups',
    hostKeySha256: host.hostKeyFingerprint,
    privateKey: key.privateKey,
    timeoutMs: 20_000, // generous: the machine is shared and loaded
    ...o,
  });
  /** A local file of random bytes. */
  const localFile = (name: string, size: number): { path: string; bytes: Buffer } => {
    const bytes = randomBytes(size);
    const path = join(work, name);
    writeFileSync(path, bytes);
    return { path, bytes };
  };
  /** Names on the server that are backup names or temporary upload names. */
  const ours = () => host.files().filter((n) => BACKUP_NAME.test(n) || PARTIAL.test(n));
  /** Waits (bounded) for an upload's temporary file of at least minSize bytes; returns its name. */
  async function partialOnServer(minSize: number): Promise<string> {
    for (let i = 0; i < 4000; i++) {
      const name = host.files().find((n) => PARTIAL.test(n));
      if (name) {
        try {
          if (statSync(join(host.backups, name)).size >= minSize) return name;
        } catch {
          // renamed or removed meanwhile
        }
      }
      await sleep(5);
    }
    throw new Error(`no temporary upload file of ${minSize} bytes appeared; files: ${host.files().join(', ')}`);
  }
  /** Sets a server file's modification time, seconds before now. */
  const age = (name: string, seconds: number) => {
    const t = Date.now() / 1000 - seconds;
    utimesSync(join(host.backups, name), t, t);
  };

  before(async () => {
    host = await SftpHost.start({ authorizedKey: key.publicKey });
    work = mkdtempSync(join(tmpdir(), 'kh-sftp-local-'));
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (host) {
      await host.cleanup();
      assert.deepEqual(await host.leftovers(), [], 'no namespace, link, account or directory left');
    }
  });

  beforeEach(() => {
    for (const name of readdirSync(host.backups)) rmSync(join(host.backups, name), { recursive: true, force: true });
  });

  afterEach(async () => {
    // Whatever a test did to the host, the next one finds it answering.
    await host.signalSessions('SIGCONT');
    await host.allowTraffic();
    await host.startSshd();
  });

  test('a multi-MB random file goes up and comes back byte for byte; only its name is left on the server', async () => {
    const { path, bytes } = localFile('round-trip.bin', 8 * 1024 * 1024 + 12_345);
    const name = 'keyhaven-kh01-20250102T030405Z.khbak';
    const up = await uploadBackup(target(), path, name);
    assert.deepEqual(up, { name, size: bytes.length, sha256: sha256(bytes), pruned: [] });
    assert.deepEqual(host.files(), [name], 'no temporary file left');
    const onServer = readFileSync(join(host.backups, name));
    assert.ok(onServer.equals(bytes), 'the server holds the same bytes');
    assert.equal(statSync(join(host.backups, name)).mode & 0o777, 0o600, 'readable by the backup account only');

    mkdirSync(join(work, 'restore'));
    const dest = join(work, 'restore', 'fetched.khbak');
    writeFileSync(dest, 'an older file in the way');
    const down = await downloadBackup(target(), name, dest);
    assert.deepEqual(down, { size: bytes.length, sha256: sha256(bytes) });
    assert.ok(readFileSync(dest).equals(bytes), 'fetched byte for byte');
    assert.deepEqual(readdirSync(join(work, 'restore')), ['fetched.khbak'], 'no temporary file left here either');

    await rejectsWith(downloadBackup(target(), 'keyhaven-not-there.khbak', join(work, 'restore', 'nothing')), ErrorCodes.BACKUP_BAD_INPUT);
    assert.deepEqual(readdirSync(join(work, 'restore')), ['fetched.khbak']);
  });

  test('listBackups: only backup names of regular files, newest first by modification time', async () => {
    const put = (name: string, size: number, secondsAgo: number) => {
      writeFileSync(join(host.backups, name), randomBytes(size));
      age(name, secondsAgo);
    };
    put('keyhaven-b.khbak', 10, 300);
    put('keyhaven-a.khbak', 20, 10); // newest, though first by name
    put('keyhaven-c.khbak', 30, 100);
    put('notes.txt', 5, 1);
    put('keyhaven-x.txt', 5, 1);
    put('.keyhaven-d.khbak.partial-0123456789abcdef', 5, 1);
    mkdirSync(join(host.backups, 'keyhaven-dir.khbak'));
    symlinkSync('keyhaven-a.khbak', join(host.backups, 'keyhaven-link.khbak'));
    const list = await listBackups(target());
    assert.deepEqual(list.map((b) => [b.name, b.size]), [['keyhaven-a.khbak', 20], ['keyhaven-c.khbak', 30], ['keyhaven-b.khbak', 10]]);
    const mtime = Math.floor(statSync(join(host.backups, 'keyhaven-c.khbak')).mtimeMs / 1000) * 1000;
    assert.equal(list[1]!.modified.getTime(), mtime);
    assert.deepEqual(await listBackups(target({ directory: '.' })), [], "the chroot's top holds none");
  });

  test('keep=2 deletes the oldest backups and stale temporary files, and returns their names', async () => {
    writeFileSync(join(host.backups, 'keyhaven-9-oldest.khbak'), 'oldest');
    age('keyhaven-9-oldest.khbak', 7200);
    writeFileSync(join(host.backups, 'keyhaven-0-middle.khbak'), 'middle');
    age('keyhaven-0-middle.khbak', 3600);
    const stale = '.keyhaven-x.khbak.partial-00112233445566aa';
    writeFileSync(join(host.backups, stale), 'a failed upload');
    age(stale, 2 * 3600);
    const running = '.keyhaven-y.khbak.partial-00112233445566bb'; // another upload in progress
    writeFileSync(join(host.backups, running), 'in progress');
    age(running, 60);
    writeFileSync(join(host.backups, 'notes.txt'), 'not ours');
    age('notes.txt', 10 * 3600);

    const { path } = localFile('keep.bin', 100_000);
    const up = await uploadBackup(target(), path, 'keyhaven-5-new.khbak', { keep: 2 });
    assert.deepEqual(up.pruned, ['keyhaven-9-oldest.khbak', stale]);
    assert.equal(up.pruneError, undefined);
    assert.deepEqual(host.files(), [running, 'keyhaven-0-middle.khbak', 'keyhaven-5-new.khbak', 'notes.txt'].sort());
    assert.deepEqual((await listBackups(target())).map((b) => b.name), ['keyhaven-5-new.khbak', 'keyhaven-0-middle.khbak']);

    const again = await uploadBackup(target(), path, 'keyhaven-6-newer.khbak', { keep: 1 });
    assert.deepEqual(again.pruned.sort(), ['keyhaven-0-middle.khbak', 'keyhaven-5-new.khbak']);
    await rejectsWith(uploadBackup(target(), path, 'keyhaven-7.khbak', { keep: 0 }), ErrorCodes.BACKUP_BAD_INPUT);
  });

  test('with a series, keep counts only that series: servers sharing a directory keep their own backups', async () => {
    for (const f of host.files()) if (f.endsWith('.khbak')) rmSync(join(host.backups, f));
    for (const [name, ageS] of [['keyhaven-srv1-20260101T000000Z.khbak', 9000], ['keyhaven-srv2-20260101T000000Z.khbak', 8000], ['keyhaven-srv2-20260102T000000Z.khbak', 7000]] as const) {
      writeFileSync(join(host.backups, name), name);
      age(name, ageS);
    }
    const { path } = localFile('series.bin', 10_000);
    const up = await uploadBackup(target(), path, 'keyhaven-srv1-20260103T000000Z.khbak', { keep: 1, series: 'srv1' });
    assert.deepEqual(up.pruned, ['keyhaven-srv1-20260101T000000Z.khbak']);
    assert.deepEqual(host.files().filter((f) => f.startsWith('keyhaven-srv2-')).length, 2, "the other server's backups stay");
  });

  test('a pinned fingerprint of another key is refused before logging in; nothing reaches the server', async () => {
    const other = generateClientKey('another host');
    writeFileSync(join(work, 'other.pub'), `${other.publicKey}\n`);
    const pinned = fingerprintOfFile(join(work, 'other.pub'));
    const { path } = localFile('pinned.bin', 200_000);
    const mark = host.log.length;
    const e = await rejectsWith(uploadBackup(target({ hostKeySha256: pinned }), path, 'keyhaven-pinned.khbak'), ErrorCodes.BACKUP_HOST_KEY);
    assert.ok(e.message.includes(host.hostKeyFingerprint), 'names the presented fingerprint');
    assert.ok(e.message.includes(pinned), 'names the expected fingerprint');
    assert.match(e.message, /verify the host/);
    assert.match(e.message, /enter its new fingerprint/);
    await rejectsWith(listBackups(target({ hostKeySha256: pinned })), ErrorCodes.BACKUP_HOST_KEY);
    await rejectsWith(downloadBackup(target({ hostKeySha256: pinned }), 'keyhaven-pinned.khbak', join(work, 'x')), ErrorCodes.BACKUP_HOST_KEY);
    assert.deepEqual(host.files(), []);
    // The client gave up in the key exchange (reason 3): no login was even attempted.
    for (let i = 0; i < 50 && !/\[preauth\]/.test(host.log.slice(mark)); i++) await sleep(100);
    const log = host.log.slice(mark);
    assert.match(log, /Received disconnect from .*:3: /);
    assert.doesNotMatch(log, /publickey|Accepted|Failed|Postponed/);
    assert.ok(!log.includes(host.username), `the account name was never sent:\n${log}`);
  });

  test('a host key replaced on the server is refused; the new fingerprint, once entered, is accepted', async () => {
    const before = host.hostKeyFingerprint;
    const { path } = localFile('replaced.bin', 200_000);
    const replaced = await host.replaceHostKey();
    assert.notEqual(replaced, before);
    const e = await rejectsWith(uploadBackup(target({ hostKeySha256: before }), path, 'keyhaven-replaced.khbak'), ErrorCodes.BACKUP_HOST_KEY);
    assert.ok(e.message.includes(replaced) && e.message.includes(before), e.message);
    assert.deepEqual(host.files(), []);
    await uploadBackup(target({ hostKeySha256: replaced }), path, 'keyhaven-replaced.khbak');
    assert.deepEqual(host.files(), ['keyhaven-replaced.khbak']);
  });

  test('a key the account does not accept is refused with KH_BACKUP_AUTH', async () => {
    const { path } = localFile('auth.bin', 1000);
    const stranger = generateClientKey('not installed');
    const e = await rejectsWith(uploadBackup(target({ privateKey: stranger.privateKey }), path, 'keyhaven-auth.khbak'), ErrorCodes.BACKUP_AUTH);
    assert.match(e.message, /authorized_keys/);
    await rejectsWith(listBackups(target({ username: 'root' })), ErrorCodes.BACKUP_AUTH);
    assert.deepEqual(host.files(), []);
  });

  test('sshd stopped, or its packets dropped: KH_BACKUP_HOST_UNREACHABLE within the timeout', async () => {
    const { path } = localFile('unreachable.bin', 1000);
    await host.stopSshd();
    let started = Date.now();
    const refused = await rejectsWith(uploadBackup(target({ timeoutMs: 2000 }), path, 'keyhaven-u.khbak'), ErrorCodes.BACKUP_HOST_UNREACHABLE);
    assert.match(refused.message, /refused the connection/);
    assert.ok(Date.now() - started < 2000, 'a refusal is known at once');
    await host.startSshd();

    await host.dropTraffic();
    for (const attempt of [() => uploadBackup(target({ timeoutMs: 2000 }), path, 'keyhaven-u.khbak'), () => listBackups(target({ timeoutMs: 2000 }))]) {
      started = Date.now();
      const silent = await rejectsWith(attempt(), ErrorCodes.BACKUP_HOST_UNREACHABLE);
      const took = Date.now() - started;
      assert.match(silent.message, /no answer within 2 s/);
      assert.ok(took >= 1900 && took < 8000, `gave up after ${took} ms`);
    }
    await host.allowTraffic();
    assert.deepEqual(host.files(), []);
  });

  test('a missing or read-only directory, or a missing local file, fails with KH_BACKUP_TRANSFER saying which', async () => {
    const { path } = localFile('dirs.bin', 1000);
    const missing = await rejectsWith(uploadBackup(target({ directory: 'nowhere' }), path, 'keyhaven-d.khbak'), ErrorCodes.BACKUP_TRANSFER);
    assert.match(missing.message, /no such file or directory: check that the directory "nowhere" exists/);
    // The chroot's top is root's: the account may not create files there.
    const readOnly = await rejectsWith(uploadBackup(target({ directory: '.' }), path, 'keyhaven-d.khbak'), ErrorCodes.BACKUP_TRANSFER);
    assert.match(readOnly.message, /permission denied: the account "khsftp[0-9a-f]+" must be allowed to create/);
    assert.deepEqual(readdirSync(host.chroot), ['backups']);
    const local = await rejectsWith(uploadBackup(target(), join(work, 'no-such-file'), 'keyhaven-d.khbak'), ErrorCodes.BACKUP_TRANSFER);
    assert.match(local.message, /no-such-file/);
    const dest = await rejectsWith(downloadBackup(target(), 'keyhaven-d.khbak', join(work, 'no-such-dir', 'x')), ErrorCodes.BACKUP_BAD_INPUT);
    assert.match(dest.message, /no backup named keyhaven-d\.khbak/);
    assert.deepEqual(host.files(), []);
  });

  test('names that are not backup names are refused before connecting', async () => {
    const { path } = localFile('names.bin', 1000);
    // Nothing listens on port 1: had it connected, the error would be KH_BACKUP_HOST_UNREACHABLE.
    const nowhere = target({ port: 1 });
    for (const name of ['../x.khbak', 'a/b', 'keyhaven-x.txt', 'keyhaven-..khbak', 'keyhaven-a/../../b.khbak', '']) {
      await rejectsWith(uploadBackup(nowhere, path, name), ErrorCodes.BACKUP_BAD_INPUT);
      await rejectsWith(downloadBackup(nowhere, name, join(work, 'x')), ErrorCodes.BACKUP_BAD_INPUT);
    }
    await rejectsWith(listBackups(target({ port: 1, hostKeySha256: 'SHA256:tooshort' })), ErrorCodes.BACKUP_BAD_INPUT);
    await rejectsWith(listBackups(target({ port: 1, directory: '../..' })), ErrorCodes.BACKUP_BAD_INPUT);
    await rejectsWith(listBackups(nowhere), ErrorCodes.BACKUP_HOST_UNREACHABLE); // the control
    assert.deepEqual(host.files(), []);
  });

  test('a connection silenced half-way (nft drop after 4 MB) fails the upload; no backup name, and its leftover is pruned once stale', async () => {
    const { path } = localFile('silenced.bin', 24 * 1024 * 1024);
    await host.dropTraffic({ afterBytes: 4 * 1024 * 1024 });
    const started = Date.now();
    const e = await rejectsWith(uploadBackup(target({ timeoutMs: 3000 }), path, 'keyhaven-silenced.khbak'), ErrorCodes.BACKUP_TRANSFER);
    assert.match(e.message, /stopped answering \(nothing for 3 s\) when asked to send keyhaven-silenced\.khbak/);
    assert.ok(Date.now() - started < 30_000, 'bounded by the timeout, not by the file');
    await host.allowTraffic();
    const files = ours();
    assert.equal(files.filter((n) => BACKUP_NAME.test(n)).length, 0, `no backup name: ${files.join(', ')}`);
    const leftover = files.find((n) => PARTIAL.test(n));
    assert.ok(leftover, 'the temporary file stays (the connection was gone before it could be deleted)');
    assert.ok(statSync(join(host.backups, leftover)).size < 24 * 1024 * 1024);

    const { path: small } = localFile('after.bin', 1000);
    const fresh = await uploadBackup(target(), small, 'keyhaven-after-1.khbak', { keep: 5 });
    assert.deepEqual(fresh.pruned, [], 'a recent temporary file may be an upload still running');
    age(leftover, 2 * 3600);
    const later = await uploadBackup(target(), small, 'keyhaven-after-2.khbak', { keep: 5 });
    assert.deepEqual(later.pruned, [leftover]);
    assert.deepEqual(ours(), ['keyhaven-after-1.khbak', 'keyhaven-after-2.khbak']);
  });

  test('a connection cut half-way (sshd sessions killed) fails the upload at once; no backup name', async () => {
    const { path } = localFile('cut.bin', 32 * 1024 * 1024);
    const upload = uploadBackup(target(), path, 'keyhaven-cut.khbak');
    upload.catch(() => undefined);
    await partialOnServer(1024 * 1024);
    const started = Date.now();
    assert.ok((await host.signalSessions('SIGKILL')) > 0);
    const e = await rejectsWith(upload, ErrorCodes.BACKUP_TRANSFER);
    assert.match(e.message, /connection was lost/);
    assert.ok(Date.now() - started < 10_000, 'a closed connection is known without waiting for the timeout');
    assert.equal(ours().filter((n) => BACKUP_NAME.test(n)).length, 0, ours().join(', '));
  });

  test('a copy that does not read back as sent is deleted, and the upload fails', async () => {
    const { path, bytes } = localFile('readback.bin', 32 * 1024 * 1024);
    const upload = uploadBackup(target(), path, 'keyhaven-readback.khbak');
    upload.catch(() => undefined);
    const partial = await partialOnServer(1024 * 1024);
    // Frozen, the server writes on into the file it opened while its name now holds other bytes of the same size.
    await host.signalSessions('SIGSTOP');
    renameSync(join(host.backups, partial), join(host.backups, 'moved-away.bin'));
    writeFileSync(join(host.backups, partial), randomBytes(bytes.length));
    await host.signalSessions('SIGCONT');
    const e = await rejectsWith(upload, ErrorCodes.BACKUP_TRANSFER);
    assert.match(e.message, /differs from what was sent/);
    assert.deepEqual(ours(), [], 'the temporary file was deleted; no backup name');
    assert.ok(readFileSync(join(host.backups, 'moved-away.bin')).equals(bytes), 'the server did receive the bytes sent');
  });

  test('an existing backup is never replaced: refused before sending, and when it appears during the upload', async () => {
    const { path } = localFile('existing.bin', 32 * 1024 * 1024);
    const name = 'keyhaven-existing.khbak';
    writeFileSync(join(host.backups, name), 'the first backup');
    const e = await rejectsWith(uploadBackup(target(), path, name), ErrorCodes.BACKUP_BAD_INPUT);
    assert.match(e.message, /exists already/);
    assert.equal(readFileSync(join(host.backups, name), 'utf8'), 'the first backup');
    assert.deepEqual(ours(), [name]);

    // Another writer takes the name while the upload runs: the rename refuses to replace it.
    const racing = 'keyhaven-racing.khbak';
    const upload = uploadBackup(target(), path, racing);
    upload.catch(() => undefined);
    await partialOnServer(1024 * 1024);
    await host.signalSessions('SIGSTOP');
    writeFileSync(join(host.backups, racing), 'written by someone else');
    await host.signalSessions('SIGCONT');
    const raced = await rejectsWith(upload, ErrorCodes.BACKUP_BAD_INPUT);
    assert.match(raced.message, /exists already/);
    assert.equal(readFileSync(join(host.backups, racing), 'utf8'), 'written by someone else');
    assert.deepEqual(ours(), [name, racing].sort(), 'the temporary file was deleted');
  });
});
