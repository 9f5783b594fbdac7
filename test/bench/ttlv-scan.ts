// Cheap response checks for the load generator: walks the TTLV bytes of a Response Message without
// building items, so that verifying every response costs the client almost nothing. A response
// counts only if its (single) batch item says Success and, for Get, carries key material of the
// expected length — a fast error path cannot pass for throughput.
import { Enum, Tag } from '../../server/kmip/tables.js';

const HEADER = 8;

/** Offset of the first item with `tag` (depth-first) within [at, end), or -1. */
export function findTag(buf: Buffer, tag: number, at = 0, end = buf.length): number {
  while (at + HEADER <= end) {
    const t = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    const type = buf[at + 3]!;
    const len = buf.readUInt32BE(at + 4);
    if (t === tag) return at;
    const valueAt = at + HEADER;
    if (type === 0x01) {
      const inner = findTag(buf, tag, valueAt, Math.min(end, valueAt + len));
      if (inner >= 0) return inner;
    }
    at = valueAt + ((len + 7) & ~7);
  }
  return -1;
}

const u32At = (buf: Buffer, itemAt: number) => buf.readUInt32BE(itemAt + HEADER);

export interface CheckResult {
  ok: boolean;
  /** Why the response does not count (result reason / message, or what was missing). */
  error?: string;
  /** For Create: the new object's Unique Identifier. */
  uid?: string;
}

function failure(buf: Buffer): string {
  const reasonAt = findTag(buf, Tag.ResultReason);
  const msgAt = findTag(buf, Tag.ResultMessage);
  const reason = reasonAt >= 0 ? `reason 0x${u32At(buf, reasonAt).toString(16)}` : 'no reason';
  const msg = msgAt >= 0 ? buf.toString('utf8', msgAt + HEADER, msgAt + HEADER + buf.readUInt32BE(msgAt + 4)) : '';
  return `${reason}${msg ? `: ${msg}` : ''}`;
}

/** Result Status Success, and Key Material (Byte String) of `keyBytes` bytes. */
export function checkGet(buf: Buffer, keyBytes: number): CheckResult {
  const st = findTag(buf, Tag.ResultStatus);
  if (st < 0) return { ok: false, error: 'response without Result Status' };
  if (u32At(buf, st) !== Enum.ResultStatus.Success) return { ok: false, error: failure(buf) };
  const km = findTag(buf, Tag.KeyMaterial);
  if (km < 0 || buf[km + 3] !== 0x08) return { ok: false, error: 'Get response without Raw Key Material' };
  const n = buf.readUInt32BE(km + 4);
  if (n !== keyBytes) return { ok: false, error: `Get returned ${n} bytes of key material, expected ${keyBytes}` };
  return { ok: true };
}

/** Result Status Success and a Unique Identifier in the payload. */
export function checkCreate(buf: Buffer): CheckResult {
  const st = findTag(buf, Tag.ResultStatus);
  if (st < 0) return { ok: false, error: 'response without Result Status' };
  if (u32At(buf, st) !== Enum.ResultStatus.Success) return { ok: false, error: failure(buf) };
  const payload = findTag(buf, Tag.ResponsePayload);
  if (payload < 0) return { ok: false, error: 'Create response without payload' };
  const uidAt = findTag(buf, Tag.UniqueIdentifier, payload);
  if (uidAt < 0 || buf[uidAt + 3] !== 0x07) return { ok: false, error: 'Create response without Unique Identifier' };
  return { ok: true, uid: buf.toString('utf8', uidAt + HEADER, uidAt + HEADER + buf.readUInt32BE(uidAt + 4)) };
}
