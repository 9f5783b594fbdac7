// Scheduled backups against a real OpenSSH server in a network namespace (test/support/sftp-host.ts):
// one job makes, uploads, reads back and prunes, and the file on the host opens with the shares;
// an unreachable host is retried with backoff and then reported; a host that comes back during the
// wait gets the backup on the retry; a wrong pinned host key is reported at once, not retried; and
// `keyhaven serve` with a "backup" section makes one on SIGUSR2, audits it, and writes its status.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFromShares, openBackup, readHeader } from '../../server/backup/backup-open.js';
import { initBackupKey } from '../../server/backup/backup-key.js';
import { backupDir, runBackupJob, sftpTarget, type BackupEvent } from '../../server/backup/backup-job.js';
import { readBackupStatus } from '../../server/backup/backup-status.js';
import { downloadBackup, generateClientKey, listBackups } from '../../server/backup/sftp-target.js';
import { parseConfig, type Config } from '../../server/config.js';
import { ErrorCodes } from '../../server/errors.js';
import { rootOnly } from '../support/root-only.js';
import { SftpHost } from '../support/sftp-host.js';
import { freePort, runCli, send, startServerProcess, uidOf, writeConfig } from '../store/helpers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createAes } from '../support/requests.js';
import { sleep } from '../support/dev-process.js';

const skip = rootOnly('a network namespace and a real sshd as the backup host');

