// The TTLV pretty-printer (server/kmip/ttlv-print.ts) and `keyhaven ttlv print`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import {
  bigInteger, boolean, byteString, dateTime, enumeration, integer, interval, longInteger, structure, textString,
} from '../../server/kmip/item.js';
import { printItem, printTtlv } from '../../server/kmip/ttlv-print.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { TtlvError } from '../../server/kmip/errors.js';
import { ttlvInput } from '../../server/ttlv-command.js';
import { attribute, av, createAes, request, withUid } from '../support/requests.js';
import { assertSameTtlv } from '../support/ttlv.js';

test('a Create request prints with tag, type and enumeration names, masks by bit', () => {
  const bytes = request([createAes(256, [attribute('Name', av.name('k1'))])], { minor: 2 });
  assert.equal(
    printTtlv(bytes),
    [
      'Request Message (Structure):',
      '  Request Header (Structure):',
      '    Protocol Version (Structure):',
      '      Protocol Version Major (Integer): 1',
      '      Protocol Version Minor (Integer): 2',
      '    Batch Count (Integer): 1',
      '  Batch Item (Structure):',
      '    Operation (Enumeration): Create (0x00000001)',
      '    Request Payload (Structure):',
      '      Object Type (Enumeration): Symmetric Key (0x00000002)',
      '      Template-Attribute (Structure):',
      '        Attribute (Structure):',
      '          Attribute Name (Text String): "Cryptographic Algorithm"',
      '          Attribute Value (Enumeration): AES (0x00000003)',
      '        Attribute (Structure):',
      '          Attribute Name (Text String): "Cryptographic Length"',
      '          Attribute Value (Integer): 256',
      '        Attribute (Structure):',
      '          Attribute Name (Text String): "Cryptographic Usage Mask"',
      '          Attribute Value (Integer): Encrypt|Decrypt (0x0000000C)',
      '        Attribute (Structure):',
      '          Attribute Name (Text String): "Name"',
      '          Attribute Value (Structure):',
      '            Name Value (Text String): "k1"',
      '            Name Type (Enumeration): Uninterpreted Text String (0x00000001)',
    ].join('\n'),
  );
});

test('printing the bytes and printing the decoded item agree; several messages print one after another', () => {
  const messages = [
    request([createAes()]),
    request([withUid(Enum.Operation.Get, 'uid-1'), withUid(Enum.Operation.Destroy, 'uid-1')], { minor: 0 }),
    request([{ operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, 1)] }]),
  ];
  for (const m of messages) {
    assert.equal(printTtlv(m), printItem(decode(m)));
    // The printed form names every item of the message: one line per item.
    const items = (function count(b: Buffer): number {
      const it = decode(b);
      const walk = (x: typeof it): number => 1 + (x.type === 0x01 ? x.value.reduce((n, c) => n + walk(c), 0) : 0);
      return walk(it);
    })(m);
    assert.equal(printTtlv(m).split('\n').length, items);
  }
  assert.equal(printTtlv(Buffer.concat(messages)), messages.map((m) => printTtlv(m)).join('\n'));
});

test('every item type prints its value', () => {
  const T = Tag.ApplicationData; // one tag for every type, as KMIP 1.4 §9.1.2's examples do
  const item = structure(0x540001, [
    integer(T, -8),
    longInteger(T, 123456789000000000n),
    bigInteger(T, 1234567890000000000000000000n),
    bigInteger(T, -5n),
    enumeration(T, 255),
    enumeration(Tag.State, Enum.State.Active),
    enumeration(Tag.State, 0x80000001),
    boolean(T, true),
    textString(T, 'Hello "World"\n'),
    byteString(T, Buffer.of(1, 2, 3)),
    byteString(T, Buffer.alloc(40, 0xab)),
    dateTime(T, Date.UTC(2008, 2, 14, 11, 56, 40) / 1000),
    interval(T, 864000),
    integer(Tag.CryptographicUsageMask, 0x40000004),
    structure(T, []),
  ]);
  assert.equal(
    printTtlv(encode(item)),
    [
      '0x540001 (Structure):',
      '  Application Data (Integer): -8',
      '  Application Data (Long Integer): 123456789000000000',
      '  Application Data (Big Integer): 0x3fd35eb6bc2df4618080000',
      '  Application Data (Big Integer): -5',
      '  Application Data (Enumeration): 0x000000FF',
      '  State (Enumeration): Active (0x00000002)',
      '  State (Enumeration): 0x80000001',
      '  Application Data (Boolean): true',
      '  Application Data (Text String): "Hello \\"World\\"\\n"',
      '  Application Data (Byte String): 010203',
      `  Application Data (Byte String): ${'ab'.repeat(32)}… (40 bytes)`,
      '  Application Data (Date-Time): 2008-03-14T11:56:40Z (1205495800)',
      '  Application Data (Interval): 864000 s',
      '  Cryptographic Usage Mask (Integer): Encrypt|0x40000000 (0x40000004)',
      '  Application Data (Structure): (empty)',
    ].join('\n'),
  );
  assert.match(printItem(textString(T, 'x'.repeat(300))), /"x{200}"… \(300 characters\)$/);
  assert.match(printItem(byteString(T, Buffer.alloc(10)), { maxBytes: 4 }), /: 00000000… \(10 bytes\)$/);
  assert.match(printItem(bigInteger(T, 1n << 600n)), /: 0x10{63}… \(76 bytes\)$/);
});

