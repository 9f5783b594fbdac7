// The shared core (lib/): what each part relies on it to do the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { dispatch, usageError, type CliCommand } from '../lib/cli.js';
import { CoreCodes, KeyhavenError } from '../lib/errors.js';
import { networkContains, parseIpValue } from '../lib/ip-value.js';
import { readJsonFile } from '../lib/json-file.js';
import { VERSION } from '../lib/version.js';
import { describeZodError } from '../lib/zod-issues.js';

test('readJsonFile: a byte order mark is fine; unreadable and non-JSON files are refused with their codes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-lib-'));
  try {
    const file = join(dir, 'a.json');
    writeFileSync(file, '\ufeff{"a":1}');
    assert.deepEqual(readJsonFile(file), { a: 1 });
    writeFileSync(file, '{"a":');
    assert.throws(() => readJsonFile(file, { label: 'the settings' }), (e: KeyhavenError) => e.code === CoreCodes.CONFIG_INVALID && /^the settings is not valid JSON/.test(e.message));
    assert.throws(() => readJsonFile(file, { invalidCode: 'KH_FIREWALL_INVALID' }), (e: KeyhavenError) => e.code === 'KH_FIREWALL_INVALID');
    assert.throws(() => readJsonFile(join(dir, 'none.json')), (e: KeyhavenError) => e.code === CoreCodes.CONFIG_UNREADABLE && /ENOENT/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('describeZodError names each field as written in the file', () => {
  const schema = z.object({ a: z.array(z.object({ b: z.number() })), c: z.string() }).strict();
  const r = schema.safeParse({ a: [{ b: 1 }, { b: 'x' }], c: 1, d: 0 });
  assert.ok(!r.success);
  assert.equal(
    describeZodError(r.error, 'network'),
    ['network.a[1].b: Expected number, received string', 'network.c: Expected string, received number', "network: Unrecognized key(s) in object: 'd'"].join('\n'),
  );
  const top = z.object({}).strict().safeParse({ x: 1 });
  assert.ok(!top.success);
  assert.equal(describeZodError(top.error), "(top level): Unrecognized key(s) in object: 'x'");
});

test('networkContains: a network contains narrower networks and single addresses of its family', () => {
  const net = (text: string) => {
    const [a, p] = text.split('/');
    return { ...parseIpValue(a!)!, prefix: Number(p) };
  };
  assert.equal(networkContains(net('10.0.0.0/8'), net('10.1.0.0/16')), true);
  assert.equal(networkContains(net('10.1.0.0/16'), net('10.0.0.0/8')), false);
  assert.equal(networkContains(net('10.0.0.0/8'), parseIpValue('10.2.3.4')!), true);
  assert.equal(networkContains(net('10.0.0.0/8'), parseIpValue('11.0.0.0')!), false);
  assert.equal(networkContains(net('::/0'), parseIpValue('10.0.0.1')!), false);
  // "::192.0.2.1" is ::c000:201, not the IPv4-mapped ::ffff:c000:201 (why lib/ip-value.ts is not ipaddr.js).
  assert.equal(parseIpValue('::192.0.2.1')!.value, 0xc0000201n);
});

test('dispatch: help, unknown commands, usage errors (2) and failures (1) with their code, no stack trace', async () => {
  const commands: CliCommand[] = [
    { name: 'ok', usage: 'ok          succeed', run: async () => 0 },
    { name: 'bad', usage: 'bad N       a usage error', run: async () => { throw usageError('bad needs N'); } },
    { name: 'fail', usage: 'fail        fail', run: async () => { throw new KeyhavenError(CoreCodes.CONFIG_UNREADABLE, 'cannot read x'); } },
    { name: 'hidden', run: async () => 0 },
  ];
  const run = async (argv: string[]) => {
    let out = '';
    let err = '';
    const code = await dispatch('kh', commands, argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
  };
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.equal(help.out, 'usage: kh <command> [options]\n\n  ok          succeed\n  bad N       a usage error\n  fail        fail\n');
  assert.equal((await run([])).code, 2);
  assert.deepEqual(await run(['ok', '--help']), { code: 0, out: 'usage:\n  kh ok          succeed\n', err: '' });
  assert.equal((await run(['hidden'])).code, 0);
  const unknown = await run(['nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^kh: unknown command "nope"/);
  const bad = await run(['bad']);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, 'kh: bad needs N [KH_CLI_USAGE]\n\nusage:\n  kh bad N       a usage error\n');
  assert.deepEqual(await run(['fail']), { code: 1, out: '', err: 'kh: cannot read x [KH_CONFIG_UNREADABLE]\n' });
});

test('VERSION is package.json’s', () => {
  assert.equal(VERSION, (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);
});