describe('scheduled backups to a real SFTP host', { skip, timeout: 600_000 }, () => {
  const key = generateClientKey('keyhaven@scheduled-test');
  let host: SftpHost;
  let ts: TestServer;
  let shares: string[];
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-sched-'));

  const config = (over: Partial<NonNullable<Config['backup']>['sftp']> = {}): Config =>
    parseConfig(
      {
        dataDir: ts.dir,
        backup: {
          sftp: { host: host.address, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, timeoutMs: 3000, ...over },
          schedule: { every: 'day', at: '03:00' },
          keep: 2,
          series: 'testsrv',
        },
      },
      'test',
    );

  before(async () => {
    host = await SftpHost.start({ authorizedKey: key.publicKey });
    ts = await startTestServer();
    const c = await ts.client();
    for (let i = 0; i < 5; i++) uidOf(await send(c, [createAes()]));
    c.close();
    mkdirSync(backupDir(ts.dir), { recursive: true, mode: 0o700 });
    writeFileSync(join(backupDir(ts.dir), 'ssh-key'), key.privateKey, { mode: 0o600 });
    shares = (await initBackupKey({ dataDir: ts.dir, masterKeyFile: join(ts.dir, 'master.key'), count: 3, threshold: 2, rekey: false })).shares;
  });

  after(async () => {
    await ts?.stop();
    await host?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test('one job: made while serving, stored, read back, opened with the shares; the spool is empty after', async () => {
    const events: BackupEvent[] = [];
    const e = await runBackupJob({ config: config(), onEvent: (x) => events.push(x) });
    assert.equal(e.kind, 'success', JSON.stringify(e));
    assert.deepEqual(events.map((x) => x.kind), ['success']);
    if (e.kind !== 'success') return;
    assert.match(e.name, /^keyhaven-testsrv-\d{8}T\d{6}Z\.khbak$/);
    assert.deepEqual(host.files(), [e.name]);
    assert.deepEqual(readdirSync(join(backupDir(ts.dir), 'spool')), []);
    const file = join(host.backups, e.name);
    const { key: bk } = await keyFromShares(readHeader(file), shares.slice(1));
    const staging = mkdtempSync(join(work, 'open-'));
    const opened = await openBackup(file, bk, staging);
    assert.equal(opened.contents.objects, 5);
    assert.equal(e.objects, 5);
  });

  test('unreachable: retried after each delay, then reported as a failure with its code', async () => {
    await host.stopSshd();
    try {
      const events: BackupEvent[] = [];
      const waits: number[] = [];
      const e = await runBackupJob({ config: config(), delays: [10, 20], sleep: async (ms) => void waits.push(ms), onEvent: (x) => events.push(x) });
      assert.deepEqual(events.map((x) => x.kind), ['retry', 'retry', 'failure']);
      assert.deepEqual(waits, [10, 20]);
      assert.equal(e.kind === 'failure' && e.code, ErrorCodes.BACKUP_HOST_UNREACHABLE);
      assert.deepEqual(readdirSync(join(backupDir(ts.dir), 'spool')), [], 'no local copy left behind');
    } finally {
      await host.startSshd();
    }
  });

  test('the host comes back during the wait: the retry stores the same backup', async () => {
    await host.stopSshd();
    const events: BackupEvent[] = [];
    const e = await runBackupJob({
      config: config(),
      delays: [10, 10],
      sleep: async () => {
        await host.startSshd();
      },
      onEvent: (x) => events.push(x),
    });
    assert.deepEqual(events.map((x) => x.kind), ['retry', 'success']);
    assert.equal(e.kind === 'success' && e.attempt, 2);
    // keep: 2 of the series.
    assert.equal(host.files().filter((f) => f.startsWith('keyhaven-testsrv-')).length, 2);
  });

  test('the host\'s disk full: reported as a transfer failure, and no partial file kept under a backup name', async () => {
    const before = host.files();
    const uid = Number(execFileSync('id', ['-u', host.username], { encoding: 'utf8' }).trim());
    // A 64 KiB file system over the account's directory, where sshd sees it: the backup (about 100 KiB) cannot fit.
    host.inSshdMounts(['mount', '-t', 'tmpfs', '-o', `size=64k,mode=0755,uid=${uid}`, 'tmpfs', host.backups]);
    try {
      const events: BackupEvent[] = [];
      const e = await runBackupJob({ config: config(), delays: [], onEvent: (x) => events.push(x) });
      assert.deepEqual(events.map((x) => x.kind), ['failure']);
      assert.equal(e.kind === 'failure' && e.code, ErrorCodes.BACKUP_TRANSFER);
      assert.match(e.kind === 'failure' ? e.reason : '', /full disk or a quota/);
      assert.deepEqual(await listBackups(sftpTarget(config(), config().backup!)), [], 'nothing under a backup name on the full disk');
      assert.equal(host.inSshdMounts(['ls', '-A', host.backups]).trim(), '', 'the partial upload was removed');
    } finally {
      host.inSshdMounts(['umount', host.backups]);
    }
    assert.deepEqual(host.files(), before);
  });

  test('backup and restore through the host: fetched, restored onto a new directory, checked', async () => {
    const e = await runBackupJob({ config: config(), onEvent: () => {} });
    assert.equal(e.kind, 'success');
    if (e.kind !== 'success') return;
    const listed = await listBackups(sftpTarget(config(), config().backup!));
    assert.equal(listed[0]?.name, e.name, 'the newest backup on the host is this one');
    const local = join(work, 'fetched.khbak');
    const got = await downloadBackup(sftpTarget(config(), config().backup!), e.name, local);
    assert.equal(got.sha256, e.sha256);
    const dir = join(work, 'from-host');
    const r = await runCli(['backup', 'restore', '--file', local, '--data-dir', dir], 120_000, shares.slice(0, 2).join('\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /objects: +5 /);
    assert.equal((await runCli(['store', 'check', '--data-dir', dir])).code, 0);
  });

  test('another host key pinned: reported at once, not retried, nothing stored', async () => {
    const before = host.files();
    const events: BackupEvent[] = [];
    const e = await runBackupJob({ config: config({ hostKeySha256: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s' }), delays: [10], sleep: async () => undefined, onEvent: (x) => events.push(x) });
    assert.deepEqual(events.map((x) => x.kind), ['failure']);
    assert.equal(e.kind === 'failure' && e.code, ErrorCodes.BACKUP_HOST_KEY);
    assert.deepEqual(host.files(), before);
  });

  test('keyhaven serve: SIGUSR2 makes a backup now; it is audited and in the status', async () => {
    // A server of its own on a copy of nothing: the test server's directory is in use by it.
    const dir = join(work, 'served');
    const port = await freePort();
    const cfgFile = writeConfig(join(work, 'served.json'), dir, port, {
      backup: { sftp: { host: host.address, username: host.username, directory: 'backups', hostKeySha256: host.hostKeyFingerprint, timeoutMs: 5000 }, schedule: { every: 'week', day: 0, at: '04:00' }, keep: 5, series: 'served' },
    });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { ensureDevPki } = await import('../../server/pki/index.js');
    await ensureDevPki(dir, { bits: 2048 });
    const server = await startServerProcess(cfgFile, 60_000);
    try {
      mkdirSync(backupDir(dir), { recursive: true, mode: 0o700 });
      writeFileSync(join(backupDir(dir), 'ssh-key'), key.privateKey, { mode: 0o600 });
      const init = await runCli(['backup', 'init', '--config', cfgFile]);
      assert.equal(init.code, 0, init.stderr);
      const servedShares = init.stdout.trim().split('\n').slice(0, 2).join('\n');
      const before = readBackupStatus(dir);
      assert.ok(before?.nextRun, 'the status names the next run');
      assert.equal(new Date(before.nextRun).getDay(), 0);
      server.child.kill('SIGUSR2');
      let status = readBackupStatus(dir);
      for (let i = 0; i < 300 && !status?.lastSuccess; i++) {
        await sleep(100);
        status = readBackupStatus(dir);
      }
      assert.ok(status?.lastSuccess, `no backup within 30 s: ${JSON.stringify(status)}`);
      assert.ok(host.files().includes(status.lastSuccess.name));
      const tail = await runCli(['audit', 'tail', '--config', cfgFile, '-n', '5']);
      assert.match(tail.stdout, new RegExp(`Backup Created.*${status.lastSuccess.name.replace(/\./g, '\\.')} stored on the backup host and read back`));
      // Listed and fetched through the command line, then verified.
      const listed = await runCli(['backup', 'list', '--config', cfgFile]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^${status.lastSuccess.name.replace(/\./g, '\\.')}\t${status.lastSuccess.size}\t`, 'm'));
      const fetched = join(work, 'fetched-cli.khbak');
      const f = await runCli(['backup', 'fetch', '--config', cfgFile, '--name', status.lastSuccess.name, '--out', fetched]);
      assert.equal(f.code, 0, f.stderr);
      assert.match(f.stdout, new RegExp(`sha256 ${status.lastSuccess.sha256}`));
      const verified = await runCli(['backup', 'verify', '--file', fetched], 120_000, servedShares);
      assert.equal(verified.code, 0, verified.stderr);
      const shown = await runCli(['backup', 'status', '--config', cfgFile]);
      assert.equal(shown.code, 0);
      assert.match(shown.stdout, /schedule: +weekly on Sunday at 04:00/);
      assert.match(shown.stdout, new RegExp(`last success: .*${status.lastSuccess.name.replace(/\./g, '\\.')}`));
      // The host gone: SIGUSR2 again; the failed attempt is audited and the status says why and when it retries.
      await host.stopSshd();
      server.child.kill('SIGUSR2');
      for (let i = 0; i < 300 && !readBackupStatus(dir)?.lastFailure; i++) await sleep(100);
      const failed = readBackupStatus(dir)!;
      assert.equal(failed.lastFailure?.code, ErrorCodes.BACKUP_HOST_UNREACHABLE);
      assert.ok(failed.retryAt, 'a retry is planned');
      const tail2 = await runCli(['audit', 'tail', '--config', cfgFile, '-n', '5']);
      assert.match(tail2.stdout, /Backup Retry.*attempt 1: .*KH_BACKUP_HOST_UNREACHABLE.*retrying in 60 s/);
    } finally {
      await host.startSshd();
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
