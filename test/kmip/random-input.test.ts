// Random input, bounded and reproducible (fast-check; test/support/property.ts): decode either returns
// an item that re-encodes to exactly the input bytes (the codec is canonical) or throws a TtlvError —
// never anything else. The framer and the request parser get the same treatment. A failure prints the
// seed to replay it (KH_SEED) and the input, shrunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KmipError, TtlvError } from '../../server/errors.js';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import { TtlvFramer } from '../../server/kmip/framer.js';
import {
  bigInteger, boolean, byteString, dateTime, enumeration, integer, interval, longInteger, structure, textString,
  type Item,
} from '../../server/kmip/item.js';
import { parseRequest } from '../../server/kmip/message.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { drawFrom, runParameters, type Draw as Rng } from '../support/property.js';
import { attribute, av, createAes, request, withUid } from '../support/requests.js';
import { showTtlv } from '../support/ttlv.js';

const RANDOM_BUFFERS = 20_000;
const MUTATIONS = 20_000;

/** Checks the property for one input; returns the outcome for statistics. */
function check(buf: Buffer, what: string): 'ok' | 'refused' {
  let item: Item;
  try {
    item = decode(buf);
  } catch (e) {
    if (e instanceof TtlvError) {
      assert.ok(e.offset >= 0 && e.offset <= buf.length, `${what}: offset ${e.offset} outside 0..${buf.length}`);
      return 'refused';
    }
    assert.fail(`${what}: decode threw ${String(e)} (not a TtlvError) for ${buf.toString('hex')}`);
  }
  let again: Buffer;
  try {
    again = encode(item);
  } catch (e) {
    assert.fail(`${what}: a decoded item failed to re-encode (${String(e)}) for ${buf.toString('hex')}`);
  }
  if (!again.equals(buf)) assert.fail(`${what}: re-encoding differs\n in:  ${buf.toString('hex')}\n out: ${again.toString('hex')}\ndecoded:\n${showTtlv(buf)}`);
  return 'ok';
}

/** A random header-ish buffer: biased towards valid tags, types and lengths so decoding goes deep. */
function randomBuffer(r: Rng): Buffer {
  if (r.float() < 0.5) return randomPrimitive(r);
  const parts: Buffer[] = [];
  const items = 1 + r.int(6);
  for (let i = 0; i < items; i++) {
    const h = Buffer.alloc(8);
    h[0] = r.float() < 0.9 ? 0x42 : r.float() < 0.5 ? 0x54 : r.int(256);
    h[1] = r.float() < 0.8 ? 0 : r.int(256);
    h[2] = r.int(256);
    h[3] = r.float() < 0.9 ? 1 + r.int(10) : r.int(256);
    const len = r.float() < 0.3 ? r.pick([0, 1, 3, 4, 8, 12, 16, 24, 32]) : r.float() < 0.9 ? r.int(64) : r.int(2 ** 32);
    h.writeUInt32BE(len >>> 0, 4);
    parts.push(h);
    if (r.float() < 0.8) parts.push(r.float() < 0.5 ? Buffer.alloc(r.int(40)) : r.bytes(r.int(40)));
  }
  return Buffer.concat(parts);
}

const FIXED: Record<number, number> = { 2: 4, 3: 8, 5: 4, 6: 8, 9: 8, 10: 4 };

/** One non-structure item with a plausible length and random value bytes (random UTF-8, Booleans, Big Integers…). */
function randomPrimitive(r: Rng): Buffer {
  const type = 2 + r.int(9);
  const length = FIXED[type] ?? (type === 4 ? 8 * (1 + r.int(3)) : r.int(20));
  const h = Buffer.alloc(8);
  h.writeUIntBE(0x420000 + r.int(0x130), 0, 3);
  h[3] = type;
  h.writeUInt32BE(length, 4);
  const padded = Math.ceil(length / 8) * 8;
  const value = Buffer.alloc(padded);
  // Mostly small values (valid Booleans, Date-Times, ASCII), sometimes anything.
  const v = r.float() < 0.5 ? Buffer.from(r.bytes(length).map((x) => x & 0x7f)) : r.bytes(length);
  if (type === 6 || type === 9) v.fill(0, 0, r.float() < 0.7 ? 7 : 0);
  if (type === 4 && r.float() < 0.3) v.fill(r.float() < 0.5 ? 0 : 0xff, 0, 8); // sign blocks, redundant or not
  if (type === 7 && r.float() < 0.05) Buffer.from('\uFEFF').copy(v); // a leading BOM
  v.copy(value);
  if (r.float() < 0.1) value[padded - 1] = 1; // non-zero padding now and then
  return Buffer.concat([h, value]);
}

function randomItem(r: Rng, depth = 0): Item {
  const tag = r.float() < 0.9 ? 0x420001 + r.int(0x130) : 0x540000 + r.int(0x10000);
  switch (depth > 4 ? 2 + r.int(9) : 1 + r.int(10)) {
    case 1: return structure(tag, Array.from({ length: r.int(5) }, () => randomItem(r, depth + 1)));
    case 2: return integer(tag, r.int(2 ** 32) - 2 ** 31);
    case 3: return longInteger(tag, BigInt.asIntN(64, BigInt('0x' + r.bytes(8).toString('hex'))));
    case 4: return bigInteger(tag, BigInt.asIntN(8 * (1 + r.int(40)), BigInt('0x' + r.bytes(41).toString('hex'))));
    case 5: return enumeration(tag, r.int(2 ** 32));
    case 6: return boolean(tag, r.float() < 0.5);
    case 7: return textString(tag, r.pick(['', 'a', 'Hello World', 'clé 🔑 日本', '\uFEFF', 'x'.repeat(r.int(30))]));
    case 8: return byteString(tag, r.bytes(r.int(30)));
    case 9: return dateTime(tag, r.int(2 ** 40) - 2 ** 39);
    default: return interval(tag, r.int(2 ** 32));
  }
}

