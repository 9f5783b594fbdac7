// TTLV decoder, strict (KMIP 1.4 §9.1.1). Pure: bytes in, items out; knows no socket.
import { KmipCodes as ErrorCodes, TtlvError } from './errors.js';
import type { Item } from './item.js';

export interface DecodeOptions {
  /** Structures nested deeper than this are refused (protects the stack). Default 24. */
  maxDepth?: number;
  /** Big Integers longer than this many bytes are refused. Default MAX_BIG_INTEGER_BYTES. */
  maxBigIntegerBytes?: number;
}

/**
 * Largest Big Integer value accepted, in bytes. Big Integers carry transparent key material
 * (KMIP 1.4 §2.1.7: RSA moduli and exponents, DSA/DH parameters, EC private values); the largest any
 * of them needs is a 16384-bit RSA modulus (the largest RSA key Keyhaven accepts anywhere), 2048
 * bytes plus its 8-byte sign block. Anything longer is not key material but an attempt at work.
 */
export const MAX_BIG_INTEGER_BYTES = 2056;

const HEADER = 8;
// ignoreBOM keeps a leading U+FEFF as part of the value: by default TextDecoder strips it, which
// would silently change a Text String (and its re-encoding).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Value length each fixed-size type must declare, KMIP 1.4 §9.1.1.4. */
const FIXED_LENGTH: Record<number, number> = {
  0x02: 4, // Integer
  0x03: 8, // Long Integer
  0x05: 4, // Enumeration
  0x06: 8, // Boolean
  0x09: 8, // Date-Time
  0x0a: 4, // Interval
};

// Arithmetic, not `(n + 7) & ~7`: bitwise operators are 32-bit signed, so a declared length of 2^31
// or more would pad to a negative number.
const padded = (n: number) => n + ((8 - (n % 8)) % 8);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Decodes exactly one TTLV item that must span the whole buffer.
 * Throws TtlvError (with a stable code and the byte offset) on any violation.
 */
export function decode(buf: Buffer, options: DecodeOptions = {}): Item {
  const maxDepth = options.maxDepth ?? 24;
  maxBigInteger = options.maxBigIntegerBytes ?? MAX_BIG_INTEGER_BYTES;
  const item = readItem(buf, 0, buf.length, 0, maxDepth);
  if (readEnd !== buf.length) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `${buf.length - readEnd} trailing bytes after the item`, readEnd);
  }
  return item;
}

/**
 * Offset just past the item readItem() last returned. A module variable rather than a
 * { item, next } pair per item: decoding is synchronous, and this runs for every item received.
 */
let readEnd = 0;
/** The Big Integer bound of the decode() in progress (set on entry, like readEnd). */
let maxBigInteger = MAX_BIG_INTEGER_BYTES;

/** Text String bytes as a string; short ASCII (names, identifiers) without a TextDecoder call. */
function readText(buf: Buffer, from: number, to: number): string {
  if (to - from <= 64) {
    let i = from;
    while (i < to && buf[i]! < 0x80) i++;
    if (i === to) return buf.toString('latin1', from, to); // ASCII: latin1 and UTF-8 agree
  }
  try {
    return utf8.decode(buf.subarray(from, to));
  } catch {
    throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, 'Text String is not valid UTF-8', from);
  }
}

