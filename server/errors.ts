// Every error Keyhaven raises carries a stable `code` from this catalogue (as undici and fastify do),
// so callers, tests and operators can match on it. Messages say what went wrong and what to do.
// KMIP failures additionally carry the KMIP Result Reason they are reported with (KMIP 1.4 §9.1.3.2.29).

export const ErrorCodes = {
  // TTLV codec (server/kmip)
  TTLV_TRUNCATED: 'KH_TTLV_TRUNCATED',
  TTLV_BAD_TAG: 'KH_TTLV_BAD_TAG',
  TTLV_BAD_TYPE: 'KH_TTLV_BAD_TYPE',
  TTLV_BAD_LENGTH: 'KH_TTLV_BAD_LENGTH',
  TTLV_BAD_PADDING: 'KH_TTLV_BAD_PADDING',
  TTLV_BAD_VALUE: 'KH_TTLV_BAD_VALUE',
  TTLV_TOO_DEEP: 'KH_TTLV_TOO_DEEP',
  TTLV_TOO_LARGE: 'KH_TTLV_TOO_LARGE',
  // KMIP request handling (server/ops): reported to the client as a KMIP Result Reason
  KMIP_FAILURE: 'KH_KMIP_FAILURE',
  // Configuration
  CONFIG_INVALID: 'KH_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'KH_CONFIG_UNREADABLE',
  // Key store and master key
  STORE_MASTER_KEY: 'KH_STORE_MASTER_KEY',
  STORE_UNWRAP_FAILED: 'KH_STORE_UNWRAP_FAILED',
  STORE_CORRUPT: 'KH_STORE_CORRUPT',
  STORE_MISSING: 'KH_STORE_MISSING',
  // Rollback detection (server/store/rollback-guard.ts): the store is older than its anchor, or the
  // anchor file cannot be read or written
  STORE_ROLLBACK: 'KH_STORE_ROLLBACK',
  STORE_ANCHOR: 'KH_STORE_ANCHOR',
  // Audit
  AUDIT_CHAIN_BROKEN: 'KH_AUDIT_CHAIN_BROKEN',
  AUDIT_SYSLOG_INVALID: 'KH_AUDIT_SYSLOG_INVALID',
  // PKI
  PKI_NOT_INITIALISED: 'KH_PKI_NOT_INITIALISED',
  PKI_ALREADY_EXISTS: 'KH_PKI_ALREADY_EXISTS',
  PKI_BAD_CSR: 'KH_PKI_BAD_CSR',
  PKI_BAD_INPUT: 'KH_PKI_BAD_INPUT',
  PKI_UNKNOWN_CERTIFICATE: 'KH_PKI_UNKNOWN_CERTIFICATE',
  PKI_LOCKED: 'KH_PKI_LOCKED',
  PKI_CORRUPT: 'KH_PKI_CORRUPT',
  PKI_CLIENT_REJECTED: 'KH_PKI_CLIENT_REJECTED',
  PKI_SUBJECT_IN_USE: 'KH_PKI_SUBJECT_IN_USE',
  // Network listener
  NET_LISTEN_FAILED: 'KH_NET_LISTEN_FAILED',
  // Firewall
  FIREWALL_INVALID: 'KH_FIREWALL_INVALID',
  FIREWALL_NFT_FAILED: 'KH_FIREWALL_NFT_FAILED',
  // Packer
  PACKER_INVALID: 'KH_PACKER_INVALID',
  // Command line
  CLI_USAGE: 'KH_CLI_USAGE',
  // Appliance image (ova/)
  OVA_INVALID: 'KH_OVA_INVALID',
  OVA_TOOL_FAILED: 'KH_OVA_TOOL_FAILED',
  OVF_ENV_INVALID: 'KH_OVF_ENV_INVALID',
  // Image pipeline (appliance/build)
  IMAGE_BUILD_FAILED: 'KH_IMAGE_BUILD_FAILED',
  IMAGE_TOOL_MISSING: 'KH_IMAGE_TOOL_MISSING',
  // Appliance administration (first boot, menu, privileged helper)
  PASSWORD_REFUSED: 'KH_PASSWORD_REFUSED',
  ACCOUNT_UPDATE_FAILED: 'KH_ACCOUNT_UPDATE_FAILED',
  ADMIN_REQUEST_INVALID: 'KH_ADMIN_REQUEST_INVALID',
  // A change with a consequence the administrator must accept: sent again with acceptBroad / acceptLockout
  ADMIN_CONFIRM_BROAD: 'KH_ADMIN_CONFIRM_BROAD',
  ADMIN_CONFIRM_LOCKOUT: 'KH_ADMIN_CONFIRM_LOCKOUT',
  ADMIN_ACTION_FAILED: 'KH_ADMIN_ACTION_FAILED',
  ADMIN_WORKER_FAILED: 'KH_ADMIN_WORKER_FAILED',
  ADMIN_DATA_DIR_UNSAFE: 'KH_ADMIN_DATA_DIR_UNSAFE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class KeyhavenError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyhavenError';
    this.code = code;
  }
}

/** A failure of the TTLV codec: the bytes are not valid KMIP TTLV. */
export class TtlvError extends KeyhavenError {
  /** Byte offset in the message where the problem was found. */
  readonly offset: number;
  constructor(code: ErrorCode, message: string, offset: number) {
    super(code, `${message} (at byte ${offset})`);
    this.name = 'TtlvError';
    this.offset = offset;
  }
}

/**
 * A KMIP operation failure. `reason` is a Result Reason enumeration value (KMIP 1.4 §9.1.3.2.29);
 * the message goes to the client as the Result Message, so it must never contain key material.
 */
export class KmipError extends KeyhavenError {
  readonly reason: number;
  /**
   * What the audit record says when it must differ from what the client is told (e.g. a refusal the
   * client sees as Item Not Found, so that it cannot learn another identity's object exists).
   */
  readonly auditReason: string | undefined;
  constructor(reason: number, message: string, options: { auditReason?: string } = {}) {
    super(ErrorCodes.KMIP_FAILURE, message);
    this.name = 'KmipError';
    this.reason = reason;
    this.auditReason = options.auditReason;
  }
}
