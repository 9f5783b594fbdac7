// The framer turns a byte stream cut anywhere into whole messages (as pg-protocol's Parser does), and
// refuses a bad stream from its header alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes, TtlvError } from '../../server/errors.js';
import { encode } from '../../server/kmip/encode.js';
import { byteString, integer, structure, textString } from '../../server/kmip/item.js';
import { TtlvFramer } from '../../server/kmip/framer.js';
import { Tag } from '../../server/kmip/tables.js';
import { runParameters } from '../support/property.js';
import { assertSameTtlv } from '../support/ttlv.js';

const REQ = Tag.RequestMessage; // 0x420078

/** A request-shaped message of roughly `size` bytes, with content derived from `n`. */
function message(n: number, size = 64): Buffer {
  const fill = Buffer.alloc(Math.max(0, size - 40), n & 0xff);
  return encode(structure(REQ, [integer(Tag.BatchCount, n), byteString(Tag.Data, fill), textString(Tag.Comment, `m${n}`)]));
}

function feed(framer: TtlvFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) framer.push(c, (m) => out.push(m));
  return out;
}

function refuses(fn: () => unknown, code: string, offset: number) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TtlvError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.offset, offset, e.message);
    return true;
  });
}

const MESSAGES = [message(1, 16), message(2, 64), message(3, 8), message(4, 200), message(5, 1000)];
const STREAM = Buffer.concat(MESSAGES);

test('the whole stream in one chunk yields every message', () => {
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  const out = feed(f, [STREAM]);
  assert.deepEqual(out.map((m) => m.toString('hex')), MESSAGES.map((m) => m.toString('hex')));
  assert.equal(f.pending, 0);
});

test('the stream split at every byte boundary yields the same messages', () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
    const out = feed(f, [STREAM.subarray(0, cut), STREAM.subarray(cut)]);
    assert.equal(out.length, MESSAGES.length, `cut at ${cut}`);
    out.forEach((m, i) => assert.ok(m.equals(MESSAGES[i]!), `cut at ${cut}, message ${i}`));
    assert.equal(f.pending, 0, `cut at ${cut}`);
  }
});

test('the stream split at every pair of boundaries (three chunks) yields the same messages', () => {
  const small = Buffer.concat([message(1, 16), message(2, 8), message(3, 24)]);
  const expected = [message(1, 16), message(2, 8), message(3, 24)];
  for (let a = 0; a <= small.length; a++) {
    for (let b = a; b <= small.length; b++) {
      const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
      const out = feed(f, [small.subarray(0, a), small.subarray(a, b), small.subarray(b)]);
      assert.deepEqual(out.map((m) => m.toString('hex')), expected.map((m) => m.toString('hex')), `cuts ${a}, ${b}`);
    }
  }
});

test('one byte at a time, with pending accounting after every byte', () => {
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  const out: Buffer[] = [];
  let consumed = 0;
  for (let i = 0; i < STREAM.length; i++) {
    f.push(STREAM.subarray(i, i + 1), (m) => {
      out.push(m);
      consumed += m.length;
    });
    assert.equal(f.pending, i + 1 - consumed, `pending after byte ${i}`);
  }
  assert.equal(out.length, MESSAGES.length);
  out.forEach((m, i) => assert.ok(m.equals(MESSAGES[i]!)));
});

// Chunk sizes: empty, tiny and large, up to 600 of them (size 'max': fast-check's default size would
// stop this array at 12 elements). The stream is cut by them in turn, starting over at the first when
// they run out, until it is covered: every chunk is one of the drawn sizes (the last one cut short
// by the end of the stream), never a remainder in one piece.
const chunkSizes = fc
  .array(
    fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 400 }) }),
    { minLength: 1, maxLength: 600, size: 'max' },
  )
  .filter((sizes) => sizes.some((n) => n > 0));