function readItem(buf: Buffer, at: number, limit: number, depth: number, maxDepth: number): Item {
  if (limit - at < HEADER) {
    throw new TtlvError(ErrorCodes.TTLV_TRUNCATED, `item header needs ${HEADER} bytes, ${limit - at} left`, at);
  }
  // KMIP 1.4 §9.1.1.1: a 3-byte tag whose first byte is 0x42 (defined) or 0x54 (extension).
  const tag = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
  const hi = buf[at]!;
  if (hi !== 0x42 && hi !== 0x54) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_TAG, `tag 0x${tag.toString(16).padStart(6, '0')} is neither 0x42xxxx nor 0x54xxxx`, at);
  }
  const type = buf[at + 3]!;
  const length = buf.readUInt32BE(at + 4);
  const valueAt = at + HEADER;
  if (type < 0x01 || type > 0x0a) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_TYPE, `unknown item type 0x${type.toString(16).padStart(2, '0')}`, at + 3);
  }
  const fixed = FIXED_LENGTH[type];
  if (fixed !== undefined && length !== fixed) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `item type 0x0${type.toString(16)} must have length ${fixed}, not ${length}`, at + 4);
  }
  // KMIP 1.4 §9.1.1.3: Structure lengths are the sum of their (already padded) items; all other
  // values are padded with zero bytes up to a multiple of eight.
  const span = type === 0x01 ? length : padded(length);
  if (type === 0x01 && length % 8 !== 0) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `structure length ${length} is not a multiple of 8`, at + 4);
  }
  if (span > limit - valueAt) {
    // Past the end of the buffer the message is cut short; past the end of the enclosing structure
    // (but within the buffer) the item's length contradicts its parent's.
    if (limit === buf.length) {
      throw new TtlvError(ErrorCodes.TTLV_TRUNCATED, `item declares ${span} bytes but ${limit - valueAt} remain`, at + 4);
    }
    throw new TtlvError(
      ErrorCodes.TTLV_BAD_LENGTH,
      `item declares ${span} bytes but its enclosing structure has ${limit - valueAt} left`,
      at + 4,
    );
  }
  const next = valueAt + span;
  for (let i = valueAt + length; i < next; i++) {
    if (buf[i] !== 0) throw new TtlvError(ErrorCodes.TTLV_BAD_PADDING, 'padding bytes must be zero', i);
  }
  readEnd = next;

  switch (type) {
    case 0x01: {
      if (depth >= maxDepth) {
        throw new TtlvError(ErrorCodes.TTLV_TOO_DEEP, `structures nested more than ${maxDepth} deep`, at);
      }
      const value: Item[] = [];
      let p = valueAt;
      while (p < next) {
        value.push(readItem(buf, p, next, depth + 1, maxDepth));
        p = readEnd;
      }
      readEnd = next; // the children moved it
      return { tag, type: 0x01, value };
    }
    case 0x02:
      return { tag, type: 0x02, value: buf.readInt32BE(valueAt) };
    case 0x03:
      return { tag, type: 0x03, value: buf.readBigInt64BE(valueAt) };
    case 0x04: {
      // KMIP 1.4 §9.1.1.4: big-endian two's complement, length a multiple of 8, sign-extended.
      if (length === 0 || length % 8 !== 0) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `Big Integer length ${length} is not a positive multiple of 8`, at + 4);
      }
      if (length > maxBigInteger) {
        throw new TtlvError(ErrorCodes.TTLV_TOO_LARGE, `Big Integer of ${length} bytes exceeds the limit of ${maxBigInteger}`, at + 4);
      }
      // "padded with the minimal number of leading sign-extended bytes": a leading 8-byte block that
      // only repeats the sign of what follows is not minimal (and would not re-encode identically).
      if (length > 8 && redundantSignBlock(buf, valueAt)) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, 'Big Integer has more sign-extension padding than the minimum', valueAt);
      }
      return { tag, type: 0x04, value: readBigInteger(buf, valueAt, length) };
    }
    case 0x05:
      return { tag, type: 0x05, value: buf.readUInt32BE(valueAt) };
    case 0x06: {
      // KMIP 1.4 §9.1.1.4: 0x0000000000000000 is False, 0x0000000000000001 is True, nothing else.
      const v = buf.readBigUInt64BE(valueAt);
      if (v > 1n) throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, 'Boolean must be 0 or 1', valueAt);
      return { tag, type: 0x06, value: v === 1n };
    }
    case 0x07:
      return { tag, type: 0x07, value: readText(buf, valueAt, valueAt + length) };
    case 0x08: {
      // A copy, so a decoded message never pins (or exposes) the connection's receive buffer.
      const value = Buffer.allocUnsafe(length);
      buf.copy(value, 0, valueAt, valueAt + length);
      return { tag, type: 0x08, value };
    }
    case 0x09: {
      const v = buf.readBigInt64BE(valueAt);
      if (v > MAX_SAFE || v < MIN_SAFE) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, 'Date-Time out of range', valueAt);
      }
      return { tag, type: 0x09, value: Number(v) };
    }
    default: // 0x0a Interval
      return { tag, type: 0x0a, value: buf.readUInt32BE(valueAt) };
  }
}

function redundantSignBlock(buf: Buffer, at: number): boolean {
  const sign = buf[at]!;
  if (sign !== 0x00 && sign !== 0xff) return false;
  for (let i = at + 1; i < at + 8; i++) if (buf[i] !== sign) return false;
  return (buf[at + 8]! & 0x80) === (sign & 0x80);
}

function readBigInteger(buf: Buffer, at: number, length: number): bigint {
  // One parse of the hex text: linear in the length. Shifting and OR-ing 64 bits at a time copies
  // the growing value on every step, which is quadratic.
  const v = BigInt(`0x${buf.toString('hex', at, at + length)}`);
  // Negative when the top bit is set: subtract 2^(8·length).
  return buf[at]! & 0x80 ? v - (1n << BigInt(length * 8)) : v;
}
