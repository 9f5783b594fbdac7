// The import rules of .dependency-cruiser.cjs (`npm run boundaries`, part of `npm test`): they hold
// on the real tree, and each one fails on a deliberately wrong import in a small fixture tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** The violations (JSON report), and the exit status of the run `npm test` makes (the `err` report). */
function cruise(cwd: string, dirs: string[]): { status: number | null; violations: Violation[]; stderr: string } {
  const run = (type: string) => spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', type, ...dirs], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } }); // no tsx: a fixture has no node_modules
  const json = run('json');
  assert.equal(json.status, 0, json.stderr);
  const violations = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  const err = run('err');
  return { status: err.status, violations, stderr: `${err.stdout}${err.stderr}` };
}

/** A tree with tsconfig.json and the given files (path → content). */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kh-boundaries-'));
  copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const GOOD: Record<string, string> = {
  'lib/errors.ts': 'export class KeyhavenError extends Error {}\n',
  'server/internal.ts': "import { KeyhavenError } from '../lib/errors.js';\nexport const internal = new KeyhavenError();\n",
  'server/index.ts': "export { internal } from './internal.js';\n",
  'server/kmip/codec.ts': "import { Buffer } from 'node:buffer';\nimport { KeyhavenError } from '../../lib/errors.js';\nexport const codec = (b: Buffer) => new KeyhavenError(String(b.length));\n",
  'firewall/rules.ts': "export const rules = 'rules';\n",
  'appliance/main.ts': "import { internal } from '../server/index.js';\nimport { rules } from '../firewall/rules.js';\nexport const main = [internal, rules];\n",
};
const DIRS = ['lib', 'server', 'firewall', 'appliance'];

test('the real tree keeps every import rule', () => {
  const r = cruise(ROOT, ['lib', 'server', 'firewall', 'ova', 'packer', 'appliance', 'test']);
  assert.deepEqual(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`), []);
  assert.equal(r.status, 0, r.stderr);
});

test('a fixture tree that keeps the rules passes', () => {
  const dir = fixture(GOOD);
  try {
    const r = cruise(dir, DIRS);
    assert.deepEqual(r.violations, []);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each deliberately wrong import fails with its rule', () => {
  const wrong: { file: string; text: string; rule: string; to: string }[] = [
    { file: 'appliance/reach-in.ts', text: "export { internal } from '../server/internal.js';\n", rule: 'image-uses-server-index-only', to: 'server/internal.ts' },
    { file: 'server/knows-image.ts', text: "export { rules } from '../firewall/rules.js';\n", rule: 'server-knows-no-image', to: 'firewall/rules.ts' },
    { file: 'server/kmip/impure.ts', text: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", rule: 'kmip-is-pure', to: 'fs' },
    { file: 'server/kmip/reaches-out.ts', text: "export { internal } from '../internal.js';\n", rule: 'kmip-is-pure', to: 'server/internal.ts' },
    { file: 'lib/knows-server.ts', text: "export { internal } from '../server/index.js';\n", rule: 'lib-is-the-core', to: 'server/index.ts' },
    { file: 'firewall/cycle-a.ts', text: "import { b } from './cycle-b.js';\nexport const a = () => b;\n", rule: 'no-cycles', to: 'firewall/cycle-b.ts' },
  ];
  // The other half of the cycle (one cycle is reported once, from its first module).
  const cycleB = { 'firewall/cycle-b.ts': "import { a } from './cycle-a.js';\nexport const b = () => a;\n" };
  const dir = fixture({ ...GOOD, ...cycleB, ...Object.fromEntries(wrong.map((w) => [w.file, w.text])) });
  try {
    const r = cruise(dir, DIRS);
    assert.notEqual(r.status, 0, 'depcruise must fail');
    const found = new Set(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
    for (const w of wrong) assert.ok(found.has(`${w.rule}: ${w.file} → ${w.to}`), `${w.rule} for ${w.file}; found:\n${[...found].join('\n')}`);
    // Nothing but the wrong imports is reported: the good files stay good.
    assert.ok(r.violations.every((v) => wrong.some((w) => w.file === v.from)), [...found].join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