/** STREAM cut by `sizes` in turn, over and over, until it is covered. */
function cut(sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < STREAM.length; i = (i + 1) % sizes.length) {
    const n = sizes[i]!;
    chunks.push(STREAM.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

test('random chunkings yield the same messages (fast-check, 300 runs)', (t) => {
  let mostDraws = 0; // the most drawn sizes a run cut the stream with before starting over
  fc.assert(
    fc.property(chunkSizes, (sizes) => {
      const chunks = cut(sizes);
      mostDraws = Math.max(mostDraws, Math.min(sizes.length, chunks.length));
      assert.ok(Buffer.concat(chunks).equals(STREAM), 'the chunks are the stream');
      chunks.forEach((c, i) => assert.ok(c.length === sizes[i % sizes.length] || i === chunks.length - 1, `chunk ${i} has a drawn size`));
      const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
      const out = feed(f, chunks);
      assert.equal(out.length, MESSAGES.length);
      out.forEach((m, i) => assertSameTtlv(m, MESSAGES[i]!, `message ${i}`));
      assert.equal(f.pending, 0);
    }),
    runParameters(t, 300),
  );
  // The runs use more drawn sizes than fast-check's default size allows (12); a replay of one path may not.
  if (!process.env['KH_PATH']) assert.ok(mostDraws > 20, `at most ${mostDraws} drawn sizes used in a run`);
});

test('messages handed out stay intact when the caller reuses its chunk buffers', () => {
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  const out: Buffer[] = [];
  const scratch = Buffer.alloc(STREAM.length);
  // Feed through one reused scratch buffer in 7-byte pieces, overwriting it after every push.
  for (let at = 0; at < STREAM.length; at += 7) {
    const n = STREAM.copy(scratch, 0, at, Math.min(STREAM.length, at + 7));
    f.push(scratch.subarray(0, n), (m) => out.push(m));
    scratch.fill(0xcc);
  }
  out.forEach((m, i) => assert.ok(m.equals(MESSAGES[i]!), `message ${i}`));
  // Several messages delivered from one chunk are independent copies too.
  const chunk = Buffer.from(STREAM);
  const f2 = new TtlvFramer({ maxMessageSize: 4096 });
  const out2 = feed(f2, [chunk]);
  chunk.fill(0);
  out2.slice(0, -1).forEach((m, i) => assert.ok(m.equals(MESSAGES[i]!), `message ${i} from a shared chunk`));
});

test('an oversized message is refused from its header alone, before the body arrives', () => {
  const big = message(9, 2000);
  const f = new TtlvFramer({ maxMessageSize: 1024, expectTag: REQ });
  // The first 7 header bytes are fine; the 8th completes the length, which is too large.
  for (let i = 0; i < 7; i++) f.push(big.subarray(i, i + 1), () => assert.fail('no message'));
  assert.equal(f.pending, 7);
  refuses(() => f.push(big.subarray(7, 8), () => {}), ErrorCodes.TTLV_TOO_LARGE, 4);
  // Exactly at the limit is accepted.
  const exact = encode(structure(REQ, [byteString(Tag.Data, Buffer.alloc(1024 - 16, 3))]));
  assert.equal(exact.length, 1024);
  assert.equal(feed(new TtlvFramer({ maxMessageSize: 1024 }), [exact]).length, 1);
  refuses(() => feed(new TtlvFramer({ maxMessageSize: 1023 }), [exact.subarray(0, 8)]), ErrorCodes.TTLV_TOO_LARGE, 4);
});

test('an oversized second message is refused with its stream offset', () => {
  const f = new TtlvFramer({ maxMessageSize: 100, expectTag: REQ });
  const first = message(1, 64);
  const out: Buffer[] = [];
  refuses(() => f.push(Buffer.concat([first, message(2, 400).subarray(0, 8)]), (m) => out.push(m)), ErrorCodes.TTLV_TOO_LARGE, first.length + 4);
  assert.equal(out.length, 1, 'the valid message before it was delivered');
});

test('a wrong top-level tag is refused at the first byte that differs', () => {
  // 0x43: refused at the very first byte.
  refuses(() => new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ }).push(Buffer.of(0x43), () => {}), ErrorCodes.TTLV_BAD_TAG, 0);
  // 0x54 extension tags are not messages either.
  refuses(() => new TtlvFramer({ maxMessageSize: 4096 }).push(Buffer.of(0x54), () => {}), ErrorCodes.TTLV_BAD_TAG, 0);
  // Response Message tag (0x42007B) where a Request (0x420078) is expected: refused at the third byte.
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  f.push(Buffer.of(0x42), () => {});
  f.push(Buffer.of(0x00), () => {});
  assert.equal(f.pending, 2);
  refuses(() => f.push(Buffer.of(0x7b), () => {}), ErrorCodes.TTLV_BAD_TAG, 0);
  // Second byte wrong.
  refuses(() => new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ }).push(Buffer.of(0x42, 0x01), () => {}), ErrorCodes.TTLV_BAD_TAG, 0);
  // Without expectTag any 0x42 tag is a message.
  const any = new TtlvFramer({ maxMessageSize: 4096 });
  const resp = encode(structure(Tag.ResponseMessage, [integer(Tag.BatchCount, 1)]));
  assert.equal(feed(any, [resp]).length, 1);
});

