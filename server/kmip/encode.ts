// TTLV encoder (KMIP 1.4 §9.1.1). Sizes first, then one allocation and one pass of writes.
import { KmipCodes as ErrorCodes, TtlvError } from './errors.js';
import type { Item } from './item.js';

const HEADER = 8;
// Arithmetic, not `(n + 7) & ~7`: bitwise operators are 32-bit signed, so a declared length of 2^31
// or more would pad to a negative number.
const padded = (n: number) => n + ((8 - (n % 8)) % 8);

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** In a /u regular expression a surrogate pair is one code point, so this matches only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Encodes one item (normally a whole Request or Response Message) to its TTLV bytes. */
export function encode(item: Item): Buffer {
  const size = sizeOf(item);
  const buf = Buffer.allocUnsafe(size);
  const end = write(buf, 0, item);
  if (end !== size) throw new Error(`TTLV encoder size mismatch: ${end} != ${size}`);
  return buf;
}

/**
 * Byte length of an item's value before padding. Tolerates values of the wrong JavaScript type
 * (write() refuses them with a TtlvError and the offset) so that sizing never throws a TypeError.
 */
function valueLength(item: Item): number {
  switch (item.type) {
    case 0x01: {
      if (!Array.isArray(item.value)) return 0;
      let n = 0;
      for (const c of item.value) n += sizeOf(c);
      return n;
    }
    case 0x02:
    case 0x05:
    case 0x0a:
      return 4;
    case 0x03:
    case 0x06:
    case 0x09:
      return 8;
    case 0x04:
      return typeof item.value === 'bigint' ? bigIntegerBytes(item.value).length : 8;
    case 0x07:
      return typeof item.value === 'string' ? Buffer.byteLength(item.value, 'utf8') : 0;
    case 0x08:
      return Buffer.isBuffer(item.value) ? item.value.length : 0;
    default:
      return 0; // an unknown type: write() refuses it
  }
}

/** Total encoded size of an item, header and padding included. */
export function sizeOf(item: Item): number {
  return HEADER + padded(valueLength(item));
}

function checkTag(tag: number, at: number): void {
  const hi = tag >>> 16;
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff || (hi !== 0x42 && hi !== 0x54)) {
    throw new TtlvError(ErrorCodes.TTLV_BAD_TAG, `cannot encode tag ${tag}: tags are 0x42xxxx or 0x54xxxx`, at);
  }
}

// Module level, not a closure per item: write() runs once per item of every response.
const bad = (what: string, at: number) => new TtlvError(ErrorCodes.TTLV_BAD_VALUE, `cannot encode ${what}`, at);

function write(buf: Buffer, at: number, item: Item): number {
  checkTag(item.tag, at);
  buf[at] = item.tag >>> 16;
  buf[at + 1] = (item.tag >>> 8) & 0xff;
  buf[at + 2] = item.tag & 0xff;
  buf[at + 3] = item.type;
  const v = at + HEADER;
  switch (item.type) {
    case 0x01: {
      if (!Array.isArray(item.value)) throw bad('a Structure whose value is not an array of items', at);
      let p = v;
      for (const c of item.value) p = write(buf, p, c);
      buf.writeUInt32BE(p - v, at + 4);
      return p;
    }
    case 0x02:
      if (!Number.isInteger(item.value) || item.value < INT32_MIN || item.value > INT32_MAX) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, `Integer ${item.value} is not a signed 32-bit value`, at);
      }
      buf.writeUInt32BE(4, at + 4);
      buf.writeInt32BE(item.value, v);
      buf.writeUInt32BE(0, v + 4);
      return v + 8;
    case 0x05:
    case 0x0a:
      if (!Number.isInteger(item.value) || item.value < 0 || item.value > UINT32_MAX) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, `value ${item.value} is not an unsigned 32-bit value`, at);
      }
      buf.writeUInt32BE(4, at + 4);
      buf.writeUInt32BE(item.value, v);
      buf.writeUInt32BE(0, v + 4);
      return v + 8;
    case 0x03:
      if (typeof item.value !== 'bigint') throw bad('a Long Integer whose value is not a bigint', at);
      if (item.value < INT64_MIN || item.value > INT64_MAX) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, `Long Integer ${item.value} is not a signed 64-bit value`, at);
      }
      buf.writeUInt32BE(8, at + 4);
      buf.writeBigInt64BE(item.value, v);
      return v + 8;
    case 0x06:
      if (typeof item.value !== 'boolean') throw bad('a Boolean whose value is not true or false', at);
      buf.writeUInt32BE(8, at + 4);
      buf.writeBigUInt64BE(item.value ? 1n : 0n, v);
      return v + 8;
    case 0x09:
      if (!Number.isSafeInteger(item.value)) {
        throw new TtlvError(ErrorCodes.TTLV_BAD_VALUE, `Date-Time ${item.value} is not a whole number of seconds`, at);
      }
      buf.writeUInt32BE(8, at + 4);
      buf.writeBigInt64BE(BigInt(item.value), v);
      return v + 8;
    case 0x04: {
      if (typeof item.value !== 'bigint') throw bad('a Big Integer whose value is not a bigint', at);
      const bytes = bigIntegerBytes(item.value);
      buf.writeUInt32BE(bytes.length, at + 4);
      bytes.copy(buf, v);
      return v + bytes.length;
    }
    case 0x07: {
      if (typeof item.value !== 'string') throw bad('a Text String whose value is not a string', at);
      // KMIP 1.4 §9.1.1.4: Text Strings are UTF-8; a lone surrogate has no UTF-8 form (Buffer would
      // silently write U+FFFD instead).
      if (LONE_SURROGATE.test(item.value)) throw bad('a Text String containing a lone UTF-16 surrogate', at);
      const n = buf.write(item.value, v, 'utf8');
      buf.writeUInt32BE(n, at + 4);
      return zeroPad(buf, v + n);
    }
    case 0x08: {
      if (!Buffer.isBuffer(item.value)) throw bad('a Byte String whose value is not a Buffer', at);
      item.value.copy(buf, v);
      buf.writeUInt32BE(item.value.length, at + 4);
      return zeroPad(buf, v + item.value.length);
    }
    default:
      throw new TtlvError(ErrorCodes.TTLV_BAD_TYPE, `cannot encode item type ${String((item as { type: unknown }).type)}`, at + 3);
  }
}

function zeroPad(buf: Buffer, end: number): number {
  const to = padded(end);
  buf.fill(0, end, to);
  return to;
}

/**
 * KMIP 1.4 §9.1.1.4: Big Integers are big-endian two's complement, padded (sign-extended) on the
 * left to a multiple of eight bytes. Linear in the value's size: one hex conversion, no loop of
 * BigInt shifts (each of which copies the whole value).
 */
export function bigIntegerBytes(value: bigint): Buffer {
  const negative = value < 0n;
  // Two's complement of a negative v is the bitwise complement of |v|-1 = -v-1: work on the
  // non-negative magnitude m and invert its bytes at the end.
  const m = negative ? -value - 1n : value;
  const hex = m.toString(16);
  // Bits the magnitude needs, plus one for the sign, rounded up to whole 8-byte blocks.
  const bits = m === 0n ? 0 : (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
  const bytes = Math.max(8, Math.ceil((bits + 1) / 64) * 8);
  const out = Buffer.alloc(bytes);
  const digits = hex.length % 2 === 0 ? hex : `0${hex}`;
  out.write(digits, bytes - digits.length / 2, 'hex');
  if (negative) for (let i = 0; i < bytes; i++) out[i] = ~out[i]! & 0xff;
  return out;
}
