// The import rules of .dependency-cruiser.cjs (`npm run boundaries`, part of `npm test`): they hold
// on the real tree, and in a small probe tree (cruised once) each one fails on a deliberately wrong
// import while the allowed ones (the server's two entries) pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const DEPCRUISE_FMT = join(ROOT, 'node_modules/dependency-cruiser/bin/depcruise-fmt.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

interface Module {
  readonly source: string;
  readonly dependencies: readonly { readonly resolved: string; readonly couldNotResolve: boolean }[];
}

/**
 * One cruise (JSON report): its violations and modules, and the exit status of the `err` report
 * that `npm test` makes, formatted from the same JSON (no second cruise).
 */
function cruise(cwd: string, dirs: string[]): { status: number | null; violations: Violation[]; modules: Module[]; stderr: string } {
  const env = { ...process.env, NODE_OPTIONS: '' }; // no tsx: a fixture has no node_modules
  const json = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...dirs], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env });
  assert.equal(json.status, 0, json.stderr);
  const result = JSON.parse(json.stdout) as { summary: { violations: Violation[] }; modules: Module[] };
  const err = spawnSync(process.execPath, [DEPCRUISE_FMT, '--output-type', 'err', '--exit-code', '-'], { cwd, input: json.stdout, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env });
  return { status: err.status, violations: result.summary.violations, modules: result.modules, stderr: `${err.stdout}${err.stderr}` };
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

/** Files that keep the rules, with the imports each must have resolved (and been allowed). */
const GOOD: Record<string, { text: string; imports: string[] }> = {
  'lib/errors.ts': { text: 'export class KeyhavenError extends Error {}\n', imports: [] },
  'server/internal.ts': { text: "import { KeyhavenError } from '../lib/errors.js';\nexport const internal = new KeyhavenError();\n", imports: ['lib/errors.ts'] },
  'server/index.ts': { text: "export { internal } from './internal.js';\n", imports: ['server/internal.ts'] },
  'server/run.ts': { text: "import { internal } from './internal.js';\nexport const run = () => internal;\n", imports: ['server/internal.ts'] },
  'server/kmip/codec.ts': {
    text: "import { Buffer } from 'node:buffer';\nimport { KeyhavenError } from '../../lib/errors.js';\nexport const codec = (b: Buffer) => new KeyhavenError(String(b.length));\n",
    imports: ['buffer', 'lib/errors.ts'],
  },
  // The table generator is a build tool: kmip-is-pure exempts it.
  'server/kmip/generate-tables.ts': { text: "import { writeFileSync } from 'node:fs';\nexport const write = writeFileSync;\n", imports: ['fs'] },
  'firewall/rules.ts': { text: "export const rules = 'rules';\n", imports: [] },
  // The image side and its tests use the server through its two entries.
  'appliance/main.ts': {
    text: "import { internal } from '../server/index.js';\nimport { run } from '../server/run.js';\nimport { rules } from '../firewall/rules.js';\nexport const main = [internal, run, rules];\n",
    imports: ['server/index.ts', 'server/run.ts', 'firewall/rules.ts'],
  },
  'test/appliance/main.test.ts': {
    text: "import { internal } from '../../server/index.js';\nimport { run } from '../../server/run.js';\nexport const t = [internal, run];\n",
    imports: ['server/index.ts', 'server/run.ts'],
  },
};

/** Each rule of .dependency-cruiser.cjs broken once (image-uses-server-index-only from each image directory, and from its tests). */
const WRONG: { file: string; text: string; rule: string; to: string }[] = [
  ...['appliance', 'firewall', 'ova', 'packer'].flatMap((d) => [
    { file: `${d}/reach-in.ts`, text: "export { internal } from '../server/internal.js';\n", rule: 'image-uses-server-index-only', to: 'server/internal.ts' },
    { file: `test/${d}/reach-in.test.ts`, text: "export { internal } from '../../server/internal.js';\n", rule: 'image-uses-server-index-only', to: 'server/internal.ts' },
  ]),
  { file: 'server/knows-image.ts', text: "export { rules } from '../firewall/rules.js';\n", rule: 'server-knows-no-image', to: 'firewall/rules.ts' },
  { file: 'server/kmip/impure.ts', text: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", rule: 'kmip-is-pure', to: 'fs' },
  { file: 'server/kmip/reaches-out.ts', text: "export { internal } from '../internal.js';\n", rule: 'kmip-is-pure', to: 'server/internal.ts' },
  { file: 'lib/knows-server.ts', text: "export { internal } from '../server/index.js';\n", rule: 'lib-is-the-core', to: 'server/index.ts' },
  { file: 'firewall/cycle-a.ts', text: "import { b } from './cycle-b.js';\nexport const a = () => b;\n", rule: 'no-cycles', to: 'firewall/cycle-b.ts' },
  { file: 'appliance/broken.ts', text: "export { gone } from './no-such-module.js';\n", rule: 'resolvable', to: './no-such-module.js' },
];
// The other half of the cycle (one cycle is reported once, from its first module).
const CYCLE_B = { 'firewall/cycle-b.ts': "import { a } from './cycle-a.js';\nexport const b = () => a;\n" };

test('the real tree keeps every import rule', () => {
  const r = cruise(ROOT, ['lib', 'server', 'firewall', 'ova', 'packer', 'appliance', 'test']);
  assert.deepEqual(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`), []);
  assert.equal(r.status, 0, r.stderr);
});

test('a probe tree, cruised once: each wrong import fails with its rule, the allowed ones pass', async (t) => {
  const dir = fixture({ ...Object.fromEntries(Object.entries(GOOD).map(([f, g]) => [f, g.text])), ...CYCLE_B, ...Object.fromEntries(WRONG.map((w) => [w.file, w.text])) });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cruise(dir, ['lib', 'server', 'firewall', 'ova', 'packer', 'appliance', 'test']);
  const found = new Set(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
  await t.test('each wrong import is reported with its rule, and fails the run', () => {
    assert.notEqual(r.status, 0, 'depcruise must fail');
    for (const w of WRONG) {
      assert.ok(found.has(`${w.rule}: ${w.file} → ${w.to}`), `${w.rule} for ${w.file}; found:\n${[...found].join('\n')}`);
      assert.ok(r.stderr.includes(`error ${w.rule}: ${w.file} → ${w.to}\n`), `the err report names ${w.file}:\n${r.stderr}`);
    }
  });
  await t.test('the allowed imports (server/index.ts, server/run.ts, the generator) resolve and are accepted', () => {
    // Nothing but the wrong imports is reported: the good files stay good.
    assert.ok(r.violations.every((v) => WRONG.some((w) => w.file === v.from)), [...found].join('\n'));
    for (const [file, good] of Object.entries(GOOD)) {
      const m = r.modules.find((x) => x.source === file);
      assert.ok(m, `${file} was cruised`);
      assert.deepEqual(m.dependencies.filter((d) => !d.couldNotResolve).map((d) => d.resolved).sort(), [...good.imports].sort(), file);
    }
  });
});
