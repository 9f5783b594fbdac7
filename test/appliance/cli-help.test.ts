// `keyhaven --help` lists what runs: every advertised command (and every command of the groups)
// accepts --help, and nothing advertised is refused as unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { usageText } from '../../lib/cli.js';
import { APPLIANCE_COMMANDS } from '../../appliance/appliance-cli.js';
import { COMMANDS, main } from '../../appliance/cli.js';
import { runCli, serverCommands } from '../../server/index.js';

const KEYHAVEN = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));

async function run(argv: string[], cli = main): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const advertised = COMMANDS.filter((c) => c.usage);

test('keyhaven --help lists exactly the commands that have usage lines, and each accepts --help', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.equal(help.out, usageText('keyhaven', COMMANDS));
  assert.ok(advertised.length >= 10);
  for (const c of advertised) {
    assert.match(help.out, new RegExp(`^  ${c.name}\\b`, 'm'), c.name);
    const r = await run([c.name, '--help']);
    assert.deepEqual([r.code, r.err], [0, ''], `keyhaven ${c.name} --help`);
    assert.match(r.out, new RegExp(`keyhaven ${c.name}\\b`), `keyhaven ${c.name} --help`);
  }
  const unknown = await run(['no-such-command']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "no-such-command"/);
});

test('the command groups: every subcommand they advertise accepts --help', async () => {
  const groups: Record<string, string[]> = {
    appliance: APPLIANCE_COMMANDS.filter((c) => c.usage).map((c) => c.name),
    pki: ['init', 'server', 'client', 'sign-csr', 'revoke', 'list', 'crl'],
    firewall: ['render', 'check', 'apply'],
  };
  for (const [group, subs] of Object.entries(groups)) {
    const help = await run([group, '--help']);
    for (const sub of subs) {
      assert.match(help.out, new RegExp(`^\\s+${sub}\\b`, 'm'), `keyhaven ${group} --help lists ${sub}`);
      const r = await run([group, sub, '--help']);
      assert.equal(r.code, 0, `keyhaven ${group} ${sub} --help: ${r.err}`);
      assert.notEqual(r.out, '', `keyhaven ${group} ${sub} --help`);
    }
  }
});

test("the key server's own command line advertises none of the image side's commands", async () => {
  const r = await run(['--help'], runCli);
  assert.equal(r.code, 0);
  for (const c of COMMANDS.filter((x) => x.usage)) {
    const own = serverCommands.some((s) => s.name === c.name);
    assert.equal(new RegExp(`^  ${c.name}\\b`, 'm').test(r.out), own, c.name);
  }
});

test('the launcher (appliance/bin/keyhaven.js) runs the same table', () => {
  const r = spawnSync(process.execPath, [KEYHAVEN, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, usageText('keyhaven', COMMANDS));
});
