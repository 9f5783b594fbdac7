// The real consumer: the kernel, through nft. Every rendering is checked with `nft -c` in a fresh
// network namespace (where the keyhaven table does not exist yet, as at first boot), then loaded,
// replaced and refused to show that a load is all-or-nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyhavenError, ErrorCodes } from '../../firewall/errors.js';
import { readNetworkSettings } from '../../firewall/cli.js';
import { renderFailClosed } from '../../firewall/fail-closed.js';
import { nftApply, nftCheck } from '../../firewall/nft.js';
import { renderPolicy } from '../../firewall/policy.js';
import { renderRuleset } from '../../firewall/render.js';
import { parseNetworkPolicySettings } from '../../firewall/settings.js';
import { addNetns, deleteNetns, inNetns, must, needsRootAnd, run } from './helpers/sys.js';
import { randomSettings } from './helpers/random-settings.js';
import { drawFrom, runParameters } from '../support/property.js';
import { sample } from './helpers/sample-ruleset.js';

const skip = await needsRootAnd('ip', 'nft');
if (skip) console.log(`skipping nft tests: ${skip}`);
const NS = `kh-fw-nft-${process.pid}`;
const nft = { netns: NS };
const full = async () =>
  renderPolicy(parseNetworkPolicySettings(await readNetworkSettings(new URL('./golden/full.config.json', import.meta.url).pathname), 'network'));
const listTable = () => must('ip', inNetns(NS, 'nft', '-s', 'list', 'table', 'inet', 'keyhaven'));
const tableExists = async () => (await run('ip', inNetns(NS, 'nft', 'list', 'table', 'inet', 'keyhaven'))).code === 0;

before(async () => {
  if (skip) return;
  await deleteNetns(NS);
  await addNetns(NS);
});
after(async () => {
  if (!skip) await deleteNetns(NS);
});

test('nft is 1.0.6 or later, the oldest the rendered rulesets are written for (firewall/render.ts)', { skip }, async (t) => {
  const version = (await must('nft', ['--version'])).trim();
  t.diagnostic(version);
  const m = /^nftables v(\d+)\.(\d+)\.(\d+)/.exec(version);
  assert.ok(m, `nft --version printed ${JSON.stringify(version)}, not "nftables vX.Y.Z"`);
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  assert.ok(major > 1 || (major === 1 && (minor > 0 || patch >= 6)), `the rulesets need nft 1.0.6 or later (Debian 12 has 1.0.6, Debian 13 1.1.x); found ${version}`);
});

test('nft -c accepts default, full, fail-closed and the model sample where the table does not exist yet', { skip }, async () => {
  assert.equal(await tableExists(), false);
  for (const text of [renderPolicy(undefined), await full(), renderFailClosed(), renderRuleset(sample())]) await nftCheck(text, nft);
  assert.equal(await tableExists(), false, 'nft -c must not create anything');
});

test('nft -c accepts the rendering of 40 random settings (fast-check)', { skip, timeout: 60_000 }, async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.gen(), async (g) => {
      await nftCheck(renderPolicy(randomSettings(drawFrom(g))), nft);
    }),
    runParameters(t, 40),
  );
});

test('nft -c refuses a broken ruleset (the check can fail)', { skip }, async () => {
  const broken = renderPolicy(undefined).replace('tcp dport { 6000, 6002, 6003 }', 'tcp dport { 6000, 6002, 6003 } ip saddr @nowhere');
  await assert.rejects(nftCheck(broken, nft), (err: unknown) => {
    assert.ok(err instanceof KeyhavenError);
    assert.equal(err.code, ErrorCodes.FIREWALL_NFT_FAILED);
    assert.match(err.message, /nowhere/);
    return true;
  });
});

test('load, replace in place, and refuse atomically', { skip, timeout: 60_000 }, async () => {
  await nftApply(renderPolicy(undefined), nft);
  const loadedDefault = await listTable();
  assert.match(loadedDefault, /tcp dport \{ 6000, 6002, 6003 \} accept/);
  // With the table present, the same file replaces it (no "File exists", no duplicate rules).
  await nftCheck(await full(), nft);
  await nftApply(await full(), nft);
  const loadedFull = await listTable();
  assert.match(loadedFull, /ip saddr @admin_v4 tcp dport 22 accept/);
  assert.doesNotMatch(loadedFull, /6000, 6002, 6003/, 'the default rules must be gone');
  assert.equal((loadedFull.match(/chain input \{/g) ?? []).length, 1);

  // A file that fails half-way changes nothing: the full ruleset is still there, untouched.
  const failing = `${await full()}\nadd rule inet keyhaven input ip saddr @no_such_set accept\n`;
  await assert.rejects(nftApply(failing, nft), (err: unknown) => err instanceof KeyhavenError && err.code === ErrorCodes.FIREWALL_NFT_FAILED);
  assert.equal(await listTable(), loadedFull);

  await nftApply(renderFailClosed(), nft);
  assert.match(await listTable(), /keyhaven-closed-in/);
  await nftApply(renderPolicy(undefined), nft);
  assert.equal(await listTable(), loadedDefault, 'back to exactly the default ruleset');
});

test('nft reports a missing binary clearly', async () => {
  await assert.rejects(nftCheck('', { nft: '/nonexistent/nft' }), (err: unknown) => {
    assert.ok(err instanceof KeyhavenError);
    assert.equal(err.code, ErrorCodes.FIREWALL_NFT_FAILED);
    assert.match(err.message, /not found: install the nftables package/);
    return true;
  });
});
