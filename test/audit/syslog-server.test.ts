// End to end: the real key server (real TLS, real KMIP) with audit.syslog pointing at a TCP
// collector. Each KMIP operation's audit record reaches the collector with its operation, identity,
// result and the same seq as in the local hash-chained log; Server Stop is flushed on close; the
// tamper record of a log edited while the server was stopped arrives at severity alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { AUDIT_CHECK_OPERATION } from '../../server/audit/audit-log.js';
import { parseConfig, type Config } from '../../server/config.js';
import { startServer } from '../../server/server.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes } from '../support/requests.js';
import { prepareDataDir, startTestServer } from '../support/server.js';
import { getItem, send, uidOf } from '../store/helpers.js';
import { parse5424, TcpCollector, until, type Syslog5424 } from '../support/syslog-collector.js';

const SD = 'keyhaven@32473';
const audits = (messages: string[]): Syslog5424[] => messages.map(parse5424).filter((m) => m.msgId === 'audit');

test('a KMIP Get reaches the collector with operation, identity, result and the seq of the local log', async (t) => {
  const c = await TcpCollector.listen();
  t.after(() => c.close());
  // The input form of the section (parseConfig fills in the defaults).
  const audit = { syslog: { host: '127.0.0.1', port: c.port, transport: 'tcp', facility: 'audit', appName: 'kh-e2e' } } as unknown as Config['audit'];
  const ts = await startTestServer({ audit });
  let stopped = false;
  t.after(() => (stopped ? undefined : ts.stop()));
  const client = await ts.client();
  const uid = uidOf(await send(client, [createAes()]));
  await send(client, [getItem(uid)]);
  await send(client, [getItem('no-such-object')]);
  client.close();

  await until(() => audits(c.messages).filter((m) => m.sd[SD]!.operation === 'Get').length >= 2, 'two Get records');
  const local = ts.server.audit.tail(100);
  const got = audits(c.messages);
  // Every forwarded record matches the local record with the same seq, field by field.
  for (const m of got) {
    const p = m.sd[SD]!;
    const r = local.find((x) => x.seq === Number(p.seq));
    assert.ok(r, `seq ${p.seq} is in the local log`);
    assert.deepEqual(
      { identity: p.identity, address: p.address, operation: p.operation, object: p.object, result: p.result, reason: p.reason, time: m.timestamp },
      { identity: r.identity, address: r.address, operation: r.operation, object: r.objectId, result: r.result, reason: r.reason, time: r.time },
    );
  }
  const localGets = local.filter((r) => r.operation === 'Get');
  const get = got.find((m) => m.sd[SD]!.operation === 'Get' && m.sd[SD]!.object === uid)!;
  assert.ok(get, 'the Get of the created key was forwarded');
  assert.equal(Number(get.sd[SD]!.seq), localGets.find((r) => r.objectId === uid)!.seq);
  assert.equal(get.sd[SD]!.identity, 'CN=dev,O=Keyhaven');
  assert.equal(get.sd[SD]!.result, 'success');
  assert.equal(get.facility, 13);
  assert.equal(get.severity, 6);
  assert.equal(get.appName, 'kh-e2e');
  assert.equal(get.procId, String(process.pid));
  assert.equal(get.msg, `Get ${uid} by CN=dev,O=Keyhaven from ${get.sd[SD]!.address}: success`);
  const missing = got.find((m) => m.sd[SD]!.operation === 'Get' && m.sd[SD]!.object !== uid)!;
  assert.equal(missing.sd[SD]!.result, 'failure');
  assert.equal(missing.severity, 4);
  // The forwarded seqs are those of the local log, in order, without gaps.
  const forwarded = got.map((m) => Number(m.sd[SD]!.seq));
  assert.deepEqual(forwarded, local.filter((r) => r.seq >= forwarded[0]!).map((r) => r.seq).slice(0, forwarded.length));
  assert.equal(ts.server.syslog?.stats().dropped, 0);

  // Server Stop is committed during close() and flushed before it returns.
  await ts.stop();
  stopped = true;
  await until(() => audits(c.messages).some((m) => m.sd[SD]!.operation === 'Server Stop'), 'Server Stop');
});

test('the tamper record of a log edited while the server was stopped is forwarded at severity alert', async (t) => {
  const c = await TcpCollector.listen();
  t.after(() => c.close());
  const { dir, dev } = await prepareDataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig(
    { dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } }, audit: { syslog: { host: '127.0.0.1', port: c.port } } },
    'test',
  );
  config.listeners.kmip.port = 0;
  let server = await startServer(config, pino({ level: 'silent' }));
  const client = await KmipTestClient.connect(server.kmip.port, dev);
  uidOf(await send(client, [createAes()]));
  client.close();
  await server.close();
  // The first run's Server Stop may still be in flight to the collector: count from after it.
  await until(() => audits(c.messages).some((m) => m.sd[SD]!.operation === 'Server Stop'), 'the first run\'s Server Stop');
  const before = audits(c.messages).length;

  // Remove the sealed head of the log (the audit table itself is protected by triggers).
  const db = new Database(join(dir, 'keyhaven.db'));
  db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run();
  db.close();

  server = await startServer(config, pino({ level: 'silent' }));
  t.after(() => server.close());
  await until(() => audits(c.messages).length >= before + 2, 'the records of the second start');
  const [check, start] = audits(c.messages).slice(before);
  assert.equal(check!.sd[SD]!.operation, AUDIT_CHECK_OPERATION);
  assert.equal(check!.sd[SD]!.result, 'failure');
  assert.match(check!.sd[SD]!.reason ?? '', /sealed head/);
  assert.equal(check!.severity, 1, 'alert');
  assert.equal(check!.facility, 16, 'local0 by default');
  assert.equal(start!.sd[SD]!.operation, 'Server Start');
  assert.equal(Number(start!.sd[SD]!.seq), Number(check!.sd[SD]!.seq) + 1);
  const local = server.audit.tail(2);
  assert.deepEqual(local.map((r) => r.seq), [Number(check!.sd[SD]!.seq), Number(start!.sd[SD]!.seq)]);
});
