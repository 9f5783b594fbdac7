// The real consumer: Debian's packer (1.6.6 on bookworm). `packer validate` parses the HCL2 JSON,
// evaluates variables and expressions, and runs each builder's and provisioner's Prepare, which
// checks field names and types, stats the provisioning scripts and reads the SSH key. It does not
// contact vCenter or start QEMU; the tests run it without network where `unshare -n` is available.
// A `packer build` against a stand-in QEMU then shows the command line Packer really starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultProvisioningSteps } from '../../packer/default-steps.js';
import { QEMU_BUILD, VSPHERE_ISO_BUILD } from '../../packer/keyhaven-template.js';
import { renderKeyhavenTemplate } from '../../packer/render-template.js';
import { canUnshareNet, packerSkip, run, SHA256_ZERO, varArgs, VCENTER_VARS, workdir, type Run, type Workdir } from './helpers/packer.js';

const skip = await packerSkip();
if (skip) console.log(`skipping packer tests: ${skip}`);
const offline = !skip && (await canUnshareNet());

const VERSION = '1.2.3';
const steps = defaultProvisioningSteps(VERSION);
const text = renderKeyhavenTemplate({ version: VERSION, steps });
let wd: Workdir;

before(async () => {
  if (!skip) wd = await workdir(text, steps);
});
after(async () => {
  if (!skip) await wd.cleanup();
});

