// The encoding examples of KMIP 1.4 §9.1.2 (identical in KMIP 1.0–1.3 §9.1.2): each must encode to
// exactly the spec's bytes and decode back to the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import {
  bigInteger, boolean, byteString, dateTime, enumeration, integer, interval, itemsEqual, longInteger, structure,
  textString, type Item,
} from '../../server/kmip/item.js';
import { assertSameTtlv } from '../support/ttlv.js';

/** "42 00 20 | 02 | …" as written in the spec -> bytes. */
const hex = (s: string) => Buffer.from(s.replace(/[^0-9A-Fa-f]/g, ''), 'hex');

// KMIP 1.4 §9.1.2: every example uses tag 0x420020 (Compromise Date) regardless of its type.
const T = 0x420020;

const EXAMPLES: { name: string; item: Item; bytes: string }[] = [
  // KMIP 1.4 §9.1.2: "An Integer containing the decimal value 8"
  { name: 'Integer 8', item: integer(T, 8), bytes: '42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00' },
  // KMIP 1.4 §9.1.2: "A Long Integer containing the decimal value 123456789000000000"
  {
    name: 'Long Integer 123456789000000000',
    item: longInteger(T, 123456789000000000n),
    bytes: '42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00',
  },
  // KMIP 1.4 §9.1.2: "A Big Integer containing the decimal value 1234567890000000000000000000"
  {
    name: 'Big Integer 1234567890000000000000000000',
    item: bigInteger(T, 1234567890000000000000000000n),
    bytes: '42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00',
  },
  // KMIP 1.4 §9.1.2: "An Enumeration with value 255"
  { name: 'Enumeration 255', item: enumeration(T, 255), bytes: '42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00' },
  // KMIP 1.4 §9.1.2: "A Boolean with the value True"
  { name: 'Boolean True', item: boolean(T, true), bytes: '42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01' },
  // KMIP 1.4 §9.1.2: "A Text String with the value 'Hello World'"
  {
    name: 'Text String "Hello World"',
    item: textString(T, 'Hello World'),
    bytes: '42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00',
  },
  // KMIP 1.4 §9.1.2: "A Byte String with the value { 0x01, 0x02, 0x03 }"
  {
    name: 'Byte String 01 02 03',
    item: byteString(T, Buffer.of(1, 2, 3)),
    bytes: '42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00',
  },
  // KMIP 1.4 §9.1.2: "A Date-Time, containing the value for Friday, March 14, 2008, 11:56:40 GMT"
  {
    name: 'Date-Time 2008-03-14T11:56:40Z',
    item: dateTime(T, Date.UTC(2008, 2, 14, 11, 56, 40) / 1000),
    bytes: '42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8',
  },
  // KMIP 1.4 §9.1.2: "An Interval, containing the value for 10 days"
  { name: 'Interval 10 days', item: interval(T, 10 * 24 * 3600), bytes: '42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00' },
  // KMIP 1.4 §9.1.2: "A Structure containing an Enumeration, value 254, followed by an Integer, value 255,
  // having tags 420004 and 420005 respectively"
  {
    name: 'Structure { Enumeration 254, Integer 255 }',
    item: structure(T, [enumeration(0x420004, 254), integer(0x420005, 255)]),
    bytes:
      '42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | ' +
      '42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00',
  },
];

for (const ex of EXAMPLES) {
  test(`KMIP 1.4 §9.1.2 example: ${ex.name}`, () => {
    const expected = hex(ex.bytes);
    assertSameTtlv(encode(ex.item), expected, 'encode gives the spec bytes');
    const decoded = decode(expected);
    assert.ok(itemsEqual(decoded, ex.item), `decode gives back the value: ${JSON.stringify(decoded, replacer)}`);
    // itemsEqual compares values with ===; spell out the value too so a type mix-up (number vs bigint) shows.
    assert.deepEqual(decoded, ex.item);
  });
}

test('the Date-Time example is 0x47DA67F8 seconds since the epoch', () => {
  assert.equal(Date.UTC(2008, 2, 14, 11, 56, 40) / 1000, 0x47da67f8);
  assert.equal(new Date(0x47da67f8 * 1000).toUTCString(), 'Fri, 14 Mar 2008 11:56:40 GMT');
});

function replacer(_k: string, v: unknown) {
  return typeof v === 'bigint' ? `${v}n` : v;
}
