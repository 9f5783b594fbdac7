// `keyhaven backup …`: the backup file's contract for people and other tools (README "Backups").
// Shares are read from standard input, one per line, never from arguments (arguments are visible to
// every user in the process list); `init` prints them on standard output, one per line, and
// nothing else there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readInput, usageError, type CliIo } from '../lib/cli.js';
import { resolvePaths, type Config } from './config.js';
import type { BackupContents } from './backup/backup-archive.js';

type ConfigFrom = (v: { config?: string | undefined; 'data-dir'?: string | undefined }) => Config;

export const BACKUP_USAGE = `backup init (--config FILE | --data-dir DIR) [--shares N] [--threshold M] [--rekey]
                             make the backup key (or, with --rekey, its next generation) and
                             print its M-of-N custodian shares (default 2 of 3), one per line
backup create (--config FILE | --data-dir DIR) --out FILE
                             an encrypted backup of the store, audit log, PKI and mirroring
                             state, taken while the server runs
backup verify --file FILE [--work-dir DIR]
                             decrypt with the shares on standard input and check everything in
                             it, without touching any store; exit 0 only for an intact backup
                             (it unpacks into DIR, default the system's temporary directory)
backup restore --file FILE (--config FILE | --data-dir DIR) [--replace]
                             restore onto a data directory without a key store (shares on
                             standard input); then start the server on it. --replace: over the
                             store there (the server stopped), which is kept in DIR/.replaced-<time>/
backup list --config FILE    the backups of every server on the configured backup host, newest first
backup fetch --config FILE --name NAME --out FILE
                             fetch one from the backup host (then verify or restore it)
backup status (--config FILE | --data-dir DIR) [--json]
                             scheduled backups: last success, last failure and why, next run
                             (a running \`serve\` makes one now on SIGUSR2)`;

function who(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return 'the operator';
  }
}

async function readShares(io: CliIo): Promise<string[]> {
  const stdin = io.stdin ?? process.stdin;
  if ((stdin as { isTTY?: boolean }).isTTY) io.stderr.write('Type the custodians\' shares, one per line, then Ctrl-D:\n');
  return (await readInput(io)).toString('utf8').split(/\r?\n/);
}

function listing(c: BackupContents): string {
  const by = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `  objects:        ${c.objects} (${by(c.byType)}; ${by(c.byState)})`,
    `  audit records:  ${c.auditRecords}${c.firstAudit ? ` (${c.firstAudit} to ${c.lastAudit})` : ''}`,
    `  certificates:   ${c.certificates} issued`,
    `  mirroring:      ${c.mirror ? `server ${c.mirror.node} of group ${c.mirror.group}, ${c.mirror.members} members` : 'not in a mirror group'}`,
  ].join('\n');
}

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,3}$/.test(value)) throw usageError(`--${name} ${value} is not a whole number`);
  return Number(value);
}