/** Valid requests to mutate (besides random item trees). */
const REQUESTS = [
  request([createAes()]),
  request([createAes(128, [attribute('Name', av.name('fuzz key'))]), withUid(Enum.Operation.Activate)], { minor: 2 }),
  request([withUid(Enum.Operation.Get, 'a-uid'), withUid(Enum.Operation.Destroy, 'a-uid')], { minor: 0 }),
  request([{ operation: Enum.Operation.Locate, payload: [attribute('Object Type', av.enum(Enum.ObjectType.SymmetricKey))] }]),
  request([{ operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, 1)] }], {
    header: [integer(Tag.MaximumResponseSize, 4096), textString(Tag.ClientCorrelationValue, 'corr')],
  }),
];

/** A valid message to mutate: one of REQUESTS (1 in 9) or a random item tree. */
const validMessage = (r: Rng): Buffer => (r.int(9) === 0 ? r.pick(REQUESTS) : encode(randomItem(r)));

function mutate(r: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const kind = r.int(9);
  const at = r.int(Math.max(1, b.length));
  switch (kind) {
    case 0: b[at] = r.int(256); return b; // overwrite a byte
    case 1: b[at] = b[at]! ^ (1 << r.int(8)); return b; // flip a bit
    case 2: return b.subarray(0, at); // truncate
    case 3: return Buffer.concat([b, r.bytes(1 + r.int(16))]); // append garbage
    case 4: return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 8))]); // delete 8 bytes
    case 5: return Buffer.concat([b.subarray(0, at & ~7), r.bytes(8), b.subarray(at & ~7)]); // insert 8 bytes at an item boundary
    case 6: { // rewrite a length field (4 bytes at 8k+4) with a nearby or wild value
      const p = (at & ~7) + 4;
      if (p + 4 <= b.length) b.writeUInt32BE((b.readUInt32BE(p) + r.pick([-8, -1, 1, 8, 16, 2 ** 31])) >>> 0, p);
      return b;
    }
    case 7: { // change a type byte
      const p = (at & ~7) + 3;
      if (p < b.length) b[p] = r.int(12);
      return b;
    }
    default: { // splice in a piece of itself
      const from = r.int(b.length);
      const len = r.int(32);
      return Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
    }
  }
}

test(`decode on ${RANDOM_BUFFERS} random buffers`, (t) => {
  const stats = { ok: 0, refused: 0 };
  fc.assert(
    fc.property(fc.gen(), (g) => {
      stats[check(randomBuffer(drawFrom(g)), 'random buffer')]++;
    }),
    runParameters(t, RANDOM_BUFFERS),
  );
  // Sanity: the generator reaches both outcomes, so the property is exercised both ways.
  assert.ok(stats.ok > 100 && stats.refused > 100, JSON.stringify(stats));
});

test(`decode on ${MUTATIONS} mutations of valid messages`, (t) => {
  for (const v of REQUESTS) assert.equal(check(v, 'request'), 'ok');
  const stats = { ok: 0, refused: 0 };
  fc.assert(
    fc.property(fc.gen(), (g) => {
      const r = drawFrom(g);
      let b = validMessage(r);
      for (let k = 1 + r.int(3); k > 0; k--) b = mutate(r, b);
      stats[check(b, 'mutation')]++;
    }),
    runParameters(t, MUTATIONS),
  );
  assert.ok(stats.ok > 100 && stats.refused > 100, JSON.stringify(stats));
});

test('random items round-trip', (t) => {
  fc.assert(
    fc.property(fc.gen(), (g) => {
      assert.equal(check(encode(randomItem(drawFrom(g))), 'random item'), 'ok');
    }),
    runParameters(t, 3000),
  );
});

test('the framer on mutated streams throws only TtlvError and delivers only whole headers', (t) => {
  const valid = REQUESTS.filter((b) => b[2] === 0x78);
  fc.assert(
    fc.property(fc.gen(), (g) => {
      const r = drawFrom(g);
      const stream = Buffer.concat(Array.from({ length: 1 + r.int(4) }, () => (r.float() < 0.7 ? r.pick(valid) : mutate(r, r.pick(valid)))));
      const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: Tag.RequestMessage });
      let delivered = 0;
      try {
        for (let at = 0; at < stream.length; ) {
          const n = 1 + r.int(64);
          f.push(stream.subarray(at, at + n), (m) => {
            delivered += m.length;
            assert.equal(m.readUInt32BE(4) + 8, m.length, 'a delivered message is exactly its declared length');
            assert.equal(m.readUIntBE(0, 3), Tag.RequestMessage);
          });
          at += n;
        }
        assert.equal(delivered + f.pending, stream.length, 'every byte is delivered or pending');
      } catch (e) {
        if (!(e instanceof TtlvError)) throw new Error(`${String(e)} for ${stream.toString('hex')}`);
      }
    }),
    runParameters(t, 3000),
  );
});

test('parseRequest on mutated requests throws only KmipError or TtlvError', (t) => {
  let parsed = 0;
  fc.assert(
    fc.property(fc.gen(), (g) => {
      const r = drawFrom(g);
      const b = mutate(r, r.pick(REQUESTS));
      try {
        parseRequest(decode(b));
        parsed++;
      } catch (e) {
        if (!(e instanceof KmipError) && !(e instanceof TtlvError)) {
          assert.fail(`parseRequest threw ${(e as Error)?.stack ?? String(e)} for ${b.toString('hex')}`);
        }
      }
    }),
    runParameters(t, 5000),
  );
  assert.ok(parsed > 0, 'some mutations still parse');
});
