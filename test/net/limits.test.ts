// Per-connection limits and bad input on a real KMIP listener: malformed TTLV, truncated and
// oversized messages, slow senders, idle connections, the connection cap, garbage streams,
// pipelining without reading (backpressure), unsupported protocol versions and batch-count
// mismatches. In every case the server answers a KMIP error or closes the connection — and
// afterwards still answers correctly on a new connection.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { after, before, describe, test } from 'node:test';
import net from 'node:net';
import { encode } from '../../server/kmip/encode.js';
import { byteString, enumeration, integer, structure, textString, type Item } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import type { Config } from '../../server/config.js';
import { RawConnection } from '../support/raw-connection.js';
import { field, parseResponse, request, withUid, type ParsedResponse } from '../support/requests.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertHealthy, auditSince, lastSeq, queryRequest, sleep } from './helpers.js';

const MAX_MESSAGE = 1024 * 1024;
const READ_TIMEOUT = 500;
const IDLE_TIMEOUT = 1500;
const HANDSHAKE_TIMEOUT = 1000;

/** Configuration overrides with some limits set; the schema fills in the rest. */
const withLimits = (limits: Partial<Config['limits']>): Record<string, unknown> => ({ limits });

/** A Request Message assembled by hand, for headers request() would not write. */
function handmade(opts: { major?: number; minor?: number; batchCount?: number; items: Item[] }): Buffer {
  return encode(
    structure(Tag.RequestMessage, [
      structure(Tag.RequestHeader, [
        structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, opts.major ?? 1), integer(Tag.ProtocolVersionMinor, opts.minor ?? 4)]),
        integer(Tag.BatchCount, opts.batchCount ?? opts.items.length),
      ]),
      ...opts.items,
    ]),
  );
}

const queryItem = () =>
  structure(Tag.BatchItem, [
    enumeration(Tag.Operation, Enum.Operation.Query),
    structure(Tag.RequestPayload, [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)]),
  ]);

/** The single error of an Invalid Message-style response. */
function failureOf(r: ParsedResponse): { status: number; reason: number | undefined; message: string | undefined } {
  assert.equal(r.items.length, 1, 'one Batch Item in an error response');
  const it = r.items[0]!;
  return { status: it.status, reason: it.reason, message: it.message };
}

/** The 8-byte TTLV header of a Request Message declaring `length` bytes of value. */
function requestHeader(length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUIntBE(Tag.RequestMessage, 0, 3);
  h[3] = 0x01;
  h.writeUInt32BE(length, 4);
  return h;
}

