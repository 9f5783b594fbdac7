// The key server's public entry: what the image side (appliance/, firewall/, ova/, packer/) and its
// tests may use, kept light: the admin menu, the admin helper and its data worker load it at every
// start, so it never loads the running server (KMIP operations, the key store, the logger). Those
// are the second entry, server/run.ts, for what runs or opens the store. Everything else under
// server/ is internal and may change without notice; `npm test` (.dependency-cruiser.cjs) refuses
// an image-side import of anything but these two files.

// Configuration and its files
export { parseConfig, loadConfig, resolvePaths, type Config, type ResolvedPaths } from './config.js';
// The key server warns the SIEM this many days before its certificate expires (the menu says RENEW SOON from then)
export { EXPIRY_WARNING_DAYS as SERVER_CERTIFICATE_WARNING_DAYS } from './net/server-certificate.js';
// Errors: the server's codes (the core's are in lib/errors.ts)
export { ErrorCodes, ServerCodes, KeyhavenError, KmipError, type ErrorCode } from './errors.js';
// The database and master key files (the appliance's administration log is kept like the audit log)
export { openDatabase, type Db } from './store/database.js';
export { loadMasterKey, MASTER_KEY_BYTES } from './store/master-key.js';
// Audit log and syslog forwarding
export { AuditLog, type AuditEntry, type AuditRecord, type VerifyResult } from './audit/audit-log.js';
export { SyslogForwarder } from './audit/syslog-forwarder.js';
// The CA and certificates
export * from './pki/index.js';
export { readIndex } from './pki/store.js';
export { newAttribute, OID } from './pki/subject.js';
export { checkClientName, checkDnsName, checkDnValue } from './pki/validate.js';
// Mirroring: the join token's contents (the wizard shows its CA fingerprint before joining) and the
// status the running server writes (read without a connection); joining and removing open the
// store, so they are in server/run.ts
export { parseJoinToken, joinAddress, splitAddress, type JoinToken } from './mirror/join-token.js';
export { readMirrorStatus, mirrorStatusPath, type MirrorStatus, type PeerStatus } from './mirror/status-file.js';
// The command line (the appliance's `keyhaven` extends the table); its commands load the server when run
export { serverCommands, runCli } from './cli.js';
// KMIP tag and enumeration values, for clients
export { Enum, Tag } from './kmip/tables.js';
// Backups: what the appliance's settings, menu and wizard check and show (the work is in server/run.ts)
export { parseFingerprint } from './backup/host-key-fingerprint.js';
export { scheduleSchema, describeSchedule, nextRun, type BackupSchedule } from './backup/schedule.js';
export type { BackupStatus } from './backup/backup-scheduler.js';
export { parseShare } from './backup/shares.js';
