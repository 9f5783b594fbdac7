// Golden file: the rendered template is committed, so every change to it shows up in review.
// After an intended change, regenerate it with UPDATE_GOLDEN=1 and review the diff (test/support/golden.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultProvisioningSteps } from '../../packer/default-steps.js';
import { keyhavenTemplate, qemuImagePath, QEMU_BUILD, VSPHERE_ISO_BUILD } from '../../packer/keyhaven-template.js';
import { renderTemplate } from '../../packer/render.js';
import { VERSION as PACKAGE_VERSION } from '../../lib/version.js';
import { main, renderKeyhavenTemplate } from '../../packer/render-template.js';
import { run } from './helpers/packer.js';
import { assertGolden } from '../support/golden.js';

/** A fixed version, so a version bump in package.json does not change the golden file. */
const VERSION = '1.2.3';
const golden = (name: string, actual: string) => assertGolden(new URL(`./golden/${name}`, import.meta.url), actual);

const render = (): string => renderKeyhavenTemplate({ version: VERSION, steps: defaultProvisioningSteps(VERSION) });

test('the template for 1.2.3 with the default steps renders to golden/keyhaven.pkr.json', async () => {
  await golden('keyhaven.pkr.json', render());
});

test('rendering is deterministic and valid JSON', () => {
  const a = render();
  assert.equal(a, render());
  assert.ok(a.endsWith('}\n'));
  const doc = JSON.parse(a) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['packer', 'variable', 'source', 'build']);
});

test('the build lists both sources and the steps in order, the build-access removal last', () => {
  const doc = JSON.parse(render()) as {
    build: { sources: string[]; provisioner: Record<string, { script?: string; source?: string }>[] };
    source: Record<string, Record<string, { vm_name: string }>>;
  };
  assert.deepEqual(doc.build.sources, [QEMU_BUILD, VSPHERE_ISO_BUILD]);
  const steps = defaultProvisioningSteps(VERSION);
  assert.equal(doc.build.provisioner.length, steps.length);
  doc.build.provisioner.forEach((p, i) => {
    const step = steps[i]!;
    assert.deepEqual(Object.keys(p), [step.kind]);
    assert.equal(step.kind === 'file' ? p.file!.source : p.shell!.script, step.kind === 'file' ? step.source : step.script);
  });
  assert.equal(doc.build.provisioner.at(-1)!.shell!.script, 'appliance/provision/90-remove-build-access.sh');
  assert.equal(`dist/packer/qemu/${doc.source.qemu!.keyhaven!.vm_name}`, qemuImagePath(VERSION));
});

test('raw output and base-disk key delivery change only what they should', () => {
  const steps = defaultProvisioningSteps(VERSION);
  const qemu = (opts: Parameters<typeof keyhavenTemplate>[0]) =>
    (JSON.parse(renderTemplate(keyhavenTemplate(opts))) as { source: { qemu: { keyhaven: Record<string, unknown> } } }).source.qemu.keyhaven;
  const base = qemu({ version: VERSION, steps });
  const raw = qemu({ version: VERSION, steps, outputFormat: 'raw' });
  assert.equal(raw.format, 'raw');
  assert.equal(raw.vm_name, 'keyhaven-1.2.3.raw');
  assert.equal(qemuImagePath(VERSION, 'raw'), 'dist/packer/qemu/keyhaven-1.2.3.raw');
  assert.deepEqual({ ...raw, format: base.format, vm_name: base.vm_name }, base);

  const baseDisk = qemu({ version: VERSION, steps, buildKeyDelivery: 'base-disk' });
  assert.deepEqual(baseDisk.qemuargs, [['-netdev', 'user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22']]);
  assert.equal((base.qemuargs as string[][]).length, 2);
});

test('renderKeyhavenTemplate() defaults to the package.json version and the default steps', () => {
  const version = PACKAGE_VERSION;
  assert.equal(renderKeyhavenTemplate(), renderKeyhavenTemplate({ version, steps: defaultProvisioningSteps(version) }));
  assert.match(renderKeyhavenTemplate(), new RegExp(`"vm_name": "keyhaven-${version.replace(/\./g, '\\.')}"`));
});

test('the command writes the template (--out), and refuses unknown arguments', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kh-packer-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'sub', 'keyhaven.pkr.json');
  const r = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../packer/render-template.ts', import.meta.url)), '--out', out]);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.stdout.trim(), out);
  assert.equal(await readFile(out, 'utf8'), renderKeyhavenTemplate());

  // the default path, relative to the working directory
  assert.equal(await main([], dir), 0);
  assert.equal(await readFile(join(dir, 'dist/packer/keyhaven.pkr.json'), 'utf8'), renderKeyhavenTemplate());

  const bad = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../packer/render-template.ts', import.meta.url)), '--outt', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown argument "--outt".*KH_CLI_USAGE/);
});
