// Syslog messages of audit records (server/audit/syslog-message.ts): RFC 5424 header, PRI,
// structured-data escaping, header field limits, control characters, octet-counting framing and
// UTF-8-safe truncation — checked with the independent parsers of syslog-collector.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { AUDIT_CHECK_OPERATION } from '../../server/audit/audit-log.js';
import {
  FACILITIES, formatAuditRecord, formatNotice, frameOctetCounted, gapNotice, Severity, syslogHeader, truncateUtf8, type FacilityName,
} from '../../server/audit/syslog-message.js';
import { OctetCountingParser, parse5424, record } from '../support/syslog-collector.js';

const header = (over: Partial<{ facility: FacilityName; hostname: string; appName: string; procId: string }> = {}) =>
  syslogHeader({
    facility: FACILITIES[over.facility ?? 'local0'],
    hostname: over.hostname ?? 'kh1.example.com',
    appName: over.appName ?? 'keyhaven',
    procId: over.procId ?? '4242',
  });

test('an audit record becomes an RFC 5424 message with every field in keyhaven@32473', () => {
  const r = record(17, { objectId: '1234', identity: 'CN=vcenter', address: '10.0.0.5' });
  const text = formatAuditRecord(header(), r);
  const m = parse5424(text);
  assert.equal(m.version, 1);
  assert.equal(m.timestamp, r.time);
  assert.equal(m.hostname, 'kh1.example.com');
  assert.equal(m.appName, 'keyhaven');
  assert.equal(m.procId, '4242');
  assert.equal(m.msgId, 'audit');
  assert.deepEqual(m.sd, {
    'keyhaven@32473': { seq: '17', identity: 'CN=vcenter', address: '10.0.0.5', operation: 'Get', object: '1234', result: 'success', reason: '' },
  });
  assert.equal(m.msg, 'Get 1234 by CN=vcenter from 10.0.0.5: success');
  assert.ok(!Buffer.from(m.msg).subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'no BOM');
});

test('the sentence names a failure reason and leaves out what is empty', () => {
  const fail = parse5424(formatAuditRecord(header(), record(1, { result: 'failure', reason: 'Item Not Found', objectId: 'x9' })));
  assert.equal(fail.msg, 'Get x9 by CN=vcenter,O=Example from 10.0.0.5: failure (Item Not Found)');
  const start = parse5424(formatAuditRecord(header(), record(2, { operation: 'Server Start', identity: 'keyhaven', address: '-', objectId: '', reason: 'KMIP on 0.0.0.0:6000' })));
  assert.equal(start.msg, 'Server Start by keyhaven: success (KMIP on 0.0.0.0:6000)');
});

test('a long object list is shortened in the sentence but complete in the structured data', () => {
  const ids = Array.from({ length: 40 }, (_, i) => `0c1f${String(i).padStart(4, '0')}-aaaa-bbbb`);
  const m = parse5424(formatAuditRecord(header(), record(3, { operation: 'Locate', objectId: ids.join(',') })));
  assert.equal(m.sd['keyhaven@32473']!.object, ids.join(','));
  assert.equal(m.msg, `Locate ${ids[0]} and 39 more by CN=vcenter,O=Example from 10.0.0.5: success`);
});

// PRI = facility * 8 + severity (RFC 5424 §6.2.1); values from Tables 1 and 2.
const PRI: { facility: FacilityName; operation: string; result: string; pri: number }[] = [
  { facility: 'local0', operation: 'Get', result: 'success', pri: 134 }, // 16*8 + 6 informational
  { facility: 'local0', operation: 'Get', result: 'failure', pri: 132 }, // 16*8 + 4 warning
  { facility: 'local0', operation: AUDIT_CHECK_OPERATION, result: 'failure', pri: 129 }, // 16*8 + 1 alert
  { facility: 'kern', operation: 'Create', result: 'success', pri: 6 },
  { facility: 'user', operation: 'Create', result: 'failure', pri: 12 },
  { facility: 'daemon', operation: 'Destroy', result: 'success', pri: 30 },
  { facility: 'auth', operation: 'Handshake', result: 'failure', pri: 36 },
  { facility: 'authpriv', operation: 'Get', result: 'success', pri: 86 },
  { facility: 'audit', operation: AUDIT_CHECK_OPERATION, result: 'failure', pri: 105 },
  { facility: 'audit', operation: 'Get', result: 'success', pri: 110 },
  { facility: 'local7', operation: 'Get', result: 'failure', pri: 188 },
];

for (const c of PRI) {
  test(`PRI: ${c.facility}, ${c.operation} ${c.result} -> <${c.pri}>`, () => {
    const text = formatAuditRecord(header({ facility: c.facility }), record(1, { operation: c.operation, result: c.result }));
    assert.ok(text.startsWith(`<${c.pri}>1 `), text.slice(0, 20));
  });
}

