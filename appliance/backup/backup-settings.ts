// The appliance's backup settings (appliance.json "backup"; the host is network.backupHost, the one
// address the firewall lets SFTP out to) and what they become in the key server's configuration,
// whose scheduler makes the backups (server/backup/backup-scheduler.ts). A backup also carries the
// appliance's settings and a copy of its administration log (APPLIANCE_BACKUP_FILES).
import { z } from 'zod';
import { parseFingerprint, scheduleSchema } from '../../server/index.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';

/** The SFTP account: a POSIX user name. */
const username = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'must be an account name on the backup host (lower-case letters, digits, ".", "_", "-"; at most 32)');
/** Relative to the account's (chroot) directory; no "..". */
const directory = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9._/-]+$/, 'must be a directory such as "backups" or "." (letters, digits, ".", "_", "-", "/")')
  .refine((d) => !d.split('/').includes('..'), 'must not contain ".."');
const fingerprint = z.string().transform((f, ctx) => {
  try {
    return parseFingerprint(f);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
    return z.NEVER;
  }
});

export const backupSettingsSchema = z
  .object({
    username,
    directory: directory.default('.'),
    /** The backup host's SSH host key, SHA-256 as `ssh-keygen -lf` prints it: pinned, never learnt. */
    hostKeySha256: fingerprint,
    schedule: scheduleSchema.default({ every: 'day', at: '02:00' }),
    /** Backups of this appliance kept on the host. */
    keep: z.number().int().min(1).max(1000).default(14),
  })
  .strict();

export type BackupSettings = z.output<typeof backupSettingsSchema>;

/** Where the administration log's copy for backups is (admin-audit.ts copyForBackup): readable by the key server. */
export const ADMIN_AUDIT_COPY = '/var/lib/keyhaven-appliance/backup-copy/admin-audit.db';

/** The appliance's files in every backup: name in the backup -> path (restore puts them in DATA/backup/restored-<time>/). */
export const APPLIANCE_BACKUP_FILES = {
  'appliance.json': '/etc/keyhaven/appliance.json',
  'admin-audit.db': ADMIN_AUDIT_COPY,
} as const;

/** The appliance's backups are one series per host name (what names them on the backup host). */
export function backupSeries(hostname: string): string {
  return hostname.replace(/[^0-9A-Za-z.]/g, '').slice(0, 40) || 'keyhaven';
}

/** The key server's "backup" section (server/config.ts), or undefined while backups are not set up. */
export function serverBackupConfig(s: { hostname: string; network: { backupHost?: string | undefined }; backup?: BackupSettings | undefined }): Record<string, unknown> | undefined {
  if (!s.backup || s.network.backupHost === undefined) return undefined;
  return {
    sftp: { host: s.network.backupHost, port: 22, username: s.backup.username, directory: s.backup.directory, hostKeySha256: s.backup.hostKeySha256, privateKeyFile: 'backup/ssh-key' },
    schedule: s.backup.schedule,
    keep: s.backup.keep,
    series: backupSeries(s.hostname),
    include: APPLIANCE_BACKUP_FILES,
  };
}

/** The backup host as the data worker's backup operations take it; refused while backups are not set up. */
export function backupTarget(s: { network: { backupHost?: string | undefined }; backup?: BackupSettings | undefined }): { host: string; username: string; directory: string; hostKeySha256: string } {
  if (!s.backup || s.network.backupHost === undefined) {
    throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, 'no backup host is set up: set it first (Backups → Backup host and schedule)');
  }
  return { host: s.network.backupHost, username: s.backup.username, directory: s.backup.directory, hostKeySha256: s.backup.hostKeySha256 };
}
