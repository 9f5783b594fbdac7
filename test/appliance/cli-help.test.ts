// `keyhaven --help` lists what runs: every advertised command (and every command of the groups)
// accepts --help, and nothing advertised is refused as unknown. The expected commands and phrases
// are written out here, not taken from the tables the help is made from, so a wrong table fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../appliance/cli.js';
import { runCli } from '../../server/index.js';

const KEYHAVEN = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));

async function run(argv: string[], cli = main): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** The key server's own commands, then the image side's. */
const SERVER_COMMANDS = ['serve', 'dev', 'mirror', 'backup', 'pki', 'audit', 'store', 'credential', 'ttlv'];
const IMAGE_COMMANDS = ['firewall', 'appliance', 'menu', 'admin-helper', 'sshd-config'];

/** The commands a usage text lists: the names that start its two-space indented lines, once each. */
const listed = (usage: string): string[] => [...new Set([...usage.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!))];

/** Phrases of `keyhaven --help` that say what a command does (one per command or form). */
const KEY_PHRASES = [
  /^usage: keyhaven <command> \[options\]\n\n/,
  /^ {2}serve --config FILE +run the key server with a JSON configuration file$/m,
  /^ {2}dev --data-dir DIR +try it out: creates a CA/m,
  /^ {2}mirror status \(--config FILE \| --data-dir DIR\) \[--json\]$/m,
  /^ {2}mirror token \(--config FILE \| --data-dir DIR\)$/m,
  /^ {2}mirror join --config FILE +join the group of the token on standard input/m,
  /^ {2}mirror remove \(--config FILE \| --data-dir DIR\) NODE$/m,
  /^ {2}pki <command> … +manage the CA and certificates \(keyhaven pki --help\)$/m,
  /^ {2}audit verify \(--config FILE \| --data-dir DIR\)$/m,
  /^ {2}audit tail \(--config FILE \| --data-dir DIR\) \[-n N\]$/m,
  /^ {2}store check \(--config FILE \| --data-dir DIR\)$/m,
  /^ {2}store accept-rollback \(--config FILE \| --data-dir DIR\) \[--yes\]$/m,
  /^ {2}credential hash +read a password on standard input/m,
  /^ {2}ttlv print \[FILE\] \[--max-bytes N\]$/m,
  /^ {2}firewall <command> … +render, check or apply the appliance firewall \(keyhaven firewall --help\)$/m,
  /^ {2}appliance <command> … +what systemd runs on the appliance \(keyhaven appliance --help\)$/m,
  /^ {2}menu +the admin menu/m,
  /^ {2}admin-helper \[--peer ID\] +serve one request to the privileged helper/m,
  /^ {2}sshd-config +print the hardened sshd configuration/m,
];

test('keyhaven --help lists exactly the commands that have usage lines, and each accepts --help', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.deepEqual(listed(help.out), [...SERVER_COMMANDS, ...IMAGE_COMMANDS]);
  for (const phrase of KEY_PHRASES) assert.match(help.out, phrase);
  for (const name of [...SERVER_COMMANDS, ...IMAGE_COMMANDS]) {
    const r = await run([name, '--help']);
    assert.deepEqual([r.code, r.err], [0, ''], `keyhaven ${name} --help`);
    assert.match(r.out, new RegExp(`keyhaven ${name}\\b`), `keyhaven ${name} --help`);
  }
  const unknown = await run(['no-such-command']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "no-such-command"/);
});

test('the command groups: every subcommand they advertise accepts --help', async () => {
  const groups: Record<string, string[]> = {
    appliance: ['configure', 'first-boot', 'banner', 'server-config', 'mirror-peers', 'rsyslog-conf', 'siem-conf'],
    pki: ['init', 'server', 'client', 'sign-csr', 'revoke', 'list', 'crl'],
    firewall: ['render', 'check', 'apply'],
  };
  for (const [group, subs] of Object.entries(groups)) {
    const help = await run([group, '--help']);
    // appliance's help is made like keyhaven's: it lists those and no others.
    if (group === 'appliance') assert.deepEqual(listed(help.out), subs);
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
  assert.deepEqual(listed(r.out), SERVER_COMMANDS);
});

test('the launcher (appliance/bin/keyhaven.js) runs the same table', async () => {
  const r = spawnSync(process.execPath, [KEYHAVEN, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(listed(r.stdout), [...SERVER_COMMANDS, ...IMAGE_COMMANDS]);
  for (const phrase of KEY_PHRASES) assert.match(r.stdout, phrase);
  assert.equal(r.stdout, (await run(['--help'])).out, 'the same text as in-process');
});
