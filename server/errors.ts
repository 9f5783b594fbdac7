// The key server's error codes (the codec's are in server/kmip/errors.ts, the shared core's in
// lib/errors.ts; the image side owns its own). Messages say what went wrong and what to do. An
// error that is not a KmipError ends a KMIP request with General Failure: a KeyhavenError's message
// (written for whoever reads it) is the Result Message, anything else is told as "an internal error"
// with the details in the server log (server/ops/pipeline/execute-batch.ts).
import { CoreCodes, defineCodes } from '../lib/errors.js';
import { KmipCodes } from './kmip/errors.js';

export { KeyhavenError, type ErrorCode } from '../lib/errors.js';
export { KmipError, TtlvError } from './kmip/errors.js';

const failure = (doc: string) => ({ userFault: false, doc });
const refused = (doc: string) => ({ userFault: true, doc });

export const ServerCodes = defineCodes({
  // Key store and master key
  STORE_MASTER_KEY: { code: 'KH_STORE_MASTER_KEY', ...failure('The master key file is missing, unreadable, of the wrong size or too widely readable.') },
  STORE_UNWRAP_FAILED: { code: 'KH_STORE_UNWRAP_FAILED', ...failure('A stored key cannot be unwrapped with the master key: the wrong master key, or the store was altered.') },
  STORE_CORRUPT: { code: 'KH_STORE_CORRUPT', ...failure('The key store database is not what this server wrote (unreadable rows, unknown schema).') },
  STORE_MISSING: { code: 'KH_STORE_MISSING', ...failure('No key store at the configured path: the server creates it when it first starts; check --data-dir or dataDir.') },
  // Rollback detection (server/store/rollback-guard.ts)
  STORE_ROLLBACK: { code: 'KH_STORE_ROLLBACK', ...failure('The key store is older than its rollback anchor, or was changed outside Keyhaven; see `keyhaven store check`.') },
  STORE_ANCHOR: { code: 'KH_STORE_ANCHOR', ...failure('The rollback anchor file cannot be read or written.') },
  // Audit
  AUDIT_SYSLOG_INVALID: { code: 'KH_AUDIT_SYSLOG_INVALID', ...refused('The syslog forwarding settings are invalid (host, port, transport or CA).') },
  // PKI
  PKI_NOT_INITIALISED: { code: 'KH_PKI_NOT_INITIALISED', ...refused('There is no CA yet: run `keyhaven pki init` first.') },
  PKI_ALREADY_EXISTS: { code: 'KH_PKI_ALREADY_EXISTS', ...refused('The CA or certificate exists already; give --force (or --reissue) to replace it.') },
  PKI_BAD_CSR: { code: 'KH_PKI_BAD_CSR', ...refused('A certificate signing request cannot be read, its signature is wrong, or it asks for what is not allowed.') },
  PKI_BAD_INPUT: { code: 'KH_PKI_BAD_INPUT', ...refused('A PKI parameter is invalid (name, days, key size, DNS name, address, revocation reason).') },
  PKI_UNKNOWN_CERTIFICATE: { code: 'KH_PKI_UNKNOWN_CERTIFICATE', ...refused('No issued certificate has that name or serial number.') },
  PKI_LOCKED: { code: 'KH_PKI_LOCKED', ...refused('Another process is changing the PKI; try again when it has finished.') },
  PKI_CORRUPT: { code: 'KH_PKI_CORRUPT', ...failure('A PKI file (CA, key, index, CRL, server certificate) is damaged or does not match the others.') },
  PKI_CLIENT_REJECTED: { code: 'KH_PKI_CLIENT_REJECTED', ...refused("A client's TLS certificate is refused (revoked, expired, not issued by this CA, or without clientAuth).") },
  PKI_SUBJECT_IN_USE: { code: 'KH_PKI_SUBJECT_IN_USE', ...refused("A valid certificate already has this subject (the client's identity): give --reissue to replace it.") },
  // Mirroring (server/mirror/)
  MIRROR_PROTOCOL: { code: 'KH_MIRROR_PROTOCOL', ...refused('A mirroring peer sent what this server cannot understand (another protocol version, or malformed data); the link is closed.') },
  MIRROR_JOIN_REFUSED: { code: 'KH_MIRROR_JOIN_REFUSED', ...refused('Joining a mirror group was refused: the join token is wrong, used or expired, or the CA fingerprint does not match; make a new token on a member.') },
  MIRROR_NOT_ENABLED: { code: 'KH_MIRROR_NOT_ENABLED', ...refused('This server is not in a mirror group: start it with a mirror port (keyhaven dev --mirror-port) first.') },
  MIRROR_NO_PEER: { code: 'KH_MIRROR_NO_PEER', ...failure('Strict mirroring: no peer confirmed a new object in time, so the request was not acknowledged (the object is stored here and mirrored once a peer answers).') },
  MIRROR_STATE: { code: 'KH_MIRROR_STATE', ...failure("This server's mirroring state (group, member list, change log) is damaged or contradicts itself.") },
  // Backups (server/backup/)
  BACKUP_BAD_INPUT: { code: 'KH_BACKUP_BAD_INPUT', ...refused('A backup parameter is invalid (share count, threshold, file name, host, fingerprint, schedule).') },
  BACKUP_NO_KEY: { code: 'KH_BACKUP_NO_KEY', ...refused('This server has no backup key yet: run `keyhaven backup init` (or the menu\'s Backups → Create the backup key) first.') },
  BACKUP_KEY_EXISTS: { code: 'KH_BACKUP_KEY_EXISTS', ...refused('A backup key exists already: give --rekey to make a new generation (backups of the old one need the old shares).') },
  BACKUP_BAD_SHARES: { code: 'KH_BACKUP_BAD_SHARES', ...refused('The shares given are malformed, too few, of another generation, or do not rebuild the backup key: check each share against its check value.') },
  BACKUP_FILE_INVALID: { code: 'KH_BACKUP_FILE_INVALID', ...refused('The backup file is not a Keyhaven backup, is truncated or was altered, or is of a newer format than this release reads; nothing was changed.') },
  BACKUP_RESTORE_REFUSED: { code: 'KH_BACKUP_RESTORE_REFUSED', ...refused('A restore was refused before anything was changed (the target holds a key store already, or the backup is inconsistent).') },
  BACKUP_HOST_KEY: { code: 'KH_BACKUP_HOST_KEY', ...refused('The backup host presented another host key than the pinned fingerprint: verify the host, then enter its new fingerprint; it is never trusted on first use.') },
  BACKUP_HOST_UNREACHABLE: { code: 'KH_BACKUP_HOST_UNREACHABLE', ...failure('The backup host cannot be reached (no route, refused, or no answer in time); the backup is retried.') },
  BACKUP_AUTH: { code: 'KH_BACKUP_AUTH', ...refused("The backup host refused the appliance's SSH key: install the public key the menu shows in the backup account's authorized_keys.") },
  BACKUP_TRANSFER: { code: 'KH_BACKUP_TRANSFER', ...failure('Sending or fetching a backup failed (disk full, permissions, or the copy on the server does not match what was sent); nothing was left under a backup name.') },
  // Network listener
  NET_LISTEN_FAILED: { code: 'KH_NET_LISTEN_FAILED', ...failure('A listener cannot bind its address and port (in use, or not permitted).') },
});

/** Every code the key server raises: the core's, the codec's and its own. */
export const ErrorCodes = { ...CoreCodes, ...KmipCodes, ...ServerCodes } as const;
