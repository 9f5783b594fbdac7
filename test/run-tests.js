#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with node:test, TypeScript loaded through tsx.
// Arguments filter the files by substring: `node test/run-tests.js kmip store`. Ends with the skipped
// tests and their reasons, the todo tests (each with whether it failed or passed), then one line
// "tests: N passed, N failed, N skipped, N todo".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'test'));

const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}
// The spec report for people; a TAP copy to list every skipped test with its reason at the end, so
// that a skip (a missing tool, not being root) is never lost in the scroll.
const tapFile = join(mkdtempSync(join(tmpdir(), 'keyhaven-tests-')), 'report.tap');
const r = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, '--test-concurrency=2', ...selected],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim() },
  },
);
let tap = '';
try {
  tap = readFileSync(tapFile, 'utf8');
} catch {
  // the runner did not start: its own error is above
}
rmSync(dirname(tapFile), { recursive: true, force: true });
const skipped = [...tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map((m) => `  - ${m[1]}: ${m[2] || '(no reason given)'}`);
if (skipped.length > 0) console.log(`\nSKIPPED (${skipped.length}):\n${skipped.join('\n')}`);
// A todo test's failure does not fail the run (node:test): listed by name so that none goes unseen.
const untap = (s) => s.replace(/\\([\\#])/g, '$1');
const todo = [...tap.matchAll(/^\s*(not )?ok \d+ - (.*?) # TODO ?(.*)$/gm)].map(
  (m) => `  - ${untap(m[2])}: ${m[1] ? 'FAILED' : 'passed'}${m[3] ? ` (${untap(m[3])})` : ''}`,
);
if (todo.length > 0) console.log(`\nTODO (${todo.length}):\n${todo.join('\n')}`);
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
if (tap) console.log(`\ntests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped')} skipped, ${count('todo')} todo`);
process.exit(r.status ?? 1);
