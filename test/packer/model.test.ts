// Bad input to the Packer model gets a KeyhavenError (PACKER_INVALID) that names the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, KeyhavenError } from '../../packer/errors.js';
import { defaultProvisioningSteps } from '../../packer/default-steps.js';
import { APPLIANCE_VM, keyhavenTemplate } from '../../packer/keyhaven-template.js';
import { goTpl, hcl, tpl, v, type PackerTemplate, type Source } from '../../packer/model.js';
import { toProvisioners, validateSteps, type ProvisioningStep } from '../../packer/provisioners.js';
import { renderTemplate } from '../../packer/render.js';
import { qemuSource, type QemuSourceOptions } from '../../packer/sources/qemu.js';
import { vsphereIsoSource, type VsphereIsoSourceOptions } from '../../packer/sources/vsphere-iso.js';
import { assertDuration } from '../../packer/validate.js';
import { variable } from '../../packer/variables.js';

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyhavenError, `not a KeyhavenError: ${String(err)}`);
    assert.equal(err.code, ErrorCodes.PACKER_INVALID);
    assert.match(err.message, message);
    return true;
  });
}

const steps = (): ProvisioningStep[] => defaultProvisioningSteps('1.2.3');
const last: ProvisioningStep = { kind: 'shell', script: 'appliance/provision/90-remove-build-access.sh', removesBuildAccess: true };

const qemuOptions: QemuSourceOptions = {
  name: 'q',
  baseDisk: v('disk'),
  baseDiskChecksum: 'none',
  accelerator: 'tcg',
  qemuBinary: 'qemu-system-x86_64',
  buildKey: v('key'),
  buildKeyDelivery: 'smbios-credential',
  outputDirectory: 'dist/packer/qemu',
  vmName: 'k.qcow2',
  format: 'qcow2',
  cpus: 2,
  memoryMiB: 2048,
  sshTimeout: '30m',
  shutdownTimeout: '10m',
};

/** A small valid template to break one thing at a time. */
function small(over: Partial<PackerTemplate> = {}, source: Source = qemuSource(qemuOptions)): PackerTemplate {
  return {
    requiredVersion: '>= 1.6.6',
    variables: [
      { name: 'disk', type: 'string', description: 'Disk.', default: 'a.qcow2' },
      { name: 'key', type: 'string', description: 'Key.' },
    ],
    sources: [source],
    build: { sources: ['qemu.q'], provisioners: toProvisioners([last]), postProcessors: [] },
    ...over,
  };
}

test('the small template renders (the baseline for the cases below)', () => {
  const doc = JSON.parse(renderTemplate(small())) as { variable: Record<string, object> };
  assert.deepEqual(doc.variable.key, { type: 'string', description: 'Key.' });
});

test('durations: Go units h/m/s, not empty, not zero', () => {
  for (const ok of ['10m', '90s', '1h30m', '1h', '2h0m5s']) assertDuration('d', ok);
  for (const bad of ['', '10', '10 m', '1d', '0s', '0m', '-5m', '1.5h', 'm', '10M']) rejects(() => assertDuration('d', bad), /^d: .*not a duration/);
  rejects(() => qemuSource({ ...qemuOptions, sshTimeout: '30 minutes' }), /qemu source q\.ssh_timeout: "30 minutes" is not a duration/);
  // the renderer checks every *_timeout / *_wait field again, however the source was built
  const q = qemuSource(qemuOptions);
  rejects(() => renderTemplate(small({}, { ...q, config: { ...q.config, ssh_timeout: 'soon' } } as Source)), /source qemu\.q\.ssh_timeout: "soon" is not a duration/);
  rejects(() => qemuSource({ ...qemuOptions, shutdownTimeout: '0s' }), /qemu source q\.shutdown_timeout: "0s" is not a duration/);
});

test('names are identifiers', () => {
  rejects(() => variable({ name: 'base-disk', type: 'string', description: 'x' }), /variable: "base-disk" is not an identifier/);
  rejects(() => variable({ name: '1disk', type: 'string', description: 'x' }), /not an identifier/);
  rejects(() => qemuSource({ ...qemuOptions, name: 'my source' }), /qemu source my source: "my source" is not an identifier/);
  rejects(() => renderTemplate(small({ variables: [...small().variables, { name: 'x.y', type: 'string', description: 'X.', default: '' }] })), /not an identifier/);
});

test('sizes and counts are in range', () => {
  rejects(() => qemuSource({ ...qemuOptions, memoryMiB: 100 }), /memory: 100 MiB is out of range/);
  rejects(() => qemuSource({ ...qemuOptions, cpus: 1.5 }), /cpus: 1\.5 is out of range/);
  const vs = (hw: Partial<typeof APPLIANCE_VM>) => vsphereIsoSource({ ...vsphereOptions, hardware: { ...APPLIANCE_VM, ...hw } });
  rejects(() => vs({ diskMiB: 512 }), /storage\.disk_size: 512 MiB is out of range/);
  rejects(() => vs({ vmVersion: 99 }), /vm_version: 99 is out of range/);
  rejects(() => vs({ guestOsType: 'Debian 10' }), /guest_os_type: "Debian 10" is not a vSphere guest id/);
  rejects(() => vs({ firmware: 'efi' }), /boot_command: the default boot command is for the BIOS boot menu/);
});

