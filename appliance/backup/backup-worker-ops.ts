// The data worker's backup operations (admin/data-worker.ts), run as the data directory's owner: the
// appliance's SSH key for the backup host, the backup key and its shares, the scheduler's status, and
// listing, verifying and restoring backups on the backup host. Shares arrive as parameters (the
// helper's socket, the worker's stdin), never as arguments, and are never written anywhere.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { KeyhavenError, parseConfig, resolvePaths, ServerCodes } from '../../server/index.js';
import { absolute, count, iso, op, READ_MS, text } from '../admin/worker-op.js';

/** Where the appliance keeps its SSH key for the backup host (backup-settings.ts privateKeyFile). */
const sshKeyFile = (dataDir: string) => join(dataDir, 'backup', 'ssh-key');
/** Fetching and opening a backup: within the helper's own limit (keyhaven-admin@.service RuntimeMaxSec=300). */
const REMOTE_MS = 280_000;
const MAX_SHARES = 16;

/** The backup host as the settings hold it (the worker checks it again through the SFTP client). */
const target = z.object({ host: z.string().max(64), username: z.string().max(32), directory: z.string().max(255), hostKeySha256: z.string().max(100) }).strict();
const shares = z.array(z.string().max(200)).min(1).max(MAX_SHARES);
const remoteName = z.string().max(200);
const publicKey = z.string().max(200).regex(/^ssh-ed25519 [A-Za-z0-9+/=]+ [\x21-\x7e]{1,100}$/, 'is not an ed25519 public key line');
const contents = z
  .object({
    objects: count,
    byType: z.record(text(64), count),
    byState: z.record(text(64), count),
    auditRecords: count,
    firstAudit: text(64).nullable(),
    lastAudit: text(64).nullable(),
    mirror: z.object({ node: text(64), group: text(64), members: count }).strict().nullable(),
    certificates: count,
  })
  .strip();
const opened = z.object({ name: text(200), made: iso, host: text(253), keyhaven: text(64), generation: count, files: count, contents }).strict();
const keyInfo = z.object({ generation: count, threshold: count, count, created: iso, check: z.string().regex(/^[0-9a-f]{16}$/) }).strict();
/** server/backup/backup-scheduler.ts BackupStatus, checked field by field; unknown fields dropped. */
const status = z
  .object({
    schedule: text(200),
    series: text(64),
    running: z.boolean(),
    nextRun: text(64).nullable(),
    lastSuccess: z.object({ at: text(64), name: text(200), size: count, sha256: text(64), durationMs: count, objects: count }).strip().optional(),
    lastFailure: z.object({ at: text(64), code: text(64), reason: text(2000), attempt: count }).strip().optional(),
    retryAt: text(64).optional(),
    updatedAt: text(64),
  })
  .strip();
export type BackupStatusResult = z.output<typeof status>;
export type BackupContentsResult = z.output<typeof contents>;
export type OpenedBackupResult = z.output<typeof opened>;

async function sftpTarget(dataDir: string, t: z.output<typeof target>) {
  const file = sshKeyFile(dataDir);
  if (!existsSync(file)) {
    throw new KeyhavenError(ServerCodes.BACKUP_BAD_INPUT, 'the appliance has no SSH key for the backup host yet: create it (Backups → SSH key for the backup host) and install its public key there');
  }
  return { host: t.host, port: 22, username: t.username, directory: t.directory, hostKeySha256: t.hostKeySha256, privateKey: readFileSync(file), timeoutMs: 30_000 };
}

