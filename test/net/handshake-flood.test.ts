// Connections that never finish a TLS handshake cannot lock legitimate clients out: silent TCP
// connections from one address or from many, while real mTLS clients (a vCenter opens several in
// parallel from one address) keep being served at once. Covers limits.maxPendingHandshakes,
// maxPendingHandshakesPerSource and helloTimeoutMs. 127.0.0.0/8 is all loopback on Linux, so each
// 127.0.0.x below is a distinct client address.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configSchema, type Config } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { sourceOf } from '../../server/net/tls-listener.js';
import { RawConnection } from '../support/raw-connection.js';
import { parseResponse } from '../support/requests.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  assertHealthy,
  auditSince,
  fromAddress,
  lastSeq,
  loopbackRange,
  openSilent,
  openSilentFrom,
  queryRequest,
  refusalsFrom,
  sleep,
  type SilentSocket,
} from './helpers.js';

const DEFAULTS = configSchema.parse({ dataDir: '/unused' }).limits;
/** Configuration overrides with some limits set; the schema fills in the rest. */
const withLimits = (limits: Partial<Config['limits']>): Record<string, unknown> => ({ limits });

/** Time within which a legitimate client must be served (connect, handshake, one Query) during a flood. */
const SERVED_WITHIN_MS = 1000;