const vsphereOptions: VsphereIsoSourceOptions = {
  name: 'vs',
  vcenter: { server: 'vc', username: 'u', password: 'p', insecureConnection: false, datacenter: '', cluster: 'c', datastore: '', folder: '', network: '' },
  vmName: 'keyhaven-1.2.3',
  notes: 'n',
  hardware: APPLIANCE_VM,
  isoUrl: 'debian.iso',
  isoChecksum: 'none',
  httpDirectory: 'http',
  buildKey: v('key'),
  bootWait: '10s',
  ipWaitTimeout: '1h',
  sshTimeout: '30m',
  shutdownTimeout: '10m',
  exportDirectory: 'dist/packer/vsphere-iso',
};

test('qemu file names and output paths', () => {
  rejects(() => qemuSource({ ...qemuOptions, vmName: 'k.raw' }), /vm_name: "k\.raw" should end with \.qcow2/);
  rejects(() => qemuSource({ ...qemuOptions, vmName: '../k.qcow2' }), /vm_name: .* is not a plain file name/);
  rejects(() => qemuSource({ ...qemuOptions, outputDirectory: '/tmp/out' }), /output_directory: "\/tmp\/out" must be a relative path inside the repository/);
  rejects(() => qemuSource({ ...qemuOptions, outputDirectory: 'dist/../../x' }), /must be a relative path/);
});

test('steps: paths, environment, no empty script, the build-access removal last and once', () => {
  validateSteps(steps());
  rejects(() => validateSteps([]), /steps: the step list is empty/);
  rejects(() => validateSteps([{ kind: 'shell', script: '' }, last]), /steps\[0\]\.script: must not be empty/);
  rejects(() => validateSteps([{ kind: 'shell', script: '   ' }, last]), /steps\[0\]\.script: must not be empty/);
  rejects(() => validateSteps([{ kind: 'shell', script: 'appliance/provision/' }, last]), /is a directory, not a script/);
  rejects(() => validateSteps([{ kind: 'shell', script: '/etc/x.sh' }, last]), /steps\[0\]\.script: "\/etc\/x\.sh" must be a relative path/);
  rejects(() => validateSteps([{ kind: 'file', source: 'a b', destination: '/root' }, last]), /must not contain whitespace/);
  rejects(() => validateSteps([{ kind: 'file', source: 'a', destination: 'root/x' }, last]), /steps\[0\]\.destination: "root\/x" must be an absolute path in the guest/);
  rejects(() => validateSteps([{ kind: 'shell', script: 's.sh', env: { 'bad-name': 'x' } }, last]), /steps\[0\]\.env: "bad-name" is not an environment variable name/);
  rejects(() => validateSteps([{ kind: 'shell', script: 's.sh', env: { A: "it's" } }, last]), /steps\[0\]\.env\.A: .* must not contain quotes/);
  rejects(() => validateSteps([{ kind: 'shell', script: 's.sh', env: { A: 'two\nlines' } }, last]), /steps\[0\]\.env\.A: .* contains a control character/);
  rejects(() => validateSteps([{ kind: 'shell', script: 's.sh' }]), /no step removes the build access: the last step must be/);
  rejects(() => validateSteps([last, { kind: 'shell', script: 's.sh' }]), /must be the last one and the only one \(found at 0 of 2\)/);
  rejects(() => validateSteps([last, last]), /found at 0, 1 of 2/);
  rejects(() => validateSteps([{ kind: 'ansible', playbook: 'x' } as unknown as ProvisioningStep, last]), /steps\[0\]: unknown step kind "ansible"/);
  rejects(() => keyhavenTemplate({ version: '1.2.3', steps: steps().slice(0, -1) }), /no step removes the build access/);
});

test('template options: version, output format, key delivery', () => {
  rejects(() => keyhavenTemplate({ version: 'v1', steps: steps() }), /version: "v1" is not a version like 1\.2\.3/);
  rejects(() => defaultProvisioningSteps('1.2'), /version: "1\.2" is not a version/);
  rejects(() => keyhavenTemplate({ version: '1.2.3', steps: steps(), outputFormat: 'vmdk' as 'raw' }), /outputFormat: "vmdk" is not qcow2 or raw/);
  rejects(() => keyhavenTemplate({ version: '1.2.3', steps: steps(), buildKeyDelivery: 'password' as 'base-disk' }), /buildKeyDelivery: "password"/);
});

