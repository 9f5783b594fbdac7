// The key server's second public entry, beside server/index.ts: running the server, and opening its
// store (database, master key, audit log) as the server does. It loads the whole server (KMIP
// operations, the store, the logger), so the image side imports it only where it runs or opens the
// store: the data worker's store operations (appliance/admin/data-worker.ts, loaded when one runs)
// and tests. .dependency-cruiser.cjs allows the image side these two entries and nothing else.
export { startServer, openStore, PRODUCT, type RunningServer } from './server.js';
// Mirroring commands that open the store: a join token, joining a group, removing a member
export { issueJoinToken, joinGroup, removeMember } from './mirror-cli.js';
export { JOIN_TOKEN_TTL_MS } from './mirror/join.js';
// Backups (the appliance's data worker runs them as the data directory's owner)
export { initBackupKey, backupKeyInfo } from './backup/backup-key.js';
export { restoreBackup } from './backup/restore.js';
export { readHeader, keyFromShares, openBackup } from './backup/backup-open.js';
export { checkBackupName, generateClientKey, listBackups, downloadBackup, uploadBackup, type SftpTarget, type RemoteBackup } from './backup/sftp-target.js';
export { createBackup } from './backup/backup-create.js';
export { readBackupStatus, describeBackupStatus } from './backup/backup-status.js';
export { backupDir, backupName } from './backup/backup-job.js';