/** Fetches `name` into a private directory under DATA/backup and runs `fn` on it; the copy is always removed. */
async function withFetched<T>(dataDir: string, t: z.output<typeof target>, name: string, fn: (file: string) => Promise<T>): Promise<T> {
  const run = await import('../../server/run.js');
  const where = join(run.backupDir(dataDir), 'fetched');
  mkdirSync(where, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(where, 'f-'));
  try {
    const file = join(dir, run.checkBackupName(name));
    await run.downloadBackup(await sftpTarget(dataDir, t), name, file);
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const openedOf = (name: string, b: { manifest: { created: string; source: { host: string }; keyhaven: string; entries: unknown[] }; header: { generation: number }; contents: z.input<typeof contents> }) => ({
  name,
  made: b.manifest.created,
  host: b.manifest.source.host,
  keyhaven: b.manifest.keyhaven,
  generation: b.header.generation,
  files: b.manifest.entries.length,
  contents: b.contents,
});

export const BACKUP_WORKER_OPS = {
  /** The appliance's ed25519 key for the backup host, made on first use; its public half to install there. */
  'backup.ssh-key': op({
    params: z.object({ create: z.boolean() }).strict(),
    result: z.object({ publicKey: publicKey.nullable(), created: z.boolean() }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      const file = sshKeyFile(dataDir);
      const pub = `${file}.pub`;
      if (existsSync(file) && existsSync(pub)) return { publicKey: readFileSync(pub, 'utf8').trim(), created: false };
      if (!p.create) return { publicKey: null, created: false };
      const { generateClientKey } = await import('../../server/run.js');
      const pair = generateClientKey(`keyhaven-backup@${hostname().replace(/[^\x21-\x7e]/g, '') || 'keyhaven'}`);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${randomBytes(4).toString('hex')}`;
      writeFileSync(temp, pair.privateKey, { mode: 0o600 });
      writeFileSync(pub, `${pair.publicKey}\n`, { mode: 0o644 });
      // The private key last (by rename): a key without its public half is never left.
      renameSync(temp, file);
      chmodSync(file, 0o600);
      return { publicKey: pair.publicKey, created: true };
    },
  }),
  /** Makes the backup key (or its next generation): the shares are in this answer only. */
  'backup.key-init': op({
    params: z.object({ count: z.number().int().min(2).max(MAX_SHARES), threshold: z.number().int().min(2).max(MAX_SHARES), rekey: z.boolean() }).strict(),
    result: keyInfo.extend({ shares: z.array(z.string().max(200).regex(/^KHS1-[0-9A-Za-z-]+$/)).min(2).max(MAX_SHARES) }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      const { initBackupKey } = await import('../../server/run.js');
      const { info, shares: lines } = await initBackupKey({ dataDir, masterKeyFile: resolvePaths(parseConfig({ dataDir }, 'the data directory')).masterKey, count: p.count, threshold: p.threshold, rekey: p.rekey });
      return { ...info, shares: lines };
    },
  }),
  /** The backup key's generation, the scheduler's status and the SSH key, as the menu shows them. */
  'backup.state': op({
    params: z.object({}).strict(),
    result: z.object({ key: keyInfo.nullable(), status: status.nullable(), publicKey: publicKey.nullable() }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir) {
      const { backupKeyInfo, readBackupStatus } = await import('../../server/run.js');
      const pub = `${sshKeyFile(dataDir)}.pub`;
      return { key: backupKeyInfo(dataDir) ?? null, status: readBackupStatus(dataDir) ?? null, publicKey: existsSync(pub) ? readFileSync(pub, 'utf8').trim() : null };
    },
  }),
  'backup.list': op({
    params: z.object({ target }).strict(),
    result: z.array(z.object({ name: text(200), size: count, modified: iso }).strict()).max(10_000),
    timeoutMs: 120_000,
    async run(dataDir, p) {
      const { listBackups } = await import('../../server/run.js');
      return (await listBackups(await sftpTarget(dataDir, p.target))).map((b) => ({ name: b.name, size: b.size, modified: b.modified.toISOString() }));
    },
  }),
  /** Fetches a backup and checks it whole with the shares, touching no live store. */
  'backup.verify': op({
    params: z.object({ target, name: remoteName, shares }).strict(),
    result: opened.extend({ auditVerified: count }).strict(),
    timeoutMs: REMOTE_MS,
    run: (dataDir, p) =>
      withFetched(dataDir, p.target, p.name, async (file) => {
        const { readHeader, keyFromShares, openBackup } = await import('../../server/run.js');
        const { key } = await keyFromShares(readHeader(file), p.shares);
        const staging = mkdtempSync(join(dirname(file), 'open-'));
        try {
          const b = await openBackup(file, key, staging);
          return { ...openedOf(p.name, b), auditVerified: b.auditVerified };
        } finally {
          key.fill(0);
          rmSync(staging, { recursive: true, force: true });
        }
      }),
  }),
  /**
   * Fetches a backup and restores it into this data directory (server/backup/restore.ts): onto an
   * empty one (first boot), or with `replace` over the stopped key server's store, kept aside. The
   * appliance's files the backup carries come back in the answer, for root to put in place.
   */
  'backup.restore': op({
    params: z.object({ target, name: remoteName, shares, replace: z.boolean(), anchorFile: absolute, who: z.string().max(300) }).strict(),
    result: opened
      .extend({
        auditSeq: count,
        replacedInto: text(4096).optional(),
        appliance: z.object({ settings: z.string().max(256 * 1024).optional(), adminAuditBase64: z.string().max(6 * 1024 * 1024).regex(/^[A-Za-z0-9+/=]*$/).optional() }).strict(),
      })
      .strict(),
    timeoutMs: REMOTE_MS,
    run: (dataDir, p) =>
      withFetched(dataDir, p.target, p.name, async (file) => {
        const { restoreBackup } = await import('../../server/run.js');
        mkdirSync(dirname(p.anchorFile), { recursive: true, mode: 0o700 });
        const config = parseConfig({ dataDir, store: { anchorFile: p.anchorFile } }, 'the data directory');
        const r = await restoreBackup({ file, shares: async () => p.shares, config, who: p.who, replace: p.replace });
        const extra = (n: string) => (r.extrasInto && existsSync(join(r.extrasInto, n)) ? readFileSync(join(r.extrasInto, n)) : undefined);
        const settings = extra('appliance.json');
        const adminAudit = extra('admin-audit.db');
        return {
          ...openedOf(p.name, { manifest: r.manifest, header: { generation: r.manifest.generation }, contents: r.contents }),
          auditSeq: r.auditSeq,
          ...(r.replacedInto ? { replacedInto: r.replacedInto } : {}),
          appliance: { ...(settings ? { settings: settings.toString('utf8') } : {}), ...(adminAudit ? { adminAuditBase64: adminAudit.toString('base64') } : {}) },
        };
      }),
  }),
};
