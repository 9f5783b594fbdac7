// The syslog forwarder (server/audit/syslog-forwarder.ts) against real collectors on loopback: a
// TCP listener (node:net) and a UDP socket (node:dgram). Order, a collector that starts late, one
// that restarts, queue overflow with the notice that follows, close() with and without a collector,
// rate-limited warnings, and that forwarding never keeps the process alive.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { SyslogForwarder, type ForwarderSettings, type SyslogForwarderOptions } from '../../server/audit/syslog-forwarder.js';
import { parse5424, record, seqs, sleep, TcpCollector, udpCollector, until } from '../support/syslog-collector.js';

const forwarders: SyslogForwarder[] = [];
type TestOptions = Partial<ForwarderSettings> & ({ transport?: 'tcp' | 'udp'; host?: string; port: number } | { transport: 'unix'; path: string });
function forwarder(o: TestOptions): SyslogForwarder {
  const f = new SyslogForwarder({
    host: '127.0.0.1',
    transport: 'tcp',
    facility: 'local0',
    appName: 'keyhaven',
    hostname: 'kh-test',
    backoffMs: { initial: 20, max: 100 },
    ...o,
  } as SyslogForwarderOptions);
  forwarders.push(f);
  return f;
}
after(() => Promise.all(forwarders.map((f) => f.close())));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('TCP: records arrive in order, each a valid RFC 5424 message, coalesced into few writes', async (t) => {
  const c = await TcpCollector.listen();
  t.after(() => c.close());
  const f = forwarder({ port: c.port });
  t.after(() => f.close());
  await until(() => f.stats().connected, 'connection');
  // Count socket writes (the collector never writes, so every call is the forwarder's).
  const write = net.Socket.prototype.write;
  let writes = 0;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    writes++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  try {
    for (let i = 1; i <= 3000; i++) f.send(record(i, { identity: i % 7 ? 'CN=vcenter' : 'CN=Jürgen "x" ]' }));
    assert.equal(f.stats().queued, 3000, 'send() only queues; nothing is written synchronously');
    assert.equal(writes, 0);
    await until(() => c.messages.length >= 3000, '3000 messages');
  } finally {
    net.Socket.prototype.write = write;
  }
  assert.ok(writes >= 1 && writes <= 6, `${writes} socket writes for 3000 records`);
  assert.deepEqual(seqs(c.messages), range(1, 3000));
  const m = parse5424(c.messages[6]!);
  assert.equal(m.sd['keyhaven@32473']!.identity, 'CN=Jürgen "x" ]');
  assert.equal(m.hostname, 'kh-test');
  assert.deepEqual(f.stats(), { sent: 3000, dropped: 0, queued: 0, notices: 0, connected: true });
  assert.equal(c.connections, 1);
});

test('UDP: one datagram per record, in order; long messages cut at maxDatagramBytes on a character boundary', async (t) => {
  const c = await udpCollector();
  t.after(() => c.close());
  const f = forwarder({ port: c.port, transport: 'udp', maxDatagramBytes: 480 });
  t.after(() => f.close());
  await until(() => f.stats().connected, 'UDP socket');
  // Bursts of 40: a larger burst within one turn can overflow the collector's receive buffer (UDP).
  for (let burst = 0; burst < 5; burst++) {
    for (let i = burst * 40 + 1; i <= burst * 40 + 40; i++) f.send(record(i, { reason: i === 50 ? 'ü🔑'.repeat(200) : '' }));
    await until(() => c.datagrams.length >= burst * 40 + 40, `${burst * 40 + 40} datagrams`);
  }
  const texts = c.datagrams.map((d) => new TextDecoder('utf-8', { fatal: true }).decode(d));
  assert.deepEqual(seqs(texts.filter((_, i) => i !== 49)), range(1, 200).filter((s) => s !== 50));
  const long = c.datagrams[49]!;
  assert.ok(long.length <= 480 && long.length > 470, `${long.length} bytes`);
  assert.match(texts[49]!, /^<134>1 .* seq="50" /);
  assert.ok(c.datagrams.every((d) => d.length <= 480));
  assert.equal(f.stats().sent, 200);
});