// SD-PARAM values: '"', '\' and ']' escaped (RFC 5424 §6.3.3); control characters as #ooo.
const ESCAPES: { value: string; wire: string; decoded: string }[] = [
  { value: 'plain', wire: 'plain', decoded: 'plain' },
  { value: 'say "hi"', wire: 'say \\"hi\\"', decoded: 'say "hi"' },
  { value: 'C:\\keys\\', wire: 'C:\\\\keys\\\\', decoded: 'C:\\keys\\' },
  { value: 'a]b[c', wire: 'a\\]b[c', decoded: 'a]b[c' },
  { value: '"]\\', wire: '\\"\\]\\\\', decoded: '"]\\' },
  { value: 'line1\nline2', wire: 'line1#012line2', decoded: 'line1#012line2' },
  { value: 'cr\r\u0000nul\u001bESC\u007fDEL\u0085NEL', wire: 'cr#015#000nul#033ESC#177DEL#205NEL', decoded: 'cr#015#000nul#033ESC#177DEL#205NEL' },
  { value: 'CN=Jürgen,O=Zürich 🔑', wire: 'CN=Jürgen,O=Zürich 🔑', decoded: 'CN=Jürgen,O=Zürich 🔑' },
  { value: '', wire: '', decoded: '' },
];

for (const [i, c] of ESCAPES.entries()) {
  test(`SD-PARAM escaping ${i}: ${JSON.stringify(c.value)}`, () => {
    const text = formatAuditRecord(header(), record(5, { identity: c.value, reason: c.value }));
    assert.ok(text.includes(` identity="${c.wire}" `), text);
    const m = parse5424(text);
    assert.equal(m.sd['keyhaven@32473']!.identity, c.decoded);
    assert.equal(m.sd['keyhaven@32473']!.reason, c.decoded);
  });
}

test('no control character of any field ever reaches the line (C0, DEL, C1)', () => {
  const controls = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
  const all = String.fromCharCode(...controls);
  const r = record(6, { identity: `a${all}`, address: all, operation: `Get${all}`, objectId: all, result: all, reason: all });
  const text = formatAuditRecord(header(), r);
  assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f]/);
  const m = parse5424(text);
  assert.equal(m.sd['keyhaven@32473']!.identity, `a${controls.map((c) => `#${c.toString(8).padStart(3, '0')}`).join('')}`);
  const notice = formatNotice(header(), { severity: Severity.notice, msgId: 'x', text: `two\nlines\r\n` });
  assert.doesNotMatch(notice, /[\r\n]/);
  assert.match(notice, /two#012lines#015#012$/);
});

test('header fields: PRINTUSASCII only, cut to their RFC 5424 §6 limits, NILVALUE when empty', () => {
  const long = (n: number) => 'h'.repeat(n);
  const cases: { over: Parameters<typeof header>[0]; hostname: string; appName: string; procId: string }[] = [
    { over: { hostname: long(300) }, hostname: long(255), appName: 'keyhaven', procId: '4242' },
    { over: { hostname: long(255) }, hostname: long(255), appName: 'keyhaven', procId: '4242' },
    { over: { appName: 'a'.repeat(60) }, hostname: 'kh1.example.com', appName: 'a'.repeat(48), procId: '4242' },
    { over: { procId: '9'.repeat(200) }, hostname: 'kh1.example.com', appName: 'keyhaven', procId: '9'.repeat(128) },
    { over: { hostname: 'my host', appName: 'key\thaven' }, hostname: 'my_host', appName: 'key_haven', procId: '4242' },
    { over: { hostname: 'hôte' }, hostname: 'h_te', appName: 'keyhaven', procId: '4242' },
    { over: { hostname: '', appName: '', procId: '' }, hostname: '-', appName: '-', procId: '-' },
  ];
  for (const c of cases) {
    const m = parse5424(formatAuditRecord(header(c.over), record(1)));
    assert.deepEqual({ hostname: m.hostname, appName: m.appName, procId: m.procId }, { hostname: c.hostname, appName: c.appName, procId: c.procId }, JSON.stringify(c.over));
  }
  const n = parse5424(formatNotice(header(), { severity: Severity.info, msgId: 'm'.repeat(40), text: 'x' }));
  assert.equal(n.msgId, 'm'.repeat(32));
  assert.equal(parse5424(formatNotice(header(), { severity: Severity.info, msgId: '', text: 'x' })).msgId, '-');
  assert.equal(parse5424(formatNotice(header(), { severity: Severity.info, msgId: 'a b', text: 'x' })).msgId, 'a_b');
});

