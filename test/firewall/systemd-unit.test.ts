// keyhaven-firewall.service: ordering before any network interface, and its load-or-fail-closed logic.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFailClosed } from '../../firewall/fail-closed.js';
import { renderPolicy } from '../../firewall/policy.js';
import { addNetns, deleteNetns, hasCommand, inNetns, must, needsRootAnd, run } from './helpers/sys.js';

const UNIT = fileURLToPath(new URL('../../appliance/systemd/keyhaven-firewall.service', import.meta.url));
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kh-fw-unit-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `[Section] Key=value` lines of a unit file; repeated keys collect all values. */
function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\s*(#|;|$)/.test(line)) continue;
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) {
      section = header[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq).trim()}`;
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return keys;
}

test('the unit is ordered before the network and never opens the firewall when stopped', async () => {
  const unit = parseUnit(await readFile(UNIT, 'utf8'));
  const one = (key: string) => unit.get(key)?.join(' ') ?? '';
  assert.equal(one('Unit.DefaultDependencies'), 'no');
  assert.match(one('Unit.Before'), /(^| )network-pre\.target( |$)/);
  assert.match(one('Unit.Wants'), /(^| )network-pre\.target( |$)/);
  assert.equal(one('Service.Type'), 'oneshot');
  assert.equal(one('Service.RemainAfterExit'), 'yes');
  assert.equal(unit.get('Service.ExecStop'), undefined, 'stopping the unit must not flush the rules');
  assert.match(one('Service.ExecStart'), /\/etc\/keyhaven\/firewall\.nft/);
  assert.match(one('Service.ExecStart'), /\/usr\/lib\/keyhaven\/firewall-fail-closed\.nft/);
  assert.match(one('Install.WantedBy'), /sysinit\.target/);
});

test('systemd-analyze verify accepts the unit without a warning', async (t) => {
  if (!(await hasCommand('systemd-analyze'))) return t.skip('systemd-analyze is not installed (apt-get install systemd)');
  // verify exits 0 even on unknown keys or bad values, so any message about the unit counts as failure.
  const copy = join(dir, 'keyhaven-firewall.service');
  await copyFile(UNIT, copy);
  const r = await run('systemd-analyze', ['verify', copy]);
  const aboutUnit = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('keyhaven-firewall'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(aboutUnit, []);
  // The check can fail: a misspelt key in a copy is reported.
  const broken = join(dir, 'broken.service');
  await writeFile(broken, (await readFile(UNIT, 'utf8')).replace('Before=', 'Befor='));
  const b = await run('systemd-analyze', ['verify', broken]);
  assert.match(`${b.stdout}${b.stderr}`, /Unknown key 'Befor'/);
});

// The ExecStart script, run for real against a namespace: file paths pointed into a temp dir.
const skip = await needsRootAnd('ip', 'nft', 'sh');
const NS = `kh-fw-unit-${process.pid}`;

async function execStart(rulesFile: string, failClosedFile: string): Promise<{ code: number | null; stderr: string }> {
  const unit = parseUnit(await readFile(UNIT, 'utf8'));
  const line = unit.get('Service.ExecStart')?.[0] ?? '';
  const m = /^\/bin\/sh -c '(.*)'$/.exec(line);
  assert.ok(m, `ExecStart is expected to be /bin/sh -c '…': ${line}`);
  const script = (m[1] ?? '')
    .replaceAll('/etc/keyhaven/firewall.nft', rulesFile)
    .replaceAll('/usr/lib/keyhaven/firewall-fail-closed.nft', failClosedFile)
    .replaceAll('/usr/sbin/nft', `ip netns exec ${NS} nft`);
  return run('/bin/sh', ['-c', script]);
}
const listTable = () => must('ip', inNetns(NS, 'nft', 'list', 'table', 'inet', 'keyhaven'));

test('ExecStart loads the saved ruleset, or the fail-closed one when it is missing or refused', { skip }, async (t) => {
  await deleteNetns(NS);
  await addNetns(NS);
  t.after(() => deleteNetns(NS));
  const rules = join(dir, 'firewall.nft');
  const closed = join(dir, 'firewall-fail-closed.nft');
  await writeFile(closed, renderFailClosed());

  await writeFile(rules, renderPolicy(undefined));
  let r = await execStart(rules, closed);
  assert.equal(r.code, 0, r.stderr);
  assert.match(await listTable(), /keyhaven-drop-in/);

  await rm(rules);
  r = await execStart(rules, closed);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /missing or refused, loading the fail-closed ruleset/);
  assert.match(await listTable(), /keyhaven-closed-in/);

  await writeFile(rules, renderPolicy(undefined)); // back to the policy…
  assert.equal((await execStart(rules, closed)).code, 0);
  await writeFile(rules, 'table inet keyhaven { chain input { type filter hook input priority filter; policy accept; tcp dport 1 bogus } }\n');
  r = await execStart(rules, closed); // …then a corrupt file
  assert.equal(r.code, 0, r.stderr);
  const listed = await listTable();
  assert.match(listed, /keyhaven-closed-in/);
  assert.doesNotMatch(listed, /policy accept/);
});
