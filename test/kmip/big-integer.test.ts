// Big Integers (KMIP 1.4 §9.1.1.4): two's complement, big-endian, minimal sign extension to a
// multiple of 8 bytes. Decoding and encoding are linear, and values longer than any key material
// needs are refused before any arithmetic on them (a 256 KiB Big Integer used to stall the server
// for seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes, TtlvError } from '../../server/errors.js';
import { decode, MAX_BIG_INTEGER_BYTES } from '../../server/kmip/decode.js';
import { bigIntegerBytes, encode } from '../../server/kmip/encode.js';
import { bigInteger, structure } from '../../server/kmip/item.js';

const T = 0x420020;

/** The obvious definition, as a reference: the smallest multiple of 8 bytes that holds the value. */
function reference(value: bigint): Buffer {
  let bytes = 8;
  while (value < -(1n << BigInt(bytes * 8 - 1)) || value >= 1n << BigInt(bytes * 8 - 1)) bytes += 8;
  let v = value < 0n ? (1n << BigInt(bytes * 8)) + value : value;
  const out = Buffer.alloc(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A raw Big Integer item of `length` value bytes, all `fill`. */
function rawBigInteger(length: number, fill: number): Buffer {
  const b = Buffer.alloc(8 + length, fill);
  b.writeUIntBE(T, 0, 3);
  b[3] = 0x04;
  b.writeUInt32BE(length, 4);
  b[8] = fill === 0xff ? 0x80 : 0x01; // not a redundant sign block
  return b;
}

test('Big Integer encoding agrees with the reference definition (random values up to 16384 bits)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 16383n), max: (1n << 16383n) - 1n }), (v) => {
      const bytes = bigIntegerBytes(v);
      assert.deepEqual(bytes, reference(v));
      const back = decode(encode(bigInteger(T, v)));
      assert.equal(back.value, v);
    }),
    { numRuns: 500 },
  );
});

test('Big Integers at every block boundary round-trip: ±2^k and ±2^k ± 1 for k up to 1100', () => {
  for (let k = 0; k <= 1100; k++) {
    const p = 1n << BigInt(k);
    for (const v of [p, p - 1n, p + 1n, -p, -p - 1n, -p + 1n]) {
      assert.deepEqual(bigIntegerBytes(v), reference(v), `value ±2^${k}`);
      assert.equal(decode(encode(bigInteger(T, v))).value, v, `value ±2^${k}`);
    }
  }
});

test(`the largest Big Integer accepted is ${MAX_BIG_INTEGER_BYTES} bytes (a 16384-bit modulus with its sign block)`, () => {
  const modulus = (1n << 16383n) + 12345n; // top bit set: needs the extra zero block
  const bytes = encode(bigInteger(T, modulus));
  assert.equal(bytes.readUInt32BE(4), MAX_BIG_INTEGER_BYTES);
  assert.equal(decode(bytes).value, modulus);
  assert.equal(decode(rawBigInteger(MAX_BIG_INTEGER_BYTES, 0xff)).type, 0x04);
});

for (const size of [MAX_BIG_INTEGER_BYTES + 8, 256 * 1024, 512 * 1024]) {
  test(`a ${size}-byte Big Integer is refused (TTLV_TOO_LARGE at its length field), also inside a structure`, () => {
    for (const fill of [0x00, 0xff]) {
      const item = rawBigInteger(size, fill);
      assert.throws(() => decode(item), (e: unknown) => e instanceof TtlvError && e.code === ErrorCodes.TTLV_TOO_LARGE && e.offset === 4);
      const wrapped = Buffer.concat([Buffer.from([0x42, 0x00, 0x78, 0x01, 0, 0, 0, 0]), item]);
      wrapped.writeUInt32BE(item.length, 4);
      assert.throws(() => decode(wrapped), (e: unknown) => e instanceof TtlvError && e.code === ErrorCodes.TTLV_TOO_LARGE && e.offset === 12);
    }
  });
}

test('Big Integer work is linear: encoding and decoding 4 MiB values (beyond the wire limit) stays proportional', () => {
  // Not a timing assertion: the figures are printed; the assertion is that large values work at all
  // and agree with each other. (The quadratic code took minutes here.)
  const figures: string[] = [];
  for (const bytes of [64 * 1024, 256 * 1024, 1024 * 1024]) {
    const v = -((1n << BigInt(bytes * 8 - 9)) + 987654321n);
    const t0 = process.hrtime.bigint();
    const enc = bigIntegerBytes(v);
    const t1 = process.hrtime.bigint();
    const item = Buffer.concat([Buffer.from([0x42, 0x00, 0x20, 0x04, 0, 0, 0, 0]), enc]);
    item.writeUInt32BE(enc.length, 4);
    const back = decode(item, { maxBigIntegerBytes: Infinity });
    const t2 = process.hrtime.bigint();
    assert.equal(back.value, v);
    figures.push(`${bytes / 1024} KiB: encode ${Number(t1 - t0) / 1e6} ms, decode ${Number(t2 - t1) / 1e6} ms`);
  }
  console.log(`# Big Integer codec: ${figures.join('; ')}`);
  // A structure of many maximal Big Integers (what a 1 MiB request can carry) decodes to the values.
  const many = structure(0x420078, Array.from({ length: 400 }, (_, i) => bigInteger(T, (1n << 16383n) + BigInt(i))));
  const decoded = decode(encode(many));
  assert.equal(decoded.type === 0x01 && decoded.value.length, 400);
});
