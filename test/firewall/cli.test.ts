import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFirewallCli, USAGE } from '../../firewall/cli.js';
import { addNetns, deleteNetns, inNetns, must, needsRootAnd, run } from './helpers/sys.js';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const golden = (name: string) => readFile(`${GOLDEN}${name}`, 'utf8');
const FULL = `${GOLDEN}full.config.json`;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kh-fw-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[], nft?: { nft?: string; netns?: string }) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await runFirewallCli(args, io, nft ? { nft } : {});
  return { code, stdout, stderr };
}
async function config(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('render prints the default ruleset without --config, the golden one with the full config', async () => {
  const plain = await cli(['render']);
  assert.deepEqual([plain.code, plain.stderr], [0, '']);
  assert.equal(plain.stdout, await golden('default.nft'));
  const full = await cli(['render', '--config', FULL]);
  assert.equal(full.code, 0);
  assert.equal(full.stdout, await golden('full.nft'));
  assert.equal((await cli(['render', `--config=${FULL}`])).stdout, full.stdout);
  assert.equal((await cli(['render', '--fail-closed'])).stdout, await golden('fail-closed.nft'));
});

test('a config without a "network" object means the defaults', async () => {
  const r = await cli(['render', '--config', await config('other.json', { hostname: 'kh' })]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, await golden('default.nft'));
});

test('invalid settings: exit 1, the setting named on stderr, nothing on stdout', async () => {
  const bad = await config('bad.json', { network: { ssh: { enabled: true }, adminNetworks: ['192.0.2.0/24', '10.0.0.300/24'] } });
  for (const command of ['render', 'check']) {
    const r = await cli([command, '--config', bad], { nft: '/bin/false' });
    assert.equal(r.code, 1, command);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /network\.adminNetworks\[1\]: "10\.0\.0\.300\/24" is not an IPv4 or IPv6 network/);
  }
});

test('unreadable, non-JSON and non-object config files are refused clearly', async () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.json'), /cannot read .*missing\.json: ENOENT/],
    [await config('garbage.json', '{ network: '), /garbage\.json is not valid JSON/],
    [await config('array.json', '[1]'), /array\.json must hold a JSON object with the settings under "network"/],
  ];
  for (const [file, expected] of cases) {
    const r = await cli(['render', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, '');
  }
});

test('usage errors exit 2 with the usage text; help exits 0', async () => {
  for (const args of [[], ['frobnicate'], ['render', '--bogus'], ['render', 'extra'], ['render', '--persist', 'x'], ['check', '--fail-closed'], ['render', '--config'], ['render', '--fail-closed', '--config', FULL]]) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /Usage: keyhaven firewall/);
  }
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, USAGE);
  assert.match(USAGE, /"network"/, 'the usage documents where the settings are read from');
});

/** A stand-in for nft that records what it was given and refuses the policy (not the fail-closed set). */
async function fakeNft(): Promise<{ path: string; log: string }> {
  const path = join(dir, 'fake-nft');
  const log = join(dir, 'fake-nft.log');
  await writeFile(path, `#!/bin/sh\ncat > "${log}.in"\ncat "${log}.in" >> "${log}"\nif grep -q keyhaven-drop-in "${log}.in"; then echo "Error: refused by the fake" >&2; exit 1; fi\n`);
  await chmod(path, 0o755);
  return { path, log };
}

test('apply: when nft refuses the ruleset, the fail-closed one is loaded and persisted, exit 1', async () => {
  const { path, log } = await fakeNft();
  const persist = join(dir, 'persisted-refused.nft');
  const r = await cli(['apply', '--persist', persist], { nft: path });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refused by the fake/);
  assert.match(r.stderr, /loaded the FAIL-CLOSED ruleset/);
  assert.match(await readFile(log, 'utf8'), /keyhaven-closed-in/);
  assert.equal(await readFile(persist, 'utf8'), await golden('fail-closed.nft'));
});

test('apply: when even the fail-closed ruleset cannot be loaded, say so', async () => {
  const r = await cli(['apply'], { nft: '/bin/false' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not load the fail-closed ruleset either/);
});

test('apply: a ruleset that loads but cannot be saved for the next boot is an error', async () => {
  const r = await cli(['apply', '--persist', join(dir, 'no-such-dir', 'firewall.nft')], { nft: '/bin/true' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the ruleset is loaded, but could not be saved to .*no-such-dir/);
  assert.equal(r.stdout, '');
});

test('keyhaven firewall runs the CLI as a process with its exit code', async () => {
  const ok = await run(process.execPath, ['appliance/bin/keyhaven.js', 'firewall', 'render']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, await golden('default.nft'));
  const bad = await run(process.execPath, ['appliance/bin/keyhaven.js', 'firewall', 'render', '--config', await config('bad2.json', { network: { siemHosts: ['siem.example.com'] } })]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /network\.siemHosts\[0\]: "siem\.example\.com" is a hostname/);
  assert.equal((await run(process.execPath, ['appliance/bin/keyhaven.js', 'firewall', 'nope'])).code, 2);
});

// With root: the real nft, inside a throwaway namespace.
const skip = await needsRootAnd('ip', 'nft');
if (skip) console.log(`skipping CLI tests against the kernel: ${skip}`);
const NS = `kh-fw-clitest-${process.pid}`;
const listTable = () => must('ip', inNetns(NS, 'nft', 'list', 'table', 'inet', 'keyhaven'));

test('with the kernel: check, apply with --persist, and apply of invalid settings', { skip }, async (t) => {
  await deleteNetns(NS);
  await addNetns(NS);
  t.after(() => deleteNetns(NS));
  const nft = { netns: NS };

  const check = await cli(['check', '--config', FULL], nft);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^ok: nft -c accepted the ruleset \(\d+ lines\)/);

  const persist = join(dir, 'firewall.nft');
  const applied = await cli(['apply', '--config', FULL, '--persist', persist], nft);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(await readFile(persist, 'utf8'), await golden('full.nft'));
  assert.match(await listTable(), /ip6 saddr @admin_v6 tcp dport 22 accept/);

  const bad = await config('bad3.json', { network: { ntpServers: ['pool.ntp.org'] } });
  const refused = await cli(['apply', '--config', bad, '--persist', persist], nft);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /network\.ntpServers\[0\]: "pool\.ntp\.org" is a hostname/);
  assert.match(refused.stderr, /FAIL-CLOSED/);
  const listed = await listTable();
  assert.match(listed, /keyhaven-closed-in/);
  assert.doesNotMatch(listed, /dport/);
  assert.equal(await readFile(persist, 'utf8'), await golden('fail-closed.nft'), 'the next boot stays closed too');
});