describe('connection limits and malformed input', () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer(withLimits({ maxMessageBytes: MAX_MESSAGE, readTimeoutMs: READ_TIMEOUT, idleTimeoutMs: IDLE_TIMEOUT }));
  });
  after(async () => {
    await ts?.stop();
  });

  test('malformed TTLV inside a well-framed message: Invalid Message, and the connection stays usable', async (t) => {
    const valid = queryRequest();
    const variants: [string, (b: Buffer) => Buffer][] = [
      ['inner length overruns the message', (b) => { const x = Buffer.from(b); x.writeUInt32BE(0x7ffffff8, 12); return x; }],
      ['unknown item type 0x0B', (b) => { const x = Buffer.from(b); x[11] = 0x0b; return x; }],
      ['tag not 0x42/0x54', (b) => { const x = Buffer.from(b); x[8] = 0x13; return x; }],
      ['Integer with length 8', (b) => {
        // Protocol Version Major is the first Integer: its length field follows tag 42006A, type 02
        const x = Buffer.from(b);
        const at = x.indexOf(Buffer.from([0x42, 0x00, 0x6a, 0x02]));
        x.writeUInt32BE(8, at + 4);
        return x;
      }],
      ['invalid UTF-8 in a Text String', () => {
        const x = handmade({ items: [structure(Tag.BatchItem, [
          enumeration(Tag.Operation, Enum.Operation.Get),
          structure(Tag.RequestPayload, [textString(Tag.UniqueIdentifier, 'AAAA')]),
        ])] });
        return x.fill(0xff, x.length - 8, x.length - 4); // the last item is the 4-byte 'AAAA'
      }],
      ['a structure that is empty where a header is required', () => encode(structure(Tag.RequestMessage, []))],
      ['a Request Message that is a Response Message inside', () => {
        const x = Buffer.from(valid);
        x.writeUIntBE(Tag.ResponseHeader, 8, 3);
        return x;
      }],
    ];
    const c = await RawConnection.connect(ts.port, ts.dev);
    for (const [name, make] of variants) {
      const bytes = make(valid);
      assert.equal(bytes.readUInt32BE(4) + 8, bytes.length, `${name}: still framed correctly`);
      const r = await c.roundTrip(bytes);
      assert.ok(r, `${name}: no answer (closed: ${c.closed})`);
      const f = failureOf(parseResponse(r));
      assert.equal(f.status, Enum.ResultStatus.OperationFailed, name);
      assert.equal(f.reason, Enum.ResultReason.InvalidMessage, `${name}: ${f.message}`);
      t.diagnostic(`${name}: Invalid Message "${f.message}"`);
    }
    const ok = await c.roundTrip(valid);
    assert.equal(parseResponse(ok!).items[0]?.status, Enum.ResultStatus.Success, 'the same connection still works');
    c.close();
    await assertHealthy(ts);
  });

  test('a truncated message followed by a close is dropped quietly', async () => {
    const valid = queryRequest();
    for (const cut of [3, 8, 20, valid.length - 1]) {
      const c = await RawConnection.connect(ts.port, ts.dev);
      await c.write(valid.subarray(0, cut));
      c.socket.end();
      assert.equal(await c.waitClosed(3000), true, `cut at ${cut}: the server closes too`);
      assert.equal(c.responses.length, 0, `cut at ${cut}: nothing to answer`);
    }
    await assertHealthy(ts);
  });

  test('an oversized message is refused from its 8-byte header, before the body is sent', async (t) => {
    for (const declared of [MAX_MESSAGE, 0xfffffff8]) {
      const seq = lastSeq(ts);
      const c = await RawConnection.connect(ts.port, ts.dev);
      await c.write(requestHeader(declared)); // header only: the body never comes
      await c.waitFor(1, 3000);
      assert.equal(await c.waitClosed(3000), true, `declared ${declared}: connection closed`);
      assert.ok(c.closedAfterMs! < READ_TIMEOUT + 2000);
      assert.equal(c.responses.length, 1, `declared ${declared}: an error response before the close`);
      const f = failureOf(parseResponse(c.responses[0]!));
      assert.deepEqual([f.status, f.reason], [Enum.ResultStatus.OperationFailed, Enum.ResultReason.InvalidMessage]);
      assert.match(f.message ?? '', /exceeds the limit/);
      const records = auditSince(ts, seq);
      assert.ok(records.some((r) => r.operation === 'Connection' && /exceeds the limit/.test(r.reason)), JSON.stringify(records));
      t.diagnostic(`declared ${declared + 8} bytes: "${f.message}" then closed after ${c.closedAfterMs} ms`);
    }
    // Exactly at the limit is not refused from the header: the server waits for the body (and
    // then the read timeout ends it).
    const c = await RawConnection.connect(ts.port, ts.dev);
    await c.write(requestHeader(MAX_MESSAGE - 8));
    assert.equal(await c.waitClosed(READ_TIMEOUT / 2), false, 'a message of exactly the limit is waited for');
    assert.equal(await c.waitClosed(READ_TIMEOUT + 2000), true, 'then the read timeout closes it');
    assert.equal(c.responses.length, 0);
    await assertHealthy(ts);
  });

  test('a slow sender (1 byte per 200 ms) is disconnected after the read timeout', async (t) => {
    const seq = lastSeq(ts);
    const valid = queryRequest();
    const c = await RawConnection.connect(ts.port, ts.dev);
    const started = Date.now();
    let sent = 0;
    while (!c.closed && sent < valid.length) {
      await c.write(valid.subarray(sent, sent + 1));
      sent++;
      await sleep(200);
    }
    const elapsed = Date.now() - started;
    assert.equal(c.closed, true, 'disconnected before it finished');
    assert.ok(sent < valid.length / 4, `only ${sent} of ${valid.length} bytes got through`);
    assert.ok(elapsed >= READ_TIMEOUT && elapsed < READ_TIMEOUT + 1500, `closed after ${elapsed} ms`);
    assert.equal(c.responses.length, 0);
    assert.ok(auditSince(ts, seq).some((r) => r.operation === 'Connection' && r.reason === 'read timeout'), 'audited');
    t.diagnostic(`slow sender: ${sent} bytes in, closed after ${elapsed} ms (read timeout ${READ_TIMEOUT} ms)`);

    // A message split in two parts arriving within the read timeout is fine.
    const d = await RawConnection.connect(ts.port, ts.dev);
    await d.write(valid.subarray(0, 30));
    await sleep(READ_TIMEOUT * 0.6);
    await d.write(valid.subarray(30));
    const r = await d.waitFor(1, 2000);
    assert.equal(r.length, 1, 'a split message within the read timeout is answered');
    d.close();
    await assertHealthy(ts);
  });

  test('an idle connection is closed after the idle timeout; an active one is not', async (t) => {
    const idle = await RawConnection.connect(ts.port, ts.dev);
    const opened = Date.now();
    assert.ok(await idle.roundTrip(queryRequest()));
    const lastActivity = Date.now();
    const active = await RawConnection.connect(ts.port, ts.dev);
    const until = Date.now() + IDLE_TIMEOUT * 1.8;
    while (Date.now() < until) {
      assert.ok(await active.roundTrip(queryRequest()), 'an active connection keeps being answered');
      await sleep(IDLE_TIMEOUT / 4);
    }
    assert.equal(await idle.waitClosed(IDLE_TIMEOUT + 2000), true, 'the idle connection was closed');
    const idleFor = opened + idle.closedAfterMs! - lastActivity;
    assert.ok(idleFor >= IDLE_TIMEOUT - 50 && idleFor < IDLE_TIMEOUT + 1000, `closed after ${idleFor} ms idle`);
    assert.equal(active.closed, false, 'the active connection is still open');
    active.close();
    t.diagnostic(`idle connection closed after ~${idleFor} ms (idle timeout ${IDLE_TIMEOUT} ms); active one kept for ${Math.round(IDLE_TIMEOUT * 1.8)} ms`);
    await assertHealthy(ts);
  });

  test('garbage streams get an Invalid Message response (where one can be sent) and a close', async (t) => {
    // 4 KiB of noise, the same every run (fast-check, seeded, unbiased), not starting with a tag byte.
    const random = Buffer.from(fc.sample(fc.noBias(fc.uint8Array({ minLength: 4096, maxLength: 4096 })), { seed: 0x5eed1234, numRuns: 1 })[0]!);
    if (random[0] === 0x42) random[0] = 0x41;
    const cases: [string, Buffer][] = [
      ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\n\r\n')],
      ['random bytes', random],
      ['a TLS ClientHello inside TLS', Buffer.from('16030100c4010000c00303', 'hex')],
      ['0x42 but not a structure', Buffer.from('420078020000000400000001', 'hex')],
      ['a Response Message instead of a request', (() => { const x = Buffer.from(queryRequest()); x.writeUIntBE(Tag.ResponseMessage, 0, 3); return x; })()],
      ['a length not a multiple of 8', requestHeader(13)],
      ['a valid request followed by garbage', Buffer.concat([queryRequest(), Buffer.from('GARBAGE!')])],
    ];
    for (const [name, bytes] of cases) {
      const c = await RawConnection.connect(ts.port, ts.dev);
      await c.write(bytes);
      assert.equal(await c.waitClosed(3000), true, `${name}: closed`);
      assert.equal(c.framingError, undefined, `${name}: the server's answer frames as Response Messages`);
      const parsed = c.responses.map(parseResponse);
      const last = parsed.at(-1);
      assert.ok(last, `${name}: an error response before the close`);
      assert.deepEqual([failureOf(last).status, failureOf(last).reason], [Enum.ResultStatus.OperationFailed, Enum.ResultReason.InvalidMessage]);
      if (name.startsWith('a valid request')) {
        assert.equal(parsed.length, 2, 'the valid request before the garbage is answered first');
        assert.equal(parsed[0]!.items[0]?.status, Enum.ResultStatus.Success);
      }
      t.diagnostic(`${name}: ${parsed.length} response(s), last "${failureOf(last).message}", closed after ${c.closedAfterMs} ms`);
    }
    await assertHealthy(ts);
  });

  test('unsupported protocol version and Batch Count mismatch: Invalid Message', async (t) => {
    const c = await RawConnection.connect(ts.port, ts.dev);
    const cases: [string, Buffer][] = [
      ['protocol version 2.0', handmade({ major: 2, minor: 0, items: [queryItem()] })],
      ['protocol version 0.9', handmade({ major: 0, minor: 9, items: [queryItem()] })],
      ['Batch Count 2 with one Batch Item', handmade({ batchCount: 2, items: [queryItem()] })],
      ['Batch Count 1 with two Batch Items', handmade({ batchCount: 1, items: [queryItem(), queryItem()] })],
      ['Batch Count 0 and no Batch Item', handmade({ batchCount: 0, items: [] })],
    ];
    for (const [name, bytes] of cases) {
      const r = await c.roundTrip(bytes);
      assert.ok(r, `${name}: answered`);
      const f = failureOf(parseResponse(r));
      assert.deepEqual([f.status, f.reason], [Enum.ResultStatus.OperationFailed, Enum.ResultReason.InvalidMessage], `${name}: ${f.message}`);
      t.diagnostic(`${name}: Invalid Message "${f.message}"`);
    }
    assert.equal(parseResponse((await c.roundTrip(queryRequest()))!).items[0]?.status, Enum.ResultStatus.Success);
    c.close();
    await assertHealthy(ts);
  });

  test('100 pipelined requests from a client that does not read: backpressure, then all answered in order', async (t) => {
    // A 512 KiB object makes each Get response large, so unread responses add up quickly.
    const blob = randomBytes(512 * 1024);
    const setup = await RawConnection.connect(ts.port, ts.dev);
    const reg = parseResponse((await setup.roundTrip(request([{
      operation: Enum.Operation.Register,
      payload: [
        enumeration(Tag.ObjectType, Enum.ObjectType.OpaqueObject),
        structure(Tag.TemplateAttribute, []),
        structure(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000001), byteString(Tag.OpaqueDataValue, blob)]),
      ],
    }])))!);
    assert.equal(reg.items[0]?.status, Enum.ResultStatus.Success, reg.items[0]?.message);
    const uid = field<string>(reg.items[0]!.payload, Tag.UniqueIdentifier)!;
    setup.close();

    const N = 100;
    const seq = lastSeq(ts);
    const c = await RawConnection.connect(ts.port, ts.dev);
    c.socket.pause(); // read nothing
    const id = (i: number) => Buffer.from(i.toString(16).padStart(8, '0'), 'hex');
    const all = Buffer.concat(
      Array.from({ length: N }, (_, i) => request([{ ...withUid(Enum.Operation.Get, uid), id: id(i) }])),
    );
    c.socket.write(all);
    await sleep(1500);
    const processedUnread = auditSince(ts, seq).filter((r) => r.operation === 'Get').length;
    assert.ok(processedUnread < N / 2, `the server processed ${processedUnread} of ${N} requests for a client that reads nothing (≈${processedUnread / 2} MiB buffered)`);
    assert.equal(c.closed, false, 'the connection is kept, only paused');

    c.socket.resume();
    await c.waitFor(N, 30_000);
    assert.equal(c.responses.length, N, `all ${N} answered`);
    c.responses.forEach((buf, i) => {
      const it = parseResponse(buf).items[0]!;
      assert.equal(it.status, Enum.ResultStatus.Success, `response ${i}: ${it.message}`);
      assert.deepEqual(it.id, id(i), `response ${i} is in request order`);
    });
    const value = parseResponse(c.responses[N - 1]!).message;
    assert.ok(encode(value).includes(blob.subarray(0, 64)), 'the Get responses carry the object');
    c.close();
    t.diagnostic(`pipelined ${N} Gets of a 512 KiB object without reading: ${processedUnread} processed before the client read, then all ${N} answered in order`);
    await assertHealthy(ts);
  });
});