test('literals are escaped for HCL; {{ }} only where a Go template is intended', () => {
  const withFile = (source: string) => small({ build: { ...small().build, provisioners: toProvisioners([{ kind: 'file', source, destination: '/root/x' }, last]) } });
  // ${ and %{ in a literal stay literal: HCL's $${ and %%{ escapes.
  assert.match(renderTemplate(withFile('a${b}%{c}')), /"source": "a\$\$\{b\}%%\{c\}"/);
  rejects(() => renderTemplate(withFile('a{{b}}')), /build\.provisioner\[0\] \(file\)\.source: "a\{\{b\}\}" contains \{\{ or \}\}, which Packer would evaluate as a Go template/);
  rejects(() => renderTemplate(small({ variables: [{ name: 'disk', type: 'string', description: 'Disk {{x}}.' }, small().variables[1]!] })), /variable disk\.description.*\{\{/);
  // a template mixes literal parts (escaped) and expressions
  const q = qemuSource({ ...qemuOptions, qemuBinary: tpl`/opt/${v('disk')}/bin` });
  assert.match(renderTemplate(small({}, q)), /"qemu_binary": "\/opt\/\$\{var\.disk\}\/bin"/);
  assert.match(renderTemplate(small({}, qemuSource({ ...qemuOptions, qemuBinary: goTpl`{{ .Name }}` }))), /"qemu_binary": "\{\{ \.Name \}\}"/);
});

test('expressions may only use declared variables, and every variable is used', () => {
  rejects(() => renderTemplate(small({}, qemuSource({ ...qemuOptions, baseDisk: v('disc') }))), /iso_url: refers to var\.disc, which the template does not declare/);
  rejects(
    () => renderTemplate(small({ variables: [...small().variables, { name: 'spare', type: 'string', description: 'Spare.', default: '' }] })),
    /variable: declared but never used: spare/,
  );
  rejects(() => renderTemplate(small({ variables: [small().variables[0]!, small().variables[0]!, small().variables[1]!] })), /variable disk: is declared twice/);
  rejects(() => renderTemplate(small({}, qemuSource({ ...qemuOptions, baseDisk: hcl('') }))), /iso_url: must not be empty/);
});

test('variables: default matches the type, sensitive only for strings, validation is about itself', () => {
  const withVar = (x: PackerTemplate['variables'][number]) =>
    small({ variables: [x, small().variables[1]!] });
  rejects(() => renderTemplate(withVar({ name: 'disk', type: 'number', description: 'D.', default: 'a' })), /variable disk\.default: is a string, but the variable's type is number/);
  rejects(() => renderTemplate(withVar({ name: 'disk', type: 'string', description: 'D.', default: true })), /is a bool, but .* string/);
  rejects(() => renderTemplate(withVar({ name: 'disk', type: 'string', description: '' })), /variable disk\.description: must not be empty/);
  rejects(() => renderTemplate(withVar({ name: 'disk', type: 'bool', description: 'D.', sensitive: true, default: false })), /only string variables are marked sensitive/);
  rejects(
    () => renderTemplate(withVar({ name: 'disk', type: 'string', description: 'D.', validation: { condition: hcl('var.key != ""'), errorMessage: 'Bad.' } })),
    /validation\.condition: must refer to var\.disk and no other variable/,
  );
  rejects(
    () => renderTemplate(withVar({ name: 'disk', type: 'string', description: 'D.', validation: { condition: hcl('var.disk != ""'), errorMessage: 'bad' } })),
    /validation\.error_message: must be a full sentence/,
  );
});

test('build: declared sources only, every source built, at least one provisioner, a version constraint', () => {
  rejects(() => renderTemplate(small({ build: { ...small().build, sources: ['qemu.x'] } })), /build\.sources: "qemu\.x" is not a declared source \(qemu\.q\)/);
  rejects(() => renderTemplate(small({ build: { ...small().build, sources: [] } })), /build\.sources: the build uses no source/);
  rejects(() => renderTemplate(small({ sources: [qemuSource(qemuOptions), qemuSource(qemuOptions)] })), /source qemu\.q: is declared twice/);
  rejects(
    () => renderTemplate(small({ sources: [qemuSource(qemuOptions), qemuSource({ ...qemuOptions, name: 'r' })] })),
    /build\.sources: source qemu\.r is declared but not built/,
  );
  rejects(() => renderTemplate(small({ build: { ...small().build, provisioners: [] } })), /the build has no provisioner/);
  rejects(() => renderTemplate(small({ requiredVersion: 'latest' })), /packer\.required_version: "latest" is not a version constraint/);
});

test('the default steps: scripts under appliance/provision/NN-name.sh, the tarball generated', () => {
  const list = steps();
  for (const s of list) if (s.kind === 'shell') assert.match(s.script, /^appliance\/provision\/\d{2}-[a-z0-9-]+\.sh$/);
  const numbers = list.flatMap((s) => (s.kind === 'shell' ? [Number(s.script.split('/').pop()!.slice(0, 2))] : []));
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'scripts run in the order of their numbers');
  assert.deepEqual(list[0], { kind: 'file', source: 'dist/keyhaven-server-1.2.3.tgz', destination: '/root/keyhaven-server.tgz', generated: true });

  // Every non-generated path the steps reference exists.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const s of list) {
    if (s.kind === 'file' && s.generated) continue;
    const path = s.kind === 'file' ? s.source : s.script;
    assert.ok(existsSync(`${root}${path}`), `${path} is referenced by packer/default-steps.ts but does not exist`);
  }
});