/** Connects from `address` and sends one Query; returns the milliseconds until the answer. */
async function servedIn(ts: TestServer, address: string): Promise<number> {
  const t0 = Date.now();
  let c: RawConnection;
  try {
    c = await RawConnection.connect(ts.port, ts.dev, { ...fromAddress(address), handshakeTimeoutMs: 3000 });
  } catch (err) {
    assert.fail(`a legitimate client at ${address} could not connect: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const r = await c.roundTrip(queryRequest(), 3000);
    assert.ok(r, `a legitimate client at ${address} got no answer (connection closed: ${c.closed})`);
    assert.equal(parseResponse(r).items[0]?.status, Enum.ResultStatus.Success);
    return Date.now() - t0;
  } finally {
    c.close();
  }
}

/**
 * A sustained flood: each source keeps one silent connection open and opens a new one `reopenMs`
 * after the server closes it, until stop().
 */
function sustainFlood(port: number, sources: string[], reopenMs: number) {
  let running = true;
  let opened = 0;
  const live = new Set<SilentSocket>();
  const loop = async (from: string) => {
    while (running) {
      let s: SilentSocket;
      try {
        s = await openSilent(port, from);
      } catch {
        await sleep(reopenMs);
        continue;
      }
      opened++;
      if (!running) s.socket.destroy();
      live.add(s);
      await s.whenClosed;
      live.delete(s);
      await sleep(reopenMs);
    }
  };
  const loops = sources.map(loop);
  return {
    get opened() {
      return opened;
    },
    get open() {
      return live.size;
    },
    async stop() {
      running = false;
      for (const s of live) s.socket.destroy();
      await Promise.all(loops);
    },
  };
}

const destroyAll = (sockets: SilentSocket[]) => sockets.forEach((s) => s.socket.destroy());

describe('silent connections from one address (maxConnections 20)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(withLimits({ maxConnections: 20 }));
  });
  after(async () => {
    await ts?.stop();
  });

  test('40 silent sockets from one address: a client at another address is served at once', async (t) => {
    const seq = lastSeq(ts);
    const flood = await openSilentFrom(ts.port, ['127.0.0.2'], 40);
    try {
      await sleep(200); // the server has accepted (and sorted out) all 40
      const times = [];
      for (let i = 0; i < 3; i++) times.push(await servedIn(ts, '127.0.0.3'));
      assert.ok(Math.max(...times) < SERVED_WITHIN_MS, `served in ${times.join(', ')} ms`);
      const refusedAtOnce = flood.filter((s) => s.closedAfterMs !== undefined).length;
      assert.equal(refusedAtOnce, 40 - DEFAULTS.maxPendingHandshakesPerSource, 'the sockets beyond the per-address limit are closed at once');
      const refusals = refusalsFrom(auditSince(ts, seq), '127.0.0.2');
      assert.ok(
        refusals.some((r) => new RegExp(`${DEFAULTS.maxPendingHandshakesPerSource} connections from this address are already in the TLS handshake`).test(r.reason)),
        `the per-address refusals are audited with the address: ${JSON.stringify(refusals.slice(0, 2))}`,
      );
      t.diagnostic(`40 silent from 127.0.0.2: ${refusedAtOnce} refused at once, ${40 - refusedAtOnce} held; client at 127.0.0.3 served in ${times.join(', ')} ms`);
    } finally {
      destroyAll(flood);
    }
  });

  test('connections that end, reset or fail TLS before authenticating free their pending slot', async (t) => {
    // 3 × 40 connections from one address, well over maxPendingHandshakesPerSource: a slot that
    // leaked would soon refuse this address for good.
    const address = '127.0.0.9';
    const kinds: [string, (s: SilentSocket) => void][] = [
      ['closed at once', (s) => s.socket.end()],
      ['reset at once', (s) => s.socket.resetAndDestroy()],
      ['an HTTP request instead of a ClientHello', (s) => s.socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ];
    for (const [, act] of kinds) {
      const batch = await openSilentFrom(ts.port, [address], 40);
      batch.forEach(act);
      await Promise.race([Promise.all(batch.map((s) => s.whenClosed)), sleep(5000)]);
      assert.ok(batch.every((s) => s.closedAfterMs !== undefined), 'all closed');
    }
    await sleep(100);
    const times = await Promise.all(Array.from({ length: 8 }, () => servedIn(ts, address)));
    t.diagnostic(`after 120 aborted connections from ${address}, 8 parallel clients from it served within ${Math.max(...times)} ms`);
  });

  test('a vCenter-like client (8 parallel mTLS connections from one address, 3 rounds) is never refused, even during a flood', async (t) => {
    const seq = lastSeq(ts);
    // 40 silent from one address and one each from 30 others: 70 sockets against maxConnections 20.
    const flood = [...(await openSilentFrom(ts.port, ['127.0.0.4'], 40)), ...(await openSilentFrom(ts.port, loopbackRange(100, 30)))];
    try {
      await sleep(200);
      const rounds: number[][] = [];
      for (let round = 0; round < 3; round++) {
        rounds.push(await Promise.all(Array.from({ length: 8 }, () => servedIn(ts, '127.0.0.5'))));
      }
      const refusals = refusalsFrom(auditSince(ts, seq), '127.0.0.5');
      assert.deepEqual(refusals, [], 'no connection of the vCenter-like client was refused');
      const slowest = Math.max(...rounds.flat());
      assert.ok(slowest < 2 * SERVED_WITHIN_MS, `8 parallel connections served within ${slowest} ms`);
      t.diagnostic(`8 parallel connections from 127.0.0.5 during a flood of 70 silent sockets: slowest per round ${rounds.map((r) => Math.max(...r)).join(', ')} ms`);
    } finally {
      destroyAll(flood);
    }
    await sleep(100);
    await assertHealthy(ts);
  });
});

describe('silent connections from many addresses (maxConnections 20, maxPendingHandshakes 16)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(withLimits({ maxConnections: 20, maxPendingHandshakes: 16 }));
  });
  after(async () => {
    await ts?.stop();
  });

  test('40 addresses each keeping a silent socket open: a legitimate client is still served within 1 s', async (t) => {
    const seq = lastSeq(ts);
    const flood = sustainFlood(ts.port, loopbackRange(10, 40), 20);
    const times: number[] = [];
    try {
      await sleep(300);
      for (let i = 0; i < 5; i++) {
        times.push(await servedIn(ts, '127.0.0.3'));
        await sleep(50);
      }
    } finally {
      await flood.stop();
    }
    assert.ok(Math.max(...times) < SERVED_WITHIN_MS, `served in ${times.join(', ')} ms`);
    const records = auditSince(ts, seq);
    const evicted = records.filter((r) => r.operation === 'Handshake' && /to admit a new connection/.test(r.reason));
    assert.ok(evicted.length > 0, 'the pending pool was full and the oldest silent connections were closed');
    assert.ok(evicted.every((r) => /^127\.0\.0\.\d+$/.test(r.address)), `each eviction names the client address: ${JSON.stringify(evicted[0])}`);
    assert.deepEqual(refusalsFrom(records, '127.0.0.3'), [], 'the legitimate client was never refused');
    t.diagnostic(`flood from 40 addresses opened ${flood.opened} connections; client served in ${times.join(', ')} ms; e.g. "${evicted[0]?.reason}"`);
    await sleep(100);
    await assertHealthy(ts);
  });
});

describe('the ClientHello deadline (helloTimeoutMs 500, handshakeTimeoutMs 4000)', () => {
  const HELLO = 500;
  const HANDSHAKE = 4000;
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(withLimits({ helloTimeoutMs: HELLO, handshakeTimeoutMs: HANDSHAKE }));
  });
  after(async () => {
    await ts?.stop();
  });

  test('silent sockets are closed at helloTimeoutMs; one that sent a partial ClientHello at handshakeTimeoutMs', async (t) => {
    const seq = lastSeq(ts);
    const silent = await openSilentFrom(ts.port, ['127.0.0.4'], 3);
    // The first bytes of a TLS handshake record: a ClientHello that never completes.
    const started = await openSilent(ts.port, '127.0.0.6', Buffer.from('160301', 'hex'));
    try {
      await Promise.race([Promise.all(silent.map((s) => s.whenClosed)), sleep(HELLO + 2000)]);
      for (const s of silent) {
        assert.ok(s.closedAfterMs !== undefined, `a silent socket is still open ${HELLO + 2000} ms later`);
        assert.ok(s.closedAfterMs >= HELLO - 50 && s.closedAfterMs < HELLO + 1000, `silent socket closed after ${s.closedAfterMs} ms`);
      }
      assert.equal(started.closedAfterMs, undefined, 'a client that sent its first bytes is not closed by the hello deadline');
      await Promise.race([started.whenClosed, sleep(HANDSHAKE + 2000)]);
      assert.ok(started.closedAfterMs !== undefined, 'the unfinished handshake is closed');
      assert.ok(started.closedAfterMs >= HANDSHAKE - 100 && started.closedAfterMs < HANDSHAKE + 1000, `closed after ${started.closedAfterMs} ms`);
      const records = auditSince(ts, seq);
      const hello = refusalsFrom(records, '127.0.0.4').filter((r) => new RegExp(`no ClientHello within ${HELLO} ms`).test(r.reason));
      assert.equal(hello.length, 3, `each silent socket's refusal is audited with its address: ${JSON.stringify(records)}`);
      const handshake = refusalsFrom(records, '127.0.0.6');
      assert.ok(handshake.some((r) => /handshake timeout/i.test(r.reason)), JSON.stringify(handshake));
      t.diagnostic(`silent sockets closed after ${silent.map((s) => s.closedAfterMs).join(', ')} ms; partial ClientHello after ${started.closedAfterMs} ms; "${hello[0]!.reason}"`);
    } finally {
      destroyAll([...silent, started]);
    }
    await assertHealthy(ts);
  });
});

test('sourceOf: an IPv4 client of a dual-stack listener counts as its IPv4 address', () => {
  assert.equal(sourceOf('::ffff:10.0.0.5'), '10.0.0.5');
  assert.equal(sourceOf('::FFFF:0a00:0005'), '10.0.0.5');
  assert.equal(sourceOf('10.0.0.5'), '10.0.0.5');
  assert.equal(sourceOf('2001:DB8:0::1'), '2001:db8::1', 'IPv6 in one canonical form (RFC 5952)');
  assert.equal(sourceOf('::1'), '::1');
  assert.equal(sourceOf('fe80::1%eth0'), 'fe80::1%eth0', 'a zone index is kept as is');
});