test('TCP: collector down at start, then started: the queued records arrive, in order, without a gap notice', async (t) => {
  const port = await TcpCollector.freePort();
  const f = forwarder({ port });
  t.after(() => f.close());
  for (let i = 1; i <= 50; i++) f.send(record(i));
  await sleep(150); // several failed attempts
  assert.equal(f.stats().connected, false);
  assert.equal(f.stats().queued, 50);
  const c = await TcpCollector.listen(port);
  t.after(() => c.close());
  await until(() => c.messages.length >= 50, 'queued records');
  for (let i = 51; i <= 60; i++) f.send(record(i));
  await until(() => c.messages.length >= 60, 'later records');
  assert.deepEqual(seqs(c.messages), range(1, 60));
  assert.equal(c.messages.length, 60, 'no notice: nothing was dropped');
  assert.equal(f.stats().dropped, 0);
});

test('TCP: collector restarted mid-stream: the forwarder reconnects and sends what was queued meanwhile', async (t) => {
  const received: string[] = [];
  let c = await TcpCollector.listen(0, received);
  const port = c.port;
  const f = forwarder({ port });
  t.after(() => f.close());
  for (let i = 1; i <= 100; i++) f.send(record(i));
  await until(() => received.length >= 100, 'first batch');
  await c.close();
  await until(() => !f.stats().connected, 'the forwarder to notice the collector is gone');
  for (let i = 101; i <= 200; i++) f.send(record(i));
  await sleep(100);
  assert.equal(f.stats().queued, 100, 'held while the collector is down');
  c = await TcpCollector.listen(port, received);
  t.after(() => c.close());
  await until(() => received.length >= 200, 'second batch');
  assert.deepEqual(seqs(received), range(1, 200));
  assert.equal(c.connections, 1, 'the restarted collector got a new connection');
  assert.equal(f.stats().connected, true);
});

test('Unix socket: records arrive in order, also when the socket appears late and after the listener restarts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-syslog-unix-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.sock');
  const f = forwarder({ transport: 'unix', path });
  t.after(() => f.close());
  for (let i = 1; i <= 20; i++) f.send(record(i));
  await sleep(100); // no socket yet: ENOENT, retried
  assert.equal(f.stats().connected, false);
  const received: string[] = [];
  let c = await TcpCollector.listen(path, received);
  await until(() => received.length >= 20, 'the queued records');
  await c.close();
  await until(() => !f.stats().connected, 'the forwarder to notice');
  for (let i = 21; i <= 40; i++) f.send(record(i));
  c = await TcpCollector.listen(path, received);
  t.after(() => c.close());
  await until(() => received.length >= 40, 'the records sent meanwhile');
  assert.deepEqual(seqs(received), range(1, 40));
  assert.match(received[0]!, /^<134>1 2025-03-04T05:06:07\.089Z kh-test keyhaven \d+ audit \[keyhaven@32473 seq="1" /);
});

test('overflow: the oldest records are dropped and counted; a notice with count and seq range comes first', async (t) => {
  const port = await TcpCollector.freePort();
  const f = forwarder({ port, maxQueued: 10 });
  t.after(() => f.close());
  for (let i = 1; i <= 25; i++) f.send(record(i));
  assert.equal(f.stats().dropped, 15);
  assert.equal(f.stats().queued, 10);
  const c = await TcpCollector.listen(port);
  t.after(() => c.close());
  await until(() => c.messages.length >= 11, 'notice and the 10 newest records');
  const notice = parse5424(c.messages[0]!);
  assert.equal(notice.msgId, 'audit-gap');
  assert.equal(notice.severity, 4);
  assert.deepEqual(notice.sd['keyhaven@32473'], { dropped: '15', firstSeq: '1', lastSeq: '15' });
  assert.match(notice.msg, /^15 audit records were not forwarded \(seq 1 to 15\)/);
  assert.deepEqual(seqs(c.messages), range(16, 25));
  // Once reported, the gap is not reported again.
  f.send(record(26));
  await until(() => c.messages.length >= 12, 'record 26');
  assert.equal(c.messages.filter((m) => parse5424(m).msgId === 'audit-gap').length, 1);
  assert.equal(f.stats().notices, 1);
});

test('close(): flushes what is queued to a live collector', async (t) => {
  const c = await TcpCollector.listen();
  t.after(() => c.close());
  const f = forwarder({ port: c.port });
  await until(() => f.stats().connected, 'connection');
  for (let i = 1; i <= 500; i++) f.send(record(i));
  await f.close(); // nothing was flushed yet: close() writes it
  await until(() => c.messages.length >= 500, 'all 500');
  assert.deepEqual(seqs(c.messages), range(1, 500));
});