describe('the connection cap (limits.maxConnections)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(withLimits({ maxConnections: 3, handshakeTimeoutMs: HANDSHAKE_TIMEOUT }));
  });
  after(async () => {
    await ts?.stop();
  });

  test('connections beyond the cap are dropped; the held ones keep working; a freed slot is reused', async (t) => {
    const seq = lastSeq(ts);
    const held = await Promise.all([0, 1, 2].map(() => RawConnection.connect(ts.port, ts.dev)));
    for (const h of held) assert.ok(await h.roundTrip(queryRequest()));
    let error = '';
    try {
      const extra = await RawConnection.connect(ts.port, ts.dev, { handshakeTimeoutMs: 3000 });
      // The handshake may appear done from the client side; then the server must not answer.
      const r = await extra.roundTrip(queryRequest(), 1500);
      assert.equal(r, undefined, 'a fourth connection was served');
      error = 'closed';
    } catch (err) {
      error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    for (const h of held) assert.ok(await h.roundTrip(queryRequest()), 'held connections are unaffected');
    const records = auditSince(ts, seq);
    assert.ok(records.some((r) => r.operation === 'Handshake' && /connection limit \(3\)/.test(r.reason)), `the drop is audited: ${JSON.stringify(records)}`);
    held[0]!.destroy();
    await held[0]!.whenClosed;
    await sleep(100);
    const again = await RawConnection.connect(ts.port, ts.dev);
    assert.ok(await again.roundTrip(queryRequest()), 'a freed slot is used again');
    again.close();
    for (const h of held.slice(1)) h.close();
    t.diagnostic(`fourth connection at maxConnections 3: ${error}`);
    await sleep(100);
    await assertHealthy(ts);
  });

  test('TLS handshakes that never finish do not hold slots forever (handshake timeout)', async () => {
    // Raw TCP connections that never send a ClientHello: the handshake deadline (1 s here, shorter
    // than the default hello deadline) closes them.
    const seq = lastSeq(ts);
    const sockets = [0, 1, 2].map(() => net.connect(ts.port, '127.0.0.1'));
    await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r))));
    const closed = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())));
    for (const s of sockets) s.on('error', () => {});
    const t0 = Date.now();
    await Promise.race([Promise.all(closed), sleep(15_000)]);
    const waited = Date.now() - t0;
    assert.ok(waited < 15_000, 'silent TCP connections are closed by the handshake timeout');
    await sleep(100);
    const c = await RawConnection.connect(ts.port, ts.dev);
    assert.ok(await c.roundTrip(queryRequest()));
    c.close();
    assert.ok(waited >= HANDSHAKE_TIMEOUT - 100, `closed after ${waited} ms, not before the handshake timeout`);
    const timeouts = auditSince(ts, seq).filter((r) => r.operation === 'Handshake' && /handshake timeout/i.test(r.reason));
    assert.equal(timeouts.length, 3, 'each timed-out handshake is audited');
  });
});
