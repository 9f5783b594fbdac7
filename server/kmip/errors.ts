// The codec's and the KMIP layer's error codes. Here, not in server/errors.ts, because server/kmip
// imports nothing but Buffer and the shared core (lib/).
import { defineCodes, KeyhavenError, type ErrorCode } from '../../lib/errors.js';
import { Enum } from './tables.js';

const ttlv = (doc: string) => ({ userFault: true, doc: `The bytes are not valid KMIP TTLV: ${doc} The client is answered Invalid Message, or the connection is closed.` });

export const KmipCodes = defineCodes({
  TTLV_TRUNCATED: { code: 'KH_TTLV_TRUNCATED', ...ttlv('the message ends inside an item.') },
  TTLV_BAD_TAG: { code: 'KH_TTLV_BAD_TAG', ...ttlv('a tag is not in the KMIP tag range.') },
  TTLV_BAD_TYPE: { code: 'KH_TTLV_BAD_TYPE', ...ttlv('an item type is unknown.') },
  TTLV_BAD_LENGTH: { code: 'KH_TTLV_BAD_LENGTH', ...ttlv("a length does not fit the item's type or its structure.") },
  TTLV_BAD_PADDING: { code: 'KH_TTLV_BAD_PADDING', ...ttlv('padding bytes are not zero.') },
  TTLV_BAD_VALUE: { code: 'KH_TTLV_BAD_VALUE', ...ttlv('a value is not valid for its type (e.g. a Boolean other than 0 or 1).') },
  TTLV_TOO_DEEP: { code: 'KH_TTLV_TOO_DEEP', ...ttlv('structures are nested deeper than the server accepts.') },
  TTLV_TOO_LARGE: { code: 'KH_TTLV_TOO_LARGE', ...ttlv('the message is larger than the server accepts.') },
  KMIP_FAILURE: {
    code: 'KH_KMIP_FAILURE',
    userFault: true,
    doc: 'A KMIP operation failed; the error carries its own Result Reason (KmipError.reason) and the Result Message the client sees. Not the client\'s fault only when the reason is General Failure.',
  },
});

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
    super(KmipCodes.KMIP_FAILURE, message);
    this.name = 'KmipError';
    this.reason = reason;
    this.auditReason = options.auditReason;
  }

  override get userFault(): boolean {
    return this.reason !== Enum.ResultReason.GeneralFailure;
  }
}
