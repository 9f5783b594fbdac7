// The configuration file (server/config.ts): a minimal file works with documented defaults; every
// invalid file is refused with the field and the reason; `keyhaven serve` with a bad file exits
// non-zero and prints the field.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../server/errors.js';
import { loadConfig, parseConfig, resolvePaths } from '../server/config.js';
import { runCli } from './store/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'keyhaven-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string | object): string {
  const p = join(dir, `config-${n++}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function refuses(fn: () => unknown, code: string, ...messages: RegExp[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeyhavenError, String(e));
    assert.equal(e.code, code, e.message);
    for (const m of messages) assert.match(e.message, m);
    return true;
  });
}

test('a minimal configuration gets the documented defaults', () => {
  const c = loadConfig(file({ dataDir: '/var/lib/keyhaven' }));
  assert.equal(c.dataDir, '/var/lib/keyhaven');
  assert.deepEqual(c.listeners.kmip, { enabled: true, host: '0.0.0.0', port: 6000, operations: 'all' });
  assert.equal(c.listeners.services, undefined, 'the encryption services port is off unless configured');
  const services = parseConfig({ dataDir: '/tmp/x', listeners: { services: {} } }, 'test').listeners.services;
  assert.deepEqual(services, { enabled: true, host: '0.0.0.0', port: 6003, operations: 'cryptographic-services' });
  assert.throws(() => parseConfig({ dataDir: '/tmp/x', listeners: { kmip: { operations: 'encrypt-only' } } }, 'test'), /listeners\.kmip\.operations/);
  assert.equal(c.tls.minVersion, 'TLSv1.2');
  assert.equal(c.limits.maxMessageBytes, 1024 * 1024);
  assert.equal(c.limits.maxConnections, 1024);
  assert.equal(c.log.level, 'info');
  assert.equal(c.store.createMasterKey, true);
  assert.deepEqual(c.credentials, []);
  assert.equal(c.audit.syslog, undefined, 'no syslog forwarding unless configured');
  const p = resolvePaths(c);
  assert.equal(p.database, '/var/lib/keyhaven/keyhaven.db');
  assert.equal(p.masterKey, '/var/lib/keyhaven/master.key');
});

test('a full valid configuration is accepted as written', () => {
  const c = loadConfig(file({
    dataDir: '/data',
    store: { path: 'db/k.db', masterKeyFile: '/secrets/master.key', createMasterKey: false },
    listeners: { kmip: { host: '127.0.0.1', port: 5696, enabled: false } },
    tls: { minVersion: 'TLSv1.3' },
    limits: { maxConnections: 10, maxMessageBytes: 65536 },
    log: { level: 'debug' },
  }));
  assert.equal(c.listeners.kmip.port, 5696);
  assert.equal(c.listeners.kmip.enabled, false);
  assert.equal(c.limits.maxConnections, 10);
  assert.equal(c.limits.readTimeoutMs, 10_000, 'unset limits keep their defaults');
  assert.equal(resolvePaths(c).database, '/data/db/k.db');
  assert.equal(resolvePaths(c).masterKey, '/secrets/master.key');
});

test('audit.syslog: a host alone gets the documented defaults; unix takes a path', () => {
  const tcp = loadConfig(file({ dataDir: '/d', audit: { syslog: { host: 'siem.example.com' } } }));
  assert.deepEqual(tcp.audit.syslog, {
    host: 'siem.example.com', port: 514, transport: 'tcp', facility: 'local0', appName: 'keyhaven', maxQueued: 50_000, maxDatagramBytes: 2048,
  });
  const udp = loadConfig(file({ dataDir: '/d', audit: { syslog: { host: '2001:db8::5', port: 1514, transport: 'udp', facility: 'audit', appName: 'kh1', maxQueued: 1000, maxDatagramBytes: 1180 } } }));
  assert.deepEqual(udp.audit.syslog, { host: '2001:db8::5', port: 1514, transport: 'udp', facility: 'audit', appName: 'kh1', maxQueued: 1000, maxDatagramBytes: 1180 });
  const unix = loadConfig(file({ dataDir: '/d', audit: { syslog: { transport: 'unix', path: '/run/keyhaven-syslog/audit.sock', facility: 'authpriv' } } }));
  assert.equal(unix.audit.syslog?.transport, 'unix');
  assert.equal(unix.audit.syslog?.path, '/run/keyhaven-syslog/audit.sock');
  assert.equal(unix.audit.syslog?.facility, 'authpriv');
  assert.equal(unix.audit.syslog?.host, undefined);
});

test('a relative dataDir is taken relative to the configuration file', () => {
  const sub = join(dir, 'etc');
  mkdirSync(sub, { recursive: true });
  const p = join(sub, 'keyhaven.json');
  writeFileSync(p, JSON.stringify({ dataDir: '../data' }));
  assert.equal(loadConfig(p).dataDir, join(dir, 'data'));
});

test('a file starting with a UTF-8 byte order mark (as some editors save) is read', () => {
  assert.equal(loadConfig(file(`\uFEFF${JSON.stringify({ dataDir: '/d' })}`)).dataDir, '/d');
});

const INVALID: { name: string; config: unknown; messages: RegExp[] }[] = [
  { name: 'limits.maxConnections 0', config: { dataDir: '/d', limits: { maxConnections: 0 } }, messages: [/limits\.maxConnections: Number must be greater than or equal to 1/] },
  { name: 'limits.maxConnections not an integer', config: { dataDir: '/d', limits: { maxConnections: 2.5 } }, messages: [/limits\.maxConnections: Expected integer/] },
  { name: 'misspelt top-level key "listners"', config: { dataDir: '/d', listners: { kmip: { port: 6000 } } }, messages: [/\(top level\): Unrecognized key\(s\) in object: 'listners'/] },
  { name: 'misspelt nested key', config: { dataDir: '/d', limits: { maxConection: 5 } }, messages: [/limits: Unrecognized key\(s\) in object: 'maxConection'/] },
  { name: 'port 70000', config: { dataDir: '/d', listeners: { kmip: { port: 70000 } } }, messages: [/listeners\.kmip\.port: Number must be less than or equal to 65535/] },
  { name: 'port 0', config: { dataDir: '/d', listeners: { kmip: { port: 0 } } }, messages: [/listeners\.kmip\.port: Number must be greater than or equal to 1/] },
  { name: 'port as a string', config: { dataDir: '/d', listeners: { kmip: { port: '6000' } } }, messages: [/listeners\.kmip\.port: Expected number, received string/] },
  { name: 'missing dataDir', config: {}, messages: [/dataDir: Required/] },
  { name: 'dataDir empty', config: { dataDir: '' }, messages: [/dataDir: String must contain at least 1 character/] },
  { name: 'host with a space', config: { dataDir: '/d', listeners: { kmip: { port: 1, host: 'a b' } } }, messages: [/listeners\.kmip\.host: must not contain spaces/] },
  { name: 'unknown log level', config: { dataDir: '/d', log: { level: 'verbose' } }, messages: [/log\.level: Invalid enum value/] },
  { name: 'TLS 1.1', config: { dataDir: '/d', tls: { minVersion: 'TLSv1.1' } }, messages: [/tls\.minVersion: Invalid enum value/] },
  {
    name: 'a credential with a plain password',
    config: { dataDir: '/d', credentials: [{ subject: 'CN=x', username: 'u', passwordHash: 'hunter2' }] },
    messages: [/credentials\[0\]\.passwordHash: must be a hash made by `keyhaven credential hash`/],
  },
  { name: 'misspelt key in audit.syslog', config: { dataDir: '/d', audit: { syslog: { host: 'h', prot: 514 } } }, messages: [/audit\.syslog: Unrecognized key\(s\) in object: 'prot'/] },
  { name: 'misspelt key in audit', config: { dataDir: '/d', audit: { sylog: { host: 'h' } } }, messages: [/audit: Unrecognized key\(s\) in object: 'sylog'/] },
  { name: 'audit.syslog without a host', config: { dataDir: '/d', audit: { syslog: { port: 514 } } }, messages: [/audit\.syslog\.host: Required with transport "tcp"/] },
  { name: 'audit.syslog unknown facility', config: { dataDir: '/d', audit: { syslog: { host: 'h', facility: 'local8' } } }, messages: [/audit\.syslog\.facility: Invalid enum value\. Expected 'kern' \| 'user'/] },
  { name: 'audit.syslog transport relp', config: { dataDir: '/d', audit: { syslog: { host: 'h', transport: 'relp' } } }, messages: [/audit\.syslog\.transport: Invalid enum value/] },
  { name: 'audit.syslog port 0', config: { dataDir: '/d', audit: { syslog: { host: 'h', port: 0 } } }, messages: [/audit\.syslog\.port: Number must be greater than or equal to 1/] },
  { name: 'audit.syslog appName with a space', config: { dataDir: '/d', audit: { syslog: { host: 'h', appName: 'key haven' } } }, messages: [/audit\.syslog\.appName: must be printable ASCII without spaces/] },
  { name: 'audit.syslog appName of 49 characters', config: { dataDir: '/d', audit: { syslog: { host: 'h', appName: 'a'.repeat(49) } } }, messages: [/audit\.syslog\.appName: String must contain at most 48 character/] },
  { name: 'audit.syslog maxDatagramBytes 100', config: { dataDir: '/d', audit: { syslog: { host: 'h', maxDatagramBytes: 100 } } }, messages: [/audit\.syslog\.maxDatagramBytes: Number must be greater than or equal to 480/] },
  { name: 'audit.syslog maxQueued 0', config: { dataDir: '/d', audit: { syslog: { host: 'h', maxQueued: 0 } } }, messages: [/audit\.syslog\.maxQueued: Number must be greater than or equal to 100/] },
  { name: 'audit.syslog unix without a path', config: { dataDir: '/d', audit: { syslog: { transport: 'unix' } } }, messages: [/audit\.syslog\.path: Required with transport "unix"/] },
  {
    name: 'audit.syslog unix with host and port',
    config: { dataDir: '/d', audit: { syslog: { transport: 'unix', path: '/run/s.sock', host: 'h', port: 514 } } },
    messages: [/audit\.syslog\.host: not used with transport "unix"/, /audit\.syslog\.port: not used with transport "unix"/],
  },
  { name: 'audit.syslog unix with a relative path', config: { dataDir: '/d', audit: { syslog: { transport: 'unix', path: 'run/s.sock' } } }, messages: [/audit\.syslog\.path: must be an absolute path/] },
  { name: 'audit.syslog unix path too long', config: { dataDir: '/d', audit: { syslog: { transport: 'unix', path: `/${'s'.repeat(107)}` } } }, messages: [/audit\.syslog\.path: must be at most 107 bytes/] },
  { name: 'audit.syslog tcp with a path', config: { dataDir: '/d', audit: { syslog: { host: 'h', path: '/run/s.sock' } } }, messages: [/audit\.syslog\.path: only used with transport "unix"/] },
  { name: 'top level is an array', config: [], messages: [/\(top level\): Expected object, received array/] },
  { name: 'top level is null', config: null, messages: [/\(top level\): Expected object, received null/] },
  {
    name: 'several problems are all listed',
    config: { dataDir: 5, limits: { maxConnections: -1 }, extra: true },
    messages: [/dataDir: Expected string, received number/, /limits\.maxConnections/, /'extra'/],
  },
];

for (const c of INVALID) {
  test(`invalid configuration: ${c.name}`, () => {
    const p = file(JSON.stringify(c.config));
    refuses(() => loadConfig(p), ErrorCodes.CONFIG_INVALID, new RegExp(`invalid configuration in ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), ...c.messages);
  });
}