export async function backupCommand(args: string[], io: CliIo, configFrom: ConfigFrom): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' }, 'data-dir': { type: 'string' }, out: { type: 'string' }, file: { type: 'string' },
      shares: { type: 'string' }, threshold: { type: 'string' }, rekey: { type: 'boolean' }, json: { type: 'boolean' }, name: { type: 'string' }, replace: { type: 'boolean' }, 'work-dir': { type: 'string' },
    },
  });
  // Nothing a backup command writes (staging copies, the key file, restored files) is for others.
  process.umask(0o077);
  if (sub === 'init') {
    const config = configFrom(values);
    const { initBackupKey } = await import('./backup/backup-key.js');
    const { info, shares } = await initBackupKey({
      dataDir: config.dataDir, masterKeyFile: resolvePaths(config).masterKey,
      count: count('shares', values.shares, 3), threshold: count('threshold', values.threshold, 2), rekey: values.rekey ?? false,
    });
    io.stderr.write(
      `Backup key generation ${info.generation} made (check value ${info.check}). Its ${info.count} shares follow, one per line; any ${info.threshold} rebuild it.\n` +
        'Give each to a different custodian now: they are not stored anywhere and are never shown again.\n',
    );
    io.stdout.write(shares.map((s) => `${s}\n`).join(''));
    return 0;
  }
  if (sub === 'create') {
    if (!values.out) throw usageError('backup create needs --out FILE');
    const config = configFrom(values);
    const { createBackup } = await import('./backup/backup-create.js');
    const b = await createBackup({ config, out: values.out });
    io.stdout.write(
      `backup written: ${b.file}\n  size:           ${b.size} bytes\n  sha256:         ${b.sha256}\n  generation:     ${b.generation} (its shares open it)\n${listing(b.manifest.contents)}\n`,
    );
    return 0;
  }
  if (sub === 'verify') {
    if (!values.file) throw usageError('backup verify needs --file FILE');
    const [{ readHeader, keyFromShares, openBackup }] = await Promise.all([import('./backup/backup-open.js')]);
    const file = resolve(values.file);
    const header = readHeader(file);
    const { key } = await keyFromShares(header, await readShares(io));
    const staging = mkdtempSync(join(values['work-dir'] ? resolve(values['work-dir']) : tmpdir(), 'keyhaven-verify-'));
    try {
      const b = await openBackup(file, key, staging);
      io.stdout.write(
        `backup intact: ${file}\n  made:           ${b.manifest.created} on ${b.manifest.source.host} by Keyhaven ${b.manifest.keyhaven}\n` +
          `  generation:     ${b.header.generation}\n  files:          ${b.manifest.entries.length}, each matching its SHA-256\n` +
          `${listing(b.contents)}\n  audit chain:    ${b.auditVerified} records verified; the object rows match their sealed digest\n`,
      );
      return 0;
    } finally {
      key.fill(0);
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (sub === 'restore') {
    if (!values.file) throw usageError('backup restore needs --file FILE');
    const config = configFrom(values);
    const { restoreBackup } = await import('./backup/restore.js');
    const r = await restoreBackup({ file: values.file, shares: () => readShares(io), config, who: who(), replace: values.replace ?? false });
    io.stdout.write(
      `${r.resumed ? 'finished the interrupted restore' : 'restored'} into ${config.dataDir} from ${resolve(values.file)} (made ${r.manifest.created})\n${listing(r.contents)}\n` +
        `  audit record ${r.auditSeq} records the restore${r.mirrorLog ? `; mirroring starts a new change log (${r.mirrorLog})` : ''}\n` +
        (r.replacedInto ? `  the store that was there is kept in ${r.replacedInto}\n` : '') +
        `Start the server on it: keyhaven dev --data-dir ${config.dataDir}, or serve with its configuration.\n`,
    );
    return 0;
  }
  if (sub === 'list' || sub === 'fetch') {
    const config = configFrom(values);
    if (!config.backup) throw usageError(`the configuration has no "backup" section: nothing says where the backup host is`);
    const [{ sftpTarget }, sftp] = await Promise.all([import('./backup/backup-job.js'), import('./backup/sftp-target.js')]);
    const target = sftpTarget(config, config.backup);
    if (sub === 'list') {
      const all = await sftp.listBackups(target);
      io.stdout.write(all.map((b) => `${b.name}\t${b.size}\t${b.modified.toISOString()}\n`).join('') || '');
      if (all.length === 0) io.stderr.write(`no backups in ${config.backup.sftp.directory} on ${config.backup.sftp.host}\n`);
      return 0;
    }
    if (!values.name || !values.out) throw usageError('backup fetch needs --name NAME and --out FILE');
    const got = await sftp.downloadBackup(target, values.name, resolve(values.out));
    io.stdout.write(`fetched ${values.name}: ${got.size} bytes, sha256 ${got.sha256}\n`);
    return 0;
  }
  if (sub === 'status') {
    const config = configFrom(values);
    const { readBackupStatus, describeBackupStatus } = await import('./backup/backup-status.js');
    const s = readBackupStatus(config.dataDir);
    if (!s) {
      io.stderr.write(`no backup status in ${config.dataDir}: scheduled backups have not run there (configure the "backup" section and start the server)\n`);
      return 3;
    }
    io.stdout.write(values.json ? `${JSON.stringify(s)}\n` : describeBackupStatus(s));
    return 0;
  }
  throw usageError(`unknown backup command "${sub ?? ''}"`);
}