/** packer <command> <args> in the work directory, without network when possible. */
function packer(command: string, args: readonly string[], opts: { offline?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  const argv = [command, ...args];
  const useUnshare = (opts.offline ?? true) && offline;
  return run(useUnshare ? 'unshare' : 'packer', useUnshare ? ['-n', 'packer', ...argv] : argv, { cwd: wd.dir, ...opts });
}

async function validate(args: readonly string[], file = wd.template): Promise<Run> {
  return packer('validate', [...args, file]);
}

test('packer version in use', { skip }, async (t) => {
  const r = await run('packer', ['version']);
  t.diagnostic(r.stdout.trim());
  t.diagnostic(offline ? 'packer validate runs without network (unshare -n)' : 'unshare -n is not available: packer validate runs with the host network');
  const m = /Packer v(\d+)\.(\d+)\.(\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const [maj, min, pat] = m.slice(1).map(Number) as [number, number, number];
  assert.ok(maj > 1 || min > 6 || (min === 6 && pat >= 6), `the template needs packer >= 1.6.6, found ${r.stdout.trim()}`);
});

test('packer validate accepts the whole template with the vCenter variables set, without a warning', { skip }, async (t) => {
  const r = await validate([...varArgs(VCENTER_VARS), '-var', `base_disk_checksum=${SHA256_ZERO}`]);
  t.diagnostic(`exit ${r.code}: ${r.output.trim() || '(no output)'}`);
  assert.equal(r.code, 0, r.output);
  assert.doesNotMatch(r.output, /Warning|Error/);
});

test('a qemu build needs none of the vCenter variables; "none" as base disk checksum only warns', { skip }, async () => {
  const r = await validate([`-only=${QEMU_BUILD}`]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /A checksum of 'none' was specified/);
});

test('a vsphere-iso build without the vCenter variables is refused by the builder', { skip }, async () => {
  const r = await validate([`-only=${VSPHERE_ISO_BUILD}`]);
  assert.notEqual(r.code, 0);
  for (const what of [/'vcenter_server' is required/, /'username' is required/, /'password' is required/, /'host' or 'cluster' is required/, /A checksum must be specified/]) {
    assert.match(r.output, what);
  }
  // and with them, that build alone is accepted (so -only= really selected it)
  const ok = await validate([`-only=${VSPHERE_ISO_BUILD}`, ...varArgs(VCENTER_VARS)]);
  assert.equal(ok.code, 0, ok.output);
});

test('the variables keep their types and validation in Packer', { skip }, async () => {
  const hvf = await validate(['-only=' + QEMU_BUILD, '-var', 'accelerator=hvf']);
  assert.notEqual(hvf.code, 0);
  assert.match(hvf.output, /The accelerator must be "tcg" or "kvm"\./);
  const kvm = await validate(['-only=' + QEMU_BUILD, '-var', 'accelerator=kvm']);
  assert.equal(kvm.code, 0, kvm.output);
  const insecure = await validate([...varArgs(VCENTER_VARS), '-var', 'vcenter_insecure_connection=maybe']);
  assert.notEqual(insecure.code, 0);
});

test('packer validate refuses broken renderings (the check can fail)', { skip }, async () => {
  const broken: [string, (s: string) => string, RegExp][] = [
    ['an unknown field', (s) => s.replace('"disk_controller_type"', '"disk_controller"'), /No argument or block type is named "disk_controller"/],
    ['a wrong type', (s) => s.replace('"RAM": 2048', '"RAM": "lots"'), /Inappropriate value for attribute "RAM": a number is required/],
    ['an undeclared variable', (s) => s.replace('"${var.base_disk}"', '"${var.base_dsk}"'), /This object does not have an attribute named "base_dsk"/],
    ['a missing script', (s) => s.replace('30-firewall.sh', '31-firewall.sh'), /Bad script 'appliance\/provision\/31-firewall\.sh'/],
    ['a missing build key', (s) => s.replace('"default": "dist/build-key/id_ed25519"', '"default": "dist/build-key/nope"'), /ssh_private_key_file is invalid|no such file/],
  ];
  for (const [what, edit, message] of broken) {
    const changed = edit(text);
    assert.notEqual(changed, text, `the edit for ${what} changed nothing`);
    const file = join(wd.dir, 'broken.pkr.json');
    await writeFile(file, changed);
    const r = await validate([...varArgs(VCENTER_VARS)], file);
    assert.notEqual(r.code, 0, `packer validate accepted ${what}`);
    assert.match(r.output, message, `${what}: ${r.output}`);
  }
});

test('packer inspect sees the provisioners in step order and the manifest post-processor', { skip }, async () => {
  const r = await packer('inspect', [wd.template]);
  assert.equal(r.code, 0, r.output);
  const section = r.output.split('provisioners:')[1]!.split('post-processors:');
  assert.deepEqual(section[0]!.trim().split(/\s+/), steps.map((s) => s.kind));
  assert.match(section[1]!, /manifest/);
  assert.match(r.output, /qemu\.keyhaven/);
  assert.match(r.output, /vsphere-iso\.keyhaven/);
});

test('packer build starts QEMU with sshd forwarded on 127.0.0.1 only and the build key as a systemd credential', { skip, timeout: 120_000 }, async (t) => {
  // A stand-in for qemu-system-x86_64 records its arguments; Packer then fails to reach its VNC
  // console and cleans up. The base disk is an empty file: with a .qcow2 name Packer only copies it.
  const fake = join(wd.dir, 'fake-qemu');
  const argsFile = join(wd.dir, 'qemu-args.txt');
  await writeFile(fake, '#!/bin/sh\n[ "$1" = "-version" ] && { echo "QEMU emulator version 7.2.0"; exit 0; }\nprintf \'%s\\n\' "$@" > "$FAKE_QEMU_ARGS"\nexec sleep 30\n', { mode: 0o755 });
  await mkdir(join(wd.dir, 'dist/cache'), { recursive: true });
  await writeFile(join(wd.dir, 'dist/cache/keyhaven-base.qcow2'), '');
  const r = await packer('build', [`-only=${QEMU_BUILD}`, '-var', `qemu_binary=${fake}`, wd.template], {
    offline: false,
    env: { FAKE_QEMU_ARGS: argsFile },
    timeoutMs: 100_000,
  });
  t.diagnostic(r.output.split('\n').filter((l) => /==>|-->/.test(l)).slice(-3).join(' | '));
  assert.notEqual(r.code, 0, 'the stand-in QEMU cannot run a build to the end');
  const args = (await readFile(argsFile, 'utf8')).trimEnd().split('\n');
  const values = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

  assert.equal(values('-netdev').length, 1);
  assert.match(values('-netdev')[0]!, /^user,id=user\.0,hostfwd=tcp:127\.0\.0\.1:\d+-:22$/);
  const smbios = values('-smbios');
  assert.equal(smbios.length, 1);
  const prefix = 'type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root=';
  assert.ok(smbios[0]!.startsWith(prefix), smbios[0]);
  assert.equal(Buffer.from(smbios[0]!.slice(prefix.length), 'base64').toString(), `${wd.buildKey.publicKey}\n`);
  assert.deepEqual(values('-machine'), ['type=pc,accel=tcg']);
  assert.deepEqual(values('-m'), ['2048M']);
  assert.deepEqual(values('-smp'), ['cpus=2,sockets=2']);
  assert.deepEqual(values('-boot'), ['c']);
  assert.match(values('-drive')[0]!, /^file=dist\/packer\/qemu\/keyhaven-1\.2\.3\.qcow2,if=virtio,.*format=qcow2/);
  assert.match(values('-vnc')[0]!, /^127\.0\.0\.1:\d+$/);
  assert.equal(existsSync(join(wd.dir, 'dist/packer/qemu')), false, 'Packer removes the output of a failed build');
});
