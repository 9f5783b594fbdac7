// Golden files: the rendered rulesets are committed and every change to them shows up in review.
// After an intended change, regenerate them with UPDATE_GOLDEN=1 and review the diff (test/support/golden.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNetworkSettings } from '../../firewall/cli.js';
import { renderFailClosed } from '../../firewall/fail-closed.js';
import { renderPolicy } from '../../firewall/policy.js';
import { parseNetworkPolicySettings, type NetworkPolicySettings } from '../../firewall/settings.js';
import { assertGolden } from '../support/golden.js';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const golden = (name: string, actual: string) => assertGolden(`${GOLDEN}${name}`, actual);

const fullSettings = async (): Promise<NetworkPolicySettings> =>
  parseNetworkPolicySettings(await readNetworkSettings(`${GOLDEN}full.config.json`), 'network');

test('default settings render to golden/default.nft', async () => {
  await golden('default.nft', renderPolicy(undefined));
});

test('fully configured settings (golden/full.config.json) render to golden/full.nft', async () => {
  await golden('full.nft', renderPolicy(await fullSettings()));
});

test('the fail-closed ruleset renders to golden/fail-closed.nft', async () => {
  await golden('fail-closed.nft', renderFailClosed());
});

test('the full fixture really exercises every set and every opening', async () => {
  const text = renderPolicy(await fullSettings());
  for (const set of ['admin', 'key_management', 'mirror_peers', 'siem', 'ntp', 'dns']) {
    assert.match(text, new RegExp(`set ${set}_v4 `));
    assert.match(text, new RegExp(`set ${set}_v6 `));
  }
  assert.match(text, /set web_management_v4 /);
  assert.match(text, /set backup_v4 /);
  for (const port of [22, 6001, 3886, 6002]) assert.match(text, new RegExp(`saddr @\\w+ tcp dport ${port} accept`));
});

test('the rendered rulesets stay small and readable', async (t) => {
  const renderings = {
    default: renderPolicy(undefined),
    full: renderPolicy(await fullSettings()),
    failClosed: renderFailClosed(),
  };
  const limits = { default: 45, full: 75, failClosed: 35 };
  for (const [name, text] of Object.entries(renderings)) {
    const lines = text.trimEnd().split('\n');
    t.diagnostic(`${name}: ${lines.length} lines, longest ${Math.max(...lines.map((l) => l.length))} characters`);
    assert.ok(lines.length <= limits[name as keyof typeof limits], `${name} has ${lines.length} lines`);
    for (const line of lines) assert.ok(line.replace(/\t/g, '        ').length <= 160, `line too long in ${name}: ${line}`);
  }
});
