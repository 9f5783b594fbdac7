// The running server watches its own audit log (server/audit/audit-watch.ts): the recent tail is
// re-verified periodically, so a record edited in the live database file (sqlite3 on it, triggers
// dropped) is reported as an 'Audit Check' failure within a check period; and the head is published
// for a SIEM — in the 'Server Start' record and in periodic 'Audit Checkpoint' records, both forwarded
// to syslog — so a head that goes backwards after a whole-disk rollback is visible there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AUDIT_CHECK_OPERATION } from '../../server/audit/audit-log.js';
import { parseConfig, resolvePaths, type Config } from '../../server/config.js';
import { startTestServer } from '../support/server.js';
import { createAes } from '../support/requests.js';
import { parse5424, TcpCollector, until, type Syslog5424 } from '../support/syslog-collector.js';
import { getItem, send, uidOf } from '../store/helpers.js';
import { sqlite3 } from '../store/rollback-helpers.js';

const SD = 'keyhaven@32473';
const audits = (messages: string[]): Syslog5424[] => messages.map(parse5424).filter((m) => m.msgId === 'audit');
const auditConfig = (a: Record<string, unknown>) => a as unknown as Config['audit'];

test('a recent record edited in the live database is reported as an Audit Check failure by the tail check', async () => {
  const s = await startTestServer({ audit: auditConfig({ tailCheckSeconds: 1 }) });
  try {
    const c = await s.client();
    const uid = uidOf(await send(c, [createAes()]));
    for (let i = 0; i < 5; i++) await send(c, [getItem(uid)]);
    const target = s.server.audit.tail(3)[0]!.seq;
    // The attacker: a second connection to the live file, triggers dropped, one field rewritten.
    sqlite3(join(s.dir, 'keyhaven.db'), `DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'nothing to see' WHERE seq = ${target};`);
    await until(() => s.server.audit.tail(20).some((r) => r.operation === AUDIT_CHECK_OPERATION), 'an Audit Check record', 5000);
    const check = s.server.audit.tail(20).find((r) => r.operation === AUDIT_CHECK_OPERATION)!;
    assert.equal(check.result, 'failure');
    assert.match(check.reason, new RegExp(`while the server was running: record ${target} was altered`));
    // Reported once, not once a second.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(s.server.audit.tail(50).filter((r) => r.operation === AUDIT_CHECK_OPERATION).length, 1);
    // The server keeps serving, and the log says what happened.
    assert.ok(uidOf(await send(c, [createAes()])));
    c.close();
  } finally {
    await s.stop().catch(() => {});
  }
});

test('a sealed head replaced in the live database is reported by the tail check', async () => {
  const s = await startTestServer({ audit: auditConfig({ tailCheckSeconds: 1 }) });
  try {
    const c = await s.client();
    await send(c, [createAes()]);
    sqlite3(join(s.dir, 'keyhaven.db'), "UPDATE meta SET value = zeroblob(72) WHERE key = 'audit_head';");
    await until(() => s.server.audit.tail(20).some((r) => r.operation === AUDIT_CHECK_OPERATION), 'an Audit Check record', 5000);
    const check = s.server.audit.tail(20).find((r) => r.operation === AUDIT_CHECK_OPERATION)!;
    assert.match(check.reason, /sealed head/);
    c.close();
  } finally {
    await s.stop().catch(() => {});
  }
});

test('Server Start names the head; Audit Checkpoint records follow the head while the log grows, and reach syslog', async (t) => {
  const collector = await TcpCollector.listen();
  t.after(() => collector.close());
  const s = await startTestServer({
    audit: auditConfig({ checkpointMinutes: 0.05, syslog: { host: '127.0.0.1', port: collector.port } }),
  });
  try {
    const start = s.server.audit.tail(1)[0]!;
    assert.equal(start.operation, 'Server Start');
    assert.match(start.reason, /; audit head 0 0{12}$/, 'a new log: head 0 (the genesis value)');
    const c = await s.client();
    await send(c, [createAes()]);
    const before = s.server.audit.tail(1)[0]!.seq;
    await until(() => s.server.audit.tail(5).some((r) => r.operation === 'Audit Checkpoint'), 'an Audit Checkpoint record', 8000);
    const cp = s.server.audit.tail(5).find((r) => r.operation === 'Audit Checkpoint')!;
    const m = /^audit head (\d+) ([0-9a-f]{12})$/.exec(cp.reason);
    assert.ok(m, cp.reason);
    assert.equal(Number(m[1]), cp.seq - 1, 'the checkpoint names the record before it');
    assert.ok(Number(m[1]) >= before);
    assert.equal(cp.result, 'success');
    await until(() => audits(collector.messages).some((x) => x.sd[SD]!.operation === 'Audit Checkpoint'), 'the checkpoint at the collector');
    const fwd = audits(collector.messages).find((x) => x.sd[SD]!.operation === 'Audit Checkpoint')!;
    assert.equal(Number(fwd.sd[SD]!.seq), cp.seq);
    assert.equal(fwd.sd[SD]!.reason, cp.reason);
    // The log does not grow by itself: no checkpoint of a checkpoint.
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal(s.server.audit.tail(1)[0]!.seq, cp.seq, 'no further records while idle');
    c.close();
  } finally {
    await s.stop();
  }
});

test('configuration: defaults, anchorFile resolved against dataDir, bad values named', () => {
  const c = parseConfig({ dataDir: '/var/lib/keyhaven' }, 'test');
  assert.equal(c.audit.checkpointMinutes, 5);
  assert.equal(c.audit.tailCheckSeconds, 60);
  assert.equal(c.audit.tailCheckRecords, 1000);
  assert.equal(resolvePaths(c).anchor, '/var/lib/keyhaven/keyhaven.anchor');
  assert.equal(resolvePaths(parseConfig({ dataDir: '/d', store: { anchorFile: '/var/lib/keyhaven-anchor/a' } }, 't')).anchor, '/var/lib/keyhaven-anchor/a');
  assert.throws(() => parseConfig({ dataDir: '/d', audit: { checkpointMinutes: 0 } }, 't'), /audit\.checkpointMinutes: Number must be greater than or equal to 0\.05/);
  assert.throws(() => parseConfig({ dataDir: '/d', audit: { tailCheckSeconds: 0.5 } }, 't'), /audit\.tailCheckSeconds: Expected integer/);
  assert.throws(() => parseConfig({ dataDir: '/d', store: { anchorFile: '' } }, 't'), /store\.anchorFile/);
});
