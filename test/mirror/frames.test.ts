// The mirroring protocol's framing and message checks: frames survive any split of the stream, an
// oversized length is refused from the header, and every message is checked before it is used.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { frame, FrameError, FrameReader } from '../../server/mirror/frames.js';
import { agreeVersion, checkChanges, parseMessage, PROTOCOL, receiverMessage, senderMessage } from '../../server/mirror/protocol.js';
import { runParameters } from '../support/property.js';

const messages = [
  { t: 'hello', versions: [1, 1], node: 'na', group: 'g1', log: 'l1', head: 7 },
  { t: 'changes', items: [{ seq: 3, u: 'x', r: '{"u":"x"}', m: 'AAEC' }, { seq: 5, u: 'y', r: '{"u":"y"}' }], upTo: 6 },
  { t: 'digest', digest: 'ab'.repeat(32), head: 6, applied: 2 },
];

test('frames split at every boundary come out whole and in order', () => {
  const stream = Buffer.concat(messages.map(frame));
  for (let a = 0; a <= stream.length; a++) {
    for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 7)]) {
      const r = new FrameReader();
      const out = [...r.push(stream.subarray(0, a)), ...r.push(stream.subarray(a, b)), ...r.push(stream.subarray(b))];
      assert.deepEqual(out.map((x) => JSON.parse(x.toString())), messages, `split at ${a}, ${b}`);
      assert.equal(r.pending, 0);
    }
  }
});

test('random splits of random messages: the same messages', (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (values, cuts) => {
      const stream = Buffer.concat(values.map(frame));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
      const r = new FrameReader();
      const out: Buffer[] = [];
      let at = 0;
      for (const p of [...points, stream.length]) {
        out.push(...r.push(stream.subarray(at, p)));
        at = p;
      }
      assert.deepEqual(out.map((x) => JSON.parse(x.toString())), values.map((v) => JSON.parse(JSON.stringify(v))));
    }),
    runParameters(t, 200),
  );
});

test('an oversized frame is refused from its header, before its body arrives', () => {
  const r = new FrameReader(1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025);
  assert.throws(() => r.push(header), (e: unknown) => e instanceof FrameError && /1025 bytes announced; at most 1024/.test((e as Error).message));
});

test('messages are checked: unknown types, extra fields, bad values are refused with the reason', () => {
  for (const m of messages) assert.equal(parseMessage(senderMessage, Buffer.from(JSON.stringify(m))).ok, true, m.t);
  const bad: [unknown, RegExp][] = [
    [{ t: 'hello', versions: [1, 1], node: 'na', group: 'g', log: 'l', head: 1, extra: 1 }, /malformed or unknown message "hello"/],
    [{ t: 'gossip' }, /unknown message "gossip"/],
    [{ t: 'changes', items: [{ seq: -1, u: 'x', r: '{}' }], upTo: 1 }, /items\.0\.seq/],
    [{ t: 'hello', versions: [3, 1], node: 'na', group: 'g', log: 'l', head: 1 }, /versions are \[lowest, highest\]/],
    [{ t: 'hello', versions: [1, 1], node: 'n a', group: 'g', log: 'l', head: 1 }, /node/],
  ];
  for (const [m, why] of bad) {
    const r = parseMessage(senderMessage, Buffer.from(JSON.stringify(m)));
    assert.equal(r.ok, false);
    assert.match((r as { problem: string }).problem, why);
  }
  assert.match((parseMessage(senderMessage, Buffer.from('{nope')) as { problem: string }).problem, /not JSON/);
  // The receiver's messages are a schema of their own: a sender's message is not one.
  assert.equal(parseMessage(receiverMessage, Buffer.from(JSON.stringify(messages[0]))).ok, false);
});

test('the hand check of changes gives the zod schema\'s verdict on valid and broken messages alike', (t) => {
  // Values near each rule's edges, valid or not; fields sometimes missing, sometimes extra.
  const seq = fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER, -1, 1.5, Number.MAX_SAFE_INTEGER + 1), fc.constantFrom('3', null, true));
  const text = fc.oneof(fc.constantFrom('', 'x', 'ab', '{"u":"x"}', 'é'.repeat(1024), 'a'.repeat(1025)), fc.constantFrom(7, null, ['x']));
  const goodItem = fc.record({ seq: fc.nat(), u: fc.constantFrom('x', 'a-1'), r: fc.constantFrom('{}', '{"u":"x"}'), m: fc.constantFrom('', 'AAEC') }, { requiredKeys: ['seq', 'u', 'r'] });
  const item = fc.oneof(
    { arbitrary: goodItem, weight: 6 },
    { arbitrary: fc.record({ seq, u: text, r: text, m: text, extra: fc.constant(1) }, { requiredKeys: [] }), weight: 1 },
    { arbitrary: fc.constantFrom(null, 3, 'item', [1]), weight: 1 },
  );
  const message = fc.oneof(
    fc.record({ t: fc.constant('changes'), items: fc.array(item, { maxLength: 3 }), upTo: fc.nat() }),
    fc.record({ t: fc.constant('changes'), items: fc.oneof(fc.array(item, { maxLength: 4 }), fc.constantFrom(null, {}, 'x')), upTo: seq, other: fc.constant(0) }, { requiredKeys: ['t'] }),
  );
  let valid = 0;
  fc.assert(
    fc.property(message, (m) => {
      const zod = senderMessage.safeParse(m).success;
      const hand = checkChanges(m as Record<string, unknown>) === undefined;
      if (zod) valid++;
      assert.equal(hand, zod, JSON.stringify(m).slice(0, 300));
      assert.equal(parseMessage(senderMessage, Buffer.from(JSON.stringify(m))).ok, zod);
    }),
    runParameters(t, 3000),
  );
  assert.ok(valid > 200 && valid < 2800, `the generator made ${valid} valid messages: both verdicts were exercised`);
  // Bounds of the list itself.
  const many = { t: 'changes', items: Array.from({ length: 4097 }, (_, i) => ({ seq: i, u: 'x', r: '{}' })), upTo: 1 };
  assert.equal(checkChanges(many), 'items is not a list of at most 4096');
  assert.equal(senderMessage.safeParse(many).success, false);
});

test('versions: the highest both speak, or a refusal naming both ranges', () => {
  assert.deepEqual(agreeVersion([1, 5]), { version: PROTOCOL.max });
  const r = agreeVersion([PROTOCOL.max + 1, PROTOCOL.max + 3]);
  assert.ok('problem' in r);
  assert.match(r.problem, new RegExp(`versions ${PROTOCOL.max + 1}–${PROTOCOL.max + 3} were offered; this server speaks ${PROTOCOL.min}–${PROTOCOL.max}`));
});