test('a file that is not JSON is refused with the parser\'s reason', () => {
  refuses(() => loadConfig(file('{ "dataDir": "/d", }')), ErrorCodes.CONFIG_INVALID, /is not valid JSON/, /position|Unexpected|Expected/);
  refuses(() => loadConfig(file('')), ErrorCodes.CONFIG_INVALID, /is not valid JSON/);
  refuses(() => loadConfig(file('dataDir: /d')), ErrorCodes.CONFIG_INVALID, /is not valid JSON/);
});

test('an unreadable file is refused as KH_CONFIG_UNREADABLE', () => {
  refuses(() => loadConfig(join(dir, 'does-not-exist.json')), ErrorCodes.CONFIG_UNREADABLE, /cannot read the configuration file .*does-not-exist\.json: ENOENT/);
  refuses(() => loadConfig(dir), ErrorCodes.CONFIG_UNREADABLE, /EISDIR/);
});

test('keyhaven serve --config with an invalid file exits 1 and prints the field and the code', async () => {
  const p = file({ dataDir: join(dir, 'data'), limits: { maxConnections: 0 }, listners: {} });
  const r = await runCli(['serve', '--config', p]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /limits\.maxConnections: Number must be greater than or equal to 1/);
  assert.match(r.stderr, /'listners'/);
  assert.match(r.stderr, /\[KH_CONFIG_INVALID\]/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

test('keyhaven serve with a missing or non-JSON file exits 1 with a clear message; without --config, usage (2)', async () => {
  const missing = await runCli(['serve', '--config', join(dir, 'nope.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read the configuration file .*nope\.json.*\[KH_CONFIG_UNREADABLE\]/s);
  const notJson = await runCli(['serve', '--config', file('not json')]);
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /is not valid JSON.*\[KH_CONFIG_INVALID\]/s);
  const none = await runCli(['serve']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /serve needs --config FILE/);
});

test('parseConfig names its source', () => {
  refuses(() => parseConfig({ dataDir: 1 }, 'the vApp properties'), ErrorCodes.CONFIG_INVALID, /invalid configuration in the vApp properties:\ndataDir: Expected string/);
});
