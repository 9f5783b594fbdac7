// The whole OVA from a raw disk: the archive layout, the descriptor's sizes against the real files,
// the manifest against the real bytes, and qemu-img's view of the disk inside the archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes } from '../../ova/errors.js';
import { assembleOva, type AssembleStage } from '../../ova/assemble.js';
import { parseManifest } from '../../ova/manifest.js';
import { OVF_NAMESPACE } from '../../ova/ovf/model.js';
import { attributeValue, childElements, readXml, type XmlElement } from '../../lib/xml.js';
import { missingTool, run, withTempDir } from './helpers/tools.js';

const noQemuImg = await missingTool('qemu-img', 'qemu-utils');
if (noQemuImg) console.log(`skipping OVA assembly tests: ${noQemuImg}`);
const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rawDisk(path: string, size = 64 * MiB): Promise<void> {
  const f = await open(path, 'w');
  try {
    await f.truncate(size);
    await f.write(Buffer.from('KEYHAVEN'), 0, 8, 0);
    await f.write(Buffer.alloc(4096, 1), 0, 4096, Math.min(40 * MiB, size - 4096));
  } finally {
    await f.close();
  }
}

test('assembleOva writes dist/keyhaven-<version>.ova whose contents check out', { skip: noQemuImg }, async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, 'disk.raw');
    await rawDisk(raw);
    const outDir = join(dir, 'dist');
    const stages: AssembleStage[] = [];
    const started = Date.now();
    const result = await assembleOva({ rawDisk: raw, version: '0.9.1', outDir, mtime: new Date(0), onStage: (s) => stages.push(s) });
    console.log(`assembled in ${Date.now() - started} ms: ${result.ova.size} bytes, sha256 ${result.ova.sha256}`);
    assert.deepEqual(stages, ['vmdk', 'descriptor', 'manifest', 'archive']);
    assert.equal(result.ova.path, join(outDir, 'keyhaven-0.9.1.ova'));
    assert.deepEqual(await readdir(outDir), ['keyhaven-0.9.1.ova'], 'the temporary parts are removed');
    assert.equal(result.ova.size, (await stat(result.ova.path)).size);
    assert.equal(result.ova.sha256, sha256(await readFile(result.ova.path)));

    // Extract with GNU tar and check every part against the descriptor and the manifest.
    const x = join(dir, 'x');
    await mkdir(x);
    const list = await run('tar', ['-tf', result.ova.path]);
    assert.deepEqual(list.stdout.trim().split('\n'), ['keyhaven-0.9.1.ovf', 'keyhaven-0.9.1.mf', 'keyhaven-0.9.1-disk1.vmdk']);
    assert.equal((await run('tar', ['-xf', result.ova.path, '-C', x])).code, 0);
    const ovfText = await readFile(join(x, 'keyhaven-0.9.1.ovf'), 'utf8');
    const vmdk = await readFile(join(x, 'keyhaven-0.9.1-disk1.vmdk'));
    const root = readXml(ovfText);
    const child = (e: XmlElement, name: string) => childElements(e, OVF_NAMESPACE, name)[0] as XmlElement;
    const file = child(child(root, 'References'), 'File');
    assert.equal(attributeValue(file, OVF_NAMESPACE, 'href'), 'keyhaven-0.9.1-disk1.vmdk');
    assert.equal(Number(attributeValue(file, OVF_NAMESPACE, 'size')), vmdk.length, 'References ovf:size is the VMDK file size');
    const disk = child(child(root, 'DiskSection'), 'Disk');
    assert.equal(Number(attributeValue(disk, OVF_NAMESPACE, 'capacity')), 64 * MiB, 'DiskSection capacity is the virtual size');

    const manifest = parseManifest(await readFile(join(x, 'keyhaven-0.9.1.mf'), 'utf8'));
    assert.deepEqual(manifest, [
      { name: 'keyhaven-0.9.1.ovf', sha256: sha256(Buffer.from(ovfText)) },
      { name: 'keyhaven-0.9.1-disk1.vmdk', sha256: sha256(vmdk) },
    ]);
    assert.deepEqual(result.manifest.entries, manifest);
    assert.equal(result.vmdk.size, vmdk.length);
    assert.equal(result.vmdk.virtualSize, 64 * MiB);

    const info = await run('qemu-img', ['info', '--output=json', join(x, 'keyhaven-0.9.1-disk1.vmdk')]);
    const json = JSON.parse(info.stdout) as { 'virtual-size': number; 'format-specific': { data: { 'create-type': string } } };
    assert.equal(json['format-specific'].data['create-type'], 'streamOptimized');
    assert.equal(json['virtual-size'], 64 * MiB);
  });
});

test('workDir keeps the .ovf, .mf and .vmdk next to the OVA', { skip: noQemuImg }, async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, 'disk.raw');
    await rawDisk(raw, 16 * MiB);
    const workDir = join(dir, 'parts');
    const result = await assembleOva({ rawDisk: raw, version: '1.0.0-rc.1', outDir: join(dir, 'dist'), workDir, hardwareVersion: 'vmx-19', scsiController: 'pvscsi' });
    assert.deepEqual((await readdir(workDir)).sort(), ['keyhaven-1.0.0-rc.1-disk1.vmdk', 'keyhaven-1.0.0-rc.1.mf', 'keyhaven-1.0.0-rc.1.ovf']);
    const text = await readFile(result.ovf.path, 'utf8');
    assert.match(text, /<vssd:VirtualSystemType>vmx-19</);
    assert.match(text, /<rasd:ResourceSubType>VirtualSCSI</);
    assert.equal(result.manifest.sha256, sha256(await readFile(result.manifest.path)));
  });
});

test('refuses impossible inputs before converting anything', async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, 'disk.raw');
    await rawDisk(raw, 64 * MiB + 512);
    const outDir = join(dir, 'dist');
    await assert.rejects(
      assembleOva({ rawDisk: raw, version: '1.0.0', outDir }),
      (e: { code?: string; message: string }) => e.code === ErrorCodes.OVA_INVALID && /not a whole number of MiB/.test(e.message),
    );
    await rawDisk(raw, 64 * MiB);
    await assert.rejects(assembleOva({ rawDisk: raw, version: '1.0.0', outDir, cpus: 0, hardwareVersion: 'vmx-9' }), /vmx-9 is older than ESXi 6\.7[\s\S]*cpus 0 is not possible/);
    await assert.rejects(assembleOva({ rawDisk: join(dir, 'missing.raw'), version: '1.0.0', outDir }), /cannot be read/);
    await assert.rejects(stat(outDir), { code: 'ENOENT' }, 'nothing was written');
  });
});
