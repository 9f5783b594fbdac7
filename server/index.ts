// The key server's one public entry: what the image side (appliance/, firewall/, ova/, packer/) and
// its tests may use. Everything else under server/ is internal and may change without notice;
// `npm test` (.dependency-cruiser.cjs) refuses an image-side import of anything but this file.

// Configuration and its files
export { parseConfig, loadConfig, resolvePaths, type Config, type ResolvedPaths } from './config.js';
// Errors: the server's codes (the core's are in lib/errors.ts)
export { ErrorCodes, ServerCodes, KeyhavenError, KmipError, type ErrorCode } from './errors.js';
// Running the server, and opening its store (database, master key, audit log) as the server does
export { startServer, openStore, PRODUCT, type RunningServer } from './server.js';
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
// The command line (the appliance's `keyhaven` extends the table)
export { serverCommands, runCli } from './cli.js';
// KMIP tag and enumeration values, for clients
export { Enum, Tag } from './kmip/tables.js';
