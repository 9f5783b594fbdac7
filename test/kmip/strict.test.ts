// The codec is strict (KMIP 1.4 §9.1.1): every malformed input is refused with a TtlvError carrying a
// stable code and the byte offset of the problem; the encoder refuses values it cannot represent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, TtlvError } from '../../server/errors.js';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import {
  bigInteger, boolean, byteString, dateTime, enumeration, integer, interval, longInteger, structure, textString,
  type Item,
} from '../../server/kmip/item.js';

const hex = (s: string) => Buffer.from(s.replace(/[^0-9A-Fa-f]/g, ''), 'hex');
/** A header: tag (3 bytes), type, length. */
const hdr = (tag: number, type: number, length: number) => {
  const b = Buffer.alloc(8);
  b.writeUIntBE(tag, 0, 3);
  b[3] = type;
  b.writeUInt32BE(length, 4);
  return b;
};
const T = 0x420020;

function refuses(fn: () => unknown, code: string, offset: number, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TtlvError, `a TtlvError, got ${String(e)}`);
    assert.equal(e.code, code, `code (message: ${e.message})`);
    assert.equal(e.offset, offset, `offset (message: ${e.message})`);
    assert.match(e.message, new RegExp(`at byte ${offset}\\)`));
    if (message) assert.match(e.message, message);
    return true;
  });
}

const C = ErrorCodes;