test('a non-structure message is refused at its type byte', () => {
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  f.push(Buffer.of(0x42, 0x00, 0x78), () => {});
  refuses(() => f.push(Buffer.of(0x02), () => {}), ErrorCodes.TTLV_BAD_TYPE, 3);
  const g = new TtlvFramer({ maxMessageSize: 4096 });
  refuses(() => g.push(encode(integer(REQ, 1)), () => {}), ErrorCodes.TTLV_BAD_TYPE, 3);
});

test('a wrong tag in a later message is refused at that message\'s stream offset', () => {
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  const first = message(1, 32);
  const out: Buffer[] = [];
  f.push(first.subarray(0, 10), (m) => out.push(m));
  f.push(Buffer.concat([first.subarray(10), Buffer.of(0x42, 0x00)]), (m) => out.push(m));
  assert.equal(out.length, 1);
  assert.equal(f.pending, 2);
  refuses(() => f.push(Buffer.of(0x79), () => {}), ErrorCodes.TTLV_BAD_TAG, first.length);
});

test('a message length that is not a multiple of 8 is refused from the header', () => {
  const h = Buffer.from('42007801' + '0000000c', 'hex');
  refuses(() => new TtlvFramer({ maxMessageSize: 4096 }).push(h, () => {}), ErrorCodes.TTLV_BAD_LENGTH, 4);
});

test('an empty structure message (header only) is a whole message', () => {
  const empty = encode(structure(REQ, []));
  const f = new TtlvFramer({ maxMessageSize: 4096, expectTag: REQ });
  const out = feed(f, [empty.subarray(0, 3), empty.subarray(3), empty]);
  assert.equal(out.length, 2);
  assert.equal(f.pending, 0);
});

test('a large message in tiny chunks is assembled in linear time', () => {
  // 1 MiB delivered 16 bytes at a time: a framer that re-concatenates its buffer on every push
  // copies ~32 GiB here and takes minutes; one that copies each byte once takes milliseconds.
  const big = encode(structure(REQ, [byteString(Tag.Data, Buffer.alloc(1024 * 1024 - 16, 7))]));
  const f = new TtlvFramer({ maxMessageSize: 2 * 1024 * 1024, expectTag: REQ });
  const out: Buffer[] = [];
  const started = process.hrtime.bigint();
  for (let at = 0; at < big.length; at += 16) f.push(big.subarray(at, at + 16), (m) => out.push(m));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(out.length, 1);
  assert.ok(out[0]!.equals(big));
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
});