test('TIMESTAMP: the record time when it is RFC 5424 §6.2.3 valid, else NILVALUE', () => {
  const cases: [string, string][] = [
    ['2025-03-04T05:06:07.089Z', '2025-03-04T05:06:07.089Z'],
    ['2025-03-04T05:06:07Z', '2025-03-04T05:06:07Z'],
    ['2025-03-04T05:06:07.123456+02:00', '2025-03-04T05:06:07.123456+02:00'],
    ['2025-03-04T05:06:07.1234567Z', '-'],
    ['2025-03-04 05:06:07Z', '-'],
    ['yesterday', '-'],
    ['', '-'],
  ];
  for (const [time, want] of cases) assert.equal(parse5424(formatAuditRecord(header(), record(1, { time }))).timestamp, want, time);
});

test('a plain notice and the gap notice carry their counts and seq range', () => {
  const plain = parse5424(formatNotice(header(), { severity: Severity.notice, msgId: 'hello', text: 'forwarding started', time: '2025-01-01T00:00:00.000Z' }));
  assert.equal(plain.severity, Severity.notice);
  assert.equal(plain.facility, 16);
  assert.deepEqual(plain.sd, {});
  assert.equal(plain.msg, 'forwarding started');
  const gap = parse5424(gapNotice(header(), 15, 3, 17));
  assert.equal(gap.msgId, 'audit-gap');
  assert.equal(gap.severity, Severity.warning);
  assert.deepEqual(gap.sd, { 'keyhaven@32473': { dropped: '15', firstSeq: '3', lastSeq: '17' } });
  assert.match(gap.msg, /^15 audit records were not forwarded \(seq 3 to 17\).*local hash-chained audit log holds them/);
  assert.match(parse5424(gapNotice(header(), 1, 9, 9)).msg, /^1 audit record was not forwarded \(seq 9\)/);
  assert.match(parse5424(gapNotice(header(), 4, 9, 30)).msg, /^4 audit records were not forwarded \(between seq 9 and 30\)/);
});

test('octet counting: MSG-LEN is the UTF-8 byte length (RFC 6587 §3.4.1)', () => {
  assert.equal(frameOctetCounted('abc'), '3 abc');
  assert.equal(frameOctetCounted('Zürich'), '7 Zürich');
  assert.equal(frameOctetCounted('🔑'), '4 🔑');
  const msg = formatAuditRecord(header(), record(1, { identity: 'CN=Jürgen' }));
  const framed = Buffer.from(frameOctetCounted(msg));
  const sp = framed.indexOf(0x20);
  assert.equal(Number(framed.toString('latin1', 0, sp)), framed.length - sp - 1);
});

test('framing: the stream parses the same however it is split (every byte boundary, and byte by byte)', () => {
  const messages = [
    formatAuditRecord(header(), record(1)),
    formatAuditRecord(header(), record(2, { identity: 'CN=Jürgen 🔑', reason: 'a "quoted" ] reason' })),
    formatNotice(header(), { severity: Severity.warning, msgId: 'n', text: 'ünïcödé notice' }),
    formatAuditRecord(header(), record(3, { objectId: 'x'.repeat(300) })),
  ];
  const stream = Buffer.from(messages.map(frameOctetCounted).join(''));
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new OctetCountingParser();
    const got = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    assert.deepEqual(got, messages, `split at ${cut}`);
    assert.equal(p.pending, 0);
  }
  // Three pieces, at a spread of positions.
  for (let a = 0; a <= stream.length; a += 7) {
    for (let b = a; b <= stream.length; b += 13) {
      const p = new OctetCountingParser();
      const got = [...p.push(stream.subarray(0, a)), ...p.push(stream.subarray(a, b)), ...p.push(stream.subarray(b))];
      assert.deepEqual(got, messages, `split at ${a}, ${b}`);
    }
  }
  const p = new OctetCountingParser();
  const got: string[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...p.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got, messages);
});

test('UDP truncation never splits a UTF-8 character and keeps the longest prefix that fits', () => {
  const text = 'a€ü🔑b\u0800x🔑🔑éz';
  const whole = Buffer.from(text);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let max = 0; max <= whole.length + 2; max++) {
    const cut = truncateUtf8(whole, max);
    assert.ok(cut.length <= max, `max ${max}: ${cut.length} bytes`);
    const s = decoder.decode(cut); // throws on a split character
    assert.ok(text.startsWith(s), `max ${max}: prefix`);
    // The longest: the next whole character would not fit.
    const next = [...text.slice(s.length)][0];
    if (next !== undefined) assert.ok(cut.length + Buffer.byteLength(next) > max, `max ${max}: could keep ${next}`);
    else assert.equal(cut.length, whole.length);
  }
});