test('close(): also sends when called while the connection is still being made', async (t) => {
  const c = await TcpCollector.listen();
  t.after(() => c.close());
  const f = forwarder({ port: c.port });
  f.send(record(1));
  await f.close();
  await until(() => c.messages.length >= 1, 'the record');
  assert.deepEqual(seqs(c.messages), [1]);
});

test('close() with no collector returns promptly and warns about what was not forwarded', async () => {
  const port = await TcpCollector.freePort();
  const logs: string[] = [];
  // Right after construction (a connection attempt under way) and while waiting to retry.
  for (const wait of [0, 80]) {
    const f = forwarder({ port, log: (level, msg) => logs.push(`${level} ${msg}`) });
    for (let i = 1; i <= 5; i++) f.send(record(i));
    await sleep(wait);
    const t0 = Date.now();
    await f.close();
    assert.ok(Date.now() - t0 < 300, `close took ${Date.now() - t0} ms`);
    assert.equal(f.stats().connected, false);
  }
  assert.ok(logs.some((l) => /^warn .*5 audit records were not forwarded before shutdown/.test(l)), logs.join('\n'));
});

test('close() toward a collector that stops reading gives up after closeTimeoutMs', async (t) => {
  // Accepts the connection, never reads: once the socket buffers are full, nothing more can be sent.
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.pause();
    accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const f = forwarder({ port: (server.address() as net.AddressInfo).port, closeTimeoutMs: 300, maxQueued: 100_000 });
  await until(() => f.stats().connected, 'connection');
  for (let i = 1; i <= 20_000; i++) f.send(record(i, { reason: 'r'.repeat(2000) })); // about 45 MB
  const t0 = Date.now();
  await f.close();
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 2000, `close took ${took} ms`);
  assert.equal(f.stats().connected, false);
  assert.equal(accepted.length, 1);
});

test('failures are warned about at most once per interval, and reconnection is logged', async (t) => {
  const port = await TcpCollector.freePort();
  const logs: string[] = [];
  const f = forwarder({ port, warnIntervalMs: 60_000, log: (level, msg) => logs.push(`${level} ${msg}`) });
  t.after(() => f.close());
  await sleep(300); // about 5 attempts with 20..100 ms backoff
  const warns = logs.filter((l) => l.startsWith('warn'));
  assert.equal(warns.length, 1, logs.join('\n'));
  assert.match(warns[0]!, /tcp:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  const c = await TcpCollector.listen(port);
  t.after(() => c.close());
  await until(() => f.stats().connected, 'connection');
  assert.match(logs.at(-1)!, /^info .*connected/);
});

test('invalid options are refused with KH_AUDIT_SYSLOG_INVALID', () => {
  const bad: Record<string, unknown>[] = [
    { port: 0 }, { port: 70000 }, { maxQueued: 0 }, { maxDatagramBytes: 70000 }, { host: '' }, { facility: 'mail' }, { facility: 'toString' },
    { transport: 'relp' }, { transport: 'unix', path: '' },
  ];
  for (const o of bad) {
    assert.throws(
      () => new SyslogForwarder({ host: '127.0.0.1', port: 514, transport: 'tcp', facility: 'local0', appName: 'k', ...o } as SyslogForwarderOptions),
      (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.AUDIT_SYSLOG_INVALID,
      JSON.stringify(o),
    );
  }
});

test('a forwarder left open (collector down, records queued) does not keep the process alive', async () => {
  const port = await TcpCollector.freePort();
  const modUrl = new URL('../../server/audit/syslog-forwarder.ts', import.meta.url).href;
  const code = `
    const { SyslogForwarder } = await import(${JSON.stringify(modUrl)});
    const f = new SyslogForwarder({ host: '127.0.0.1', port: ${port}, transport: 'tcp', facility: 'local0', appName: 'k', backoffMs: { initial: 10, max: 50 } });
    f.send({ seq: 1, time: '', identity: '', address: '', operation: 'Get', objectId: '', result: 'success', reason: '' });
    const u = new SyslogForwarder({ host: '127.0.0.1', port: ${port}, transport: 'udp', facility: 'local0', appName: 'k' });
    u.send({ seq: 1, time: '', identity: '', address: '', operation: 'Get', objectId: '', result: 'success', reason: '' });
    setTimeout(() => console.log('still running'), 200);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = await Promise.race([
    new Promise<number | null>((r) => child.on('exit', (code) => r(code))),
    sleep(5000).then(() => 'timeout' as const),
  ]);
  if (exited === 'timeout') child.kill();
  assert.equal(exited, 0, out);
  assert.match(out, /still running/, 'the child ran its code');
});