test('malformed input is refused with the decoder\'s error and the byte offset', () => {
  const good = request([createAes()]);
  const cases: [Buffer, RegExp, string][] = [
    [Buffer.alloc(0), /no bytes to print/, 'KH_TTLV_TRUNCATED'],
    [good.subarray(0, good.length - 8), /declares \d+ bytes but \d+ remain/, 'KH_TTLV_TRUNCATED'],
    [Buffer.concat([good, Buffer.alloc(3)]), /3 bytes after the last item, fewer than an item header \(at byte \d+\)/, 'KH_TTLV_TRUNCATED'],
    [Buffer.from('420020 0b 00000004 00000008 00000000'.replace(/ /g, ''), 'hex'), /type/i, 'KH_TTLV_BAD_TYPE'],
    [Buffer.from('420020 06 00000008 0000000000000002'.replace(/ /g, ''), 'hex'), /Boolean/, 'KH_TTLV_BAD_VALUE'],
  ];
  for (const [bytes, message, code] of cases) {
    assert.throws(() => printTtlv(bytes), (e: unknown) => e instanceof TtlvError && e.code === code && message.test(e.message), `${bytes.toString('hex')}`);
  }
  // In the second of two messages, the offset counts from the start of the input.
  const broken = Buffer.from(good);
  broken[good.length - 1] = 1; // padding must be zero
  assert.throws(() => printTtlv(Buffer.concat([good, broken])), (e: unknown) => e instanceof TtlvError && e.offset >= good.length && /in the item at byte \d+/.test(e.message));
});

test('assertSameTtlv shows both sides printed and where they part', () => {
  const a = request([createAes(128)]);
  const b = request([createAes(256)]);
  assertSameTtlv(a, Buffer.from(a));
  assert.throws(() => assertSameTtlv(a, b), (e: Error) => /first difference at byte \d+/.test(e.message) && /Attribute Value \(Integer\): 128/.test(e.message) && /Attribute Value \(Integer\): 256/.test(e.message));
});

test('keyhaven ttlv print reads hex or binary from a file or standard input', () => {
  const bytes = request([createAes()]);
  assert.ok(ttlvInput(Buffer.from(bytes.toString('hex').replace(/(.{32})/g, '$1\n'))).equals(bytes), 'hex with line breaks');
  assert.ok(ttlvInput(bytes).equals(bytes), 'binary');
  assert.throws(() => ttlvInput(Buffer.from('420')), /odd number of digits/);

  const bin = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));
  const run = (args: string[], input: Buffer | string) => spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });
  const hexRun = run(['ttlv', 'print'], bytes.toString('hex'));
  assert.equal(hexRun.status, 0, hexRun.stderr);
  assert.equal(hexRun.stdout, `${printTtlv(bytes)}\n`);
  const binRun = run(['ttlv', 'print', '-'], bytes);
  assert.equal(binRun.stdout, hexRun.stdout);
  const bad = run(['ttlv', 'print'], '4200780100000010');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /declares 16 bytes but 0 remain.*\[KH_TTLV_TRUNCATED\]/);
  const missing = run(['ttlv', 'print', '/nonexistent/capture.bin'], '');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read \/nonexistent\/capture.bin/);
});