const DECODE_CASES: { name: string; bytes: Buffer; code: string; offset: number; maxDepth?: number; message?: RegExp }[] = [
  // KMIP 1.4 §9.1.1.1: tags start with 0x42 or 0x54
  { name: 'tag high byte 0x43', bytes: hex('430020 02 00000004 00000008 00000000'), code: C.TTLV_BAD_TAG, offset: 0 },
  { name: 'tag high byte 0x00', bytes: hex('000020 02 00000004 00000008 00000000'), code: C.TTLV_BAD_TAG, offset: 0 },
  {
    name: 'bad tag inside a structure',
    bytes: Buffer.concat([hdr(T, 1, 16), hex('550001 02 00000004 00000001 00000000')]),
    code: C.TTLV_BAD_TAG,
    offset: 8,
  },
  // KMIP 1.4 §9.1.1.2: types 0x01..0x0A
  { name: 'type 0x00', bytes: hex('420020 00 00000000'), code: C.TTLV_BAD_TYPE, offset: 3 },
  { name: 'type 0x0B (Date-Time Extended is KMIP 2.0)', bytes: hex('420020 0B 00000008 0000000000000000'), code: C.TTLV_BAD_TYPE, offset: 3 },
  { name: 'type 0xFF', bytes: hex('420020 FF 00000000'), code: C.TTLV_BAD_TYPE, offset: 3 },
  {
    name: 'unknown type inside a structure',
    bytes: Buffer.concat([hdr(T, 1, 24), hex('420001 02 00000004 00000001 00000000'), hex('420002 0C 00000000')]),
    code: C.TTLV_BAD_TYPE,
    offset: 27,
  },
  // KMIP 1.4 §9.1.1.3: fixed lengths
  { name: 'Integer of length 8', bytes: hex('420020 02 00000008 0000000000000008'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Integer of length 0', bytes: hex('420020 02 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Long Integer of length 4', bytes: hex('420020 03 00000004 00000001 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Enumeration of length 8', bytes: hex('420020 05 00000008 00000000000000FF'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Boolean of length 4', bytes: hex('420020 06 00000004 00000001 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Boolean of length 1', bytes: hex('420020 06 00000001 01000000 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Date-Time of length 4', bytes: hex('420020 09 00000004 47DA67F8 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Interval of length 8', bytes: hex('420020 0A 00000008 00000000000D2F00'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  // KMIP 1.4 §9.1.1.3: padding is zero
  { name: 'Integer with non-zero padding', bytes: hex('420020 02 00000004 00000008 00000100'), code: C.TTLV_BAD_PADDING, offset: 14 },
  { name: 'Enumeration with non-zero padding', bytes: hex('420020 05 00000004 000000FF 80000000'), code: C.TTLV_BAD_PADDING, offset: 12 },
  { name: 'Interval with non-zero last padding byte', bytes: hex('420020 0A 00000004 000D2F00 00000001'), code: C.TTLV_BAD_PADDING, offset: 15 },
  { name: 'Text String with non-zero padding', bytes: hex('420020 07 00000003 616263 0000 2E 0000'), code: C.TTLV_BAD_PADDING, offset: 13 },
  { name: 'Byte String with non-zero padding', bytes: hex('420020 08 00000001 01 FF000000000000'), code: C.TTLV_BAD_PADDING, offset: 9 },
  // KMIP 1.4 §9.1.1.4: Boolean is 0 or 1
  { name: 'Boolean 2', bytes: hex('420020 06 00000008 0000000000000002'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'Boolean with a high bit set', bytes: hex('420020 06 00000008 8000000000000001'), code: C.TTLV_BAD_VALUE, offset: 8 },
  // KMIP 1.4 §9.1.1.4: Text Strings are UTF-8
  { name: 'invalid UTF-8 (C3 28)', bytes: hex('420020 07 00000002 C328 000000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'overlong UTF-8 (C0 AF)', bytes: hex('420020 07 00000002 C0AF 000000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'UTF-8 encoded surrogate (ED A0 80)', bytes: hex('420020 07 00000003 EDA080 0000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'UTF-8 cut mid-character (E6 97)', bytes: hex('420020 07 00000002 E697 000000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'code point above U+10FFFF (F4 90 80 80)', bytes: hex('420020 07 00000004 F4908080 00000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  {
    name: 'invalid UTF-8 in a nested Text String',
    bytes: Buffer.concat([hdr(T, 1, 16), hex('420021 07 00000001 FF 00000000000000')]),
    code: C.TTLV_BAD_VALUE,
    offset: 16,
  },
  // KMIP 1.4 §9.1.1.3: Structure lengths
  { name: 'Structure length not a multiple of 8', bytes: Buffer.concat([hdr(T, 1, 12), hex('420001 02 00000004'), Buffer.alloc(4)]), code: C.TTLV_BAD_LENGTH, offset: 4 },
  {
    name: 'item overrunning its enclosing structure',
    // Outer structure of 32 holds a structure of 16 whose child claims 16 bytes of value.
    bytes: Buffer.concat([hdr(T, 1, 32), hdr(T, 1, 16), hdr(0x420001, 8, 16), Buffer.alloc(16)]),
    code: C.TTLV_BAD_LENGTH,
    offset: 20,
    message: /enclosing structure/,
  },
  {
    name: 'Structure length beyond the buffer',
    bytes: Buffer.concat([hdr(T, 1, 32), hex('420001 02 00000004 00000001 00000000')]),
    code: C.TTLV_TRUNCATED,
    offset: 4,
  },
  // Truncation
  { name: 'empty buffer', bytes: Buffer.alloc(0), code: C.TTLV_TRUNCATED, offset: 0 },
  { name: 'half a header', bytes: hex('420020 02'), code: C.TTLV_TRUNCATED, offset: 0 },
  { name: 'Integer without its padding', bytes: hex('420020 02 00000004 00000008'), code: C.TTLV_TRUNCATED, offset: 4 },
  { name: 'Text String cut short', bytes: hex('420020 07 0000000B 48656C6C6F'), code: C.TTLV_TRUNCATED, offset: 4 },
  // Trailing bytes
  { name: 'trailing bytes after the item', bytes: hex('420020 02 00000004 00000008 00000000 420020 02 00000004'), code: C.TTLV_BAD_LENGTH, offset: 16 },
  { name: 'one trailing zero byte', bytes: hex('420020 02 00000004 00000008 00000000 00'), code: C.TTLV_BAD_LENGTH, offset: 16 },
  // Depth
  { name: 'structures nested deeper than maxDepth 3', bytes: nested(4), code: C.TTLV_TOO_DEEP, offset: 24, maxDepth: 3 },
  { name: 'structures nested 25 deep (default limit 24)', bytes: nested(25), code: C.TTLV_TOO_DEEP, offset: 24 * 8 },
  // KMIP 1.4 §9.1.1.4: Big Integer length a positive multiple of 8, minimal sign extension
  { name: 'Big Integer of length 4', bytes: hex('420020 04 00000004 00000001 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Big Integer of length 12', bytes: hex('420020 04 0000000C 000000000000000000000001 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  { name: 'Big Integer of length 0', bytes: hex('420020 04 00000000'), code: C.TTLV_BAD_LENGTH, offset: 4 },
  {
    name: 'Big Integer with a redundant zero block',
    bytes: hex('420020 04 00000010 0000000000000000 0000000000000005'),
    code: C.TTLV_BAD_VALUE,
    offset: 8,
  },
  {
    name: 'Big Integer with a redundant 0xFF block',
    bytes: hex('420020 04 00000010 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFE'),
    code: C.TTLV_BAD_VALUE,
    offset: 8,
  },
  // Date-Time within Number's safe range
  { name: 'Date-Time 2^53', bytes: hex('420020 09 00000008 0020000000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'Date-Time INT64_MAX', bytes: hex('420020 09 00000008 7FFFFFFFFFFFFFFF'), code: C.TTLV_BAD_VALUE, offset: 8 },
  { name: 'Date-Time -(2^53)', bytes: hex('420020 09 00000008 FFE0000000000000'), code: C.TTLV_BAD_VALUE, offset: 8 },
];

function nested(levels: number): Buffer {
  let item: Item = integer(T, 1);
  for (let i = 0; i < levels; i++) item = structure(T, [item]);
  return encode(item);
}

for (const c of DECODE_CASES) {
  test(`decode refuses: ${c.name} (${c.code} at ${c.offset})`, () => {
    refuses(() => decode(c.bytes, c.maxDepth !== undefined ? { maxDepth: c.maxDepth } : {}), c.code, c.offset, c.message);
  });
}

test('boundaries just inside the limits are accepted', () => {
  assert.equal(decode(nested(24)).type, 0x01, '24 nested structures are fine by default');
  assert.equal(decode(nested(3), { maxDepth: 3 }).type, 0x01);
  assert.equal(decode(hex('420020 09 00000008 001FFFFFFFFFFFFF')).value, Number.MAX_SAFE_INTEGER);
  assert.equal(decode(hex('420020 09 00000008 FFE0000000000001')).value, Number.MIN_SAFE_INTEGER);
  assert.equal(decode(hex('420020 06 00000008 0000000000000000')).value, false);
  // A 16-byte Big Integer is minimal when its first block is needed for the sign.
  assert.equal(decode(hex('420020 04 00000010 0000000000000000 8000000000000000')).value, 1n << 63n);
  assert.equal(decode(hex('420020 04 00000010 FFFFFFFFFFFFFFFF 7FFFFFFFFFFFFFFF')).value, -(1n << 63n) - 1n);
  assert.equal(decode(hex('420020 04 00000010 0000000000000001 0000000000000000')).value, 1n << 64n);
  // Extension tags are accepted (KMIP 1.4 §9.1.1.1).
  assert.equal(decode(hex('540001 02 00000004 00000001 00000000')).tag, 0x540001);
});

test('a deeply nested hostile buffer is refused without exhausting the stack', () => {
  // 100 000 structure headers, each claiming the rest of the buffer.
  const n = 100_000;
  const buf = Buffer.alloc(n * 8);
  for (let i = 0; i < n; i++) buf.set(hdr(T, 1, (n - i - 1) * 8), i * 8);
  refuses(() => decode(buf), C.TTLV_TOO_DEEP, 24 * 8);
});

const ENCODE_CASES: { name: string; item: Item; code: string; offset: number }[] = [
  { name: 'Integer 2^31', item: integer(T, 2 ** 31), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Integer -2^31-1', item: integer(T, -(2 ** 31) - 1), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Integer 1.5', item: integer(T, 1.5), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Integer NaN', item: integer(T, NaN), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Long Integer 2^63', item: longInteger(T, 1n << 63n), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Long Integer -2^63-1', item: longInteger(T, -(1n << 63n) - 1n), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Long Integer given a number', item: longInteger(T, 5 as unknown as bigint), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Big Integer given a number', item: bigInteger(T, 5 as unknown as bigint), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Enumeration -1', item: enumeration(T, -1), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Enumeration 2^32', item: enumeration(T, 2 ** 32), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Interval -1', item: interval(T, -1), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Interval 2^32', item: interval(T, 2 ** 32), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Interval 0.5', item: interval(T, 0.5), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Date-Time 1.5', item: dateTime(T, 1.5), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Date-Time 2^53', item: dateTime(T, 2 ** 53), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Date-Time Infinity', item: dateTime(T, Infinity), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Boolean given a string', item: boolean(T, 'yes' as unknown as boolean), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Text String with a lone high surrogate', item: textString(T, 'a\uD800b'), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Text String with a lone low surrogate', item: textString(T, '\uDC00'), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Text String given a number', item: textString(T, 5 as unknown as string), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'Byte String given a string', item: byteString(T, 'abc' as unknown as Buffer), code: C.TTLV_BAD_VALUE, offset: 0 },
  { name: 'unknown item type', item: { tag: T, type: 0x0b, value: 0 } as unknown as Item, code: C.TTLV_BAD_TYPE, offset: 3 },
  { name: 'tag 0x430001', item: integer(0x430001, 1), code: C.TTLV_BAD_TAG, offset: 0 },
  { name: 'tag 0x42 (two bytes)', item: integer(0x42, 1), code: C.TTLV_BAD_TAG, offset: 0 },
  { name: 'tag 0x1420001 (four bytes)', item: integer(0x1420001, 1), code: C.TTLV_BAD_TAG, offset: 0 },
  { name: 'tag -1', item: integer(-1, 1), code: C.TTLV_BAD_TAG, offset: 0 },
  {
    name: 'out-of-range value deep in a structure (offset of the item)',
    item: structure(T, [integer(0x420001, 1), structure(0x420002, [enumeration(0x420003, -5)])]),
    code: C.TTLV_BAD_VALUE,
    offset: 32,
  },
];

for (const c of ENCODE_CASES) {
  test(`encode refuses: ${c.name} (${c.code})`, () => refuses(() => encode(c.item), c.code, c.offset));
}

test('the encoder accepts the exact limits', () => {
  for (const item of [
    integer(T, 2 ** 31 - 1), integer(T, -(2 ** 31)), longInteger(T, (1n << 63n) - 1n), longInteger(T, -(1n << 63n)),
    enumeration(T, 2 ** 32 - 1), interval(T, 2 ** 32 - 1), dateTime(T, Number.MAX_SAFE_INTEGER), textString(T, '\uD83D\uDD11'),
  ]) {
    assert.doesNotThrow(() => encode(item), JSON.stringify(item, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)));
  }
});
