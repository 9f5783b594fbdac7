// raw → streamOptimized VMDK with the real qemu-img: qemu-img info says streamOptimized with the raw
// image's virtual size, and converting back to raw gives the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes } from '../../ova/errors.js';
import { convertRawToStreamOptimizedVmdk, qemuImgInfo, qemuImgVersion, vmdkAdapterTypeFor } from '../../ova/vmdk.js';
import { missingTool, run, withTempDir } from './helpers/tools.js';

const noQemuImg = await missingTool('qemu-img', 'qemu-utils');
if (noQemuImg) console.log(`skipping VMDK tests: ${noQemuImg}`);
const MiB = 1024 * 1024;

/** A 64 MiB sparse raw disk with data at a few offsets (boot sector, middle, last sector). */
async function makeRawDisk(path: string): Promise<Map<number, Buffer>> {
  const data = new Map<number, Buffer>([
    [0, Buffer.concat([Buffer.from('KEYHAVEN BOOT SECTOR'), Buffer.alloc(490), Buffer.from([0x55, 0xaa])])],
    [17 * MiB + 123, Buffer.from('some data in the middle of the disk '.repeat(100))],
    [64 * MiB - 512, Buffer.alloc(512, 0x5a)],
  ]);
  const file = await open(path, 'w');
  try {
    await file.truncate(64 * MiB);
    for (const [offset, bytes] of data) await file.write(bytes, 0, bytes.length, offset);
  } finally {
    await file.close();
  }
  return data;
}

test('both SCSI controllers use VMDK adapter type lsilogic (VMware has no pvscsi adapter type)', () => {
  assert.equal(vmdkAdapterTypeFor('lsilogic'), 'lsilogic');
  assert.equal(vmdkAdapterTypeFor('pvscsi'), 'lsilogic');
});

test('converts a raw disk to a streamOptimized VMDK that converts back to the same bytes', { skip: noQemuImg }, async () => {
  console.log(`qemu-img ${await qemuImgVersion()}`);
  await withTempDir(async (dir) => {
    const raw = join(dir, 'disk.raw');
    const data = await makeRawDisk(raw);
    const vmdkPath = join(dir, 'disk.vmdk');
    const started = Date.now();
    const vmdk = await convertRawToStreamOptimizedVmdk({ rawDisk: raw, vmdkPath, adapterType: 'lsilogic' });
    console.log(`converted 64 MiB in ${Date.now() - started} ms to a ${vmdk.fileSize}-byte VMDK`);
    assert.equal(vmdk.path, vmdkPath);
    assert.equal(vmdk.virtualSize, 64 * MiB);
    assert.equal(vmdk.fileSize, (await stat(vmdkPath)).size);
    assert.ok(vmdk.fileSize < 2 * MiB, 'sparse and compressed');

    // What qemu-img info reports, independently of the module's own check.
    const info = await run('qemu-img', ['info', '--output=json', vmdkPath]);
    assert.equal(info.code, 0, info.stderr);
    const json = JSON.parse(info.stdout) as { format: string; 'virtual-size': number; 'format-specific': { type: string; data: { 'create-type': string; extents: { compressed: boolean }[] } } };
    console.log(info.stdout);
    assert.equal(json.format, 'vmdk');
    assert.equal(json['virtual-size'], 64 * MiB);
    assert.equal(json['format-specific'].type, 'vmdk');
    assert.equal(json['format-specific'].data['create-type'], 'streamOptimized');
    assert.ok(json['format-specific'].data.extents.every((e) => e.compressed));

    // The embedded descriptor carries the adapter type and VMDK version 6 (compat6).
    const head = (await readFile(vmdkPath)).subarray(0, 64 * 1024).toString('latin1');
    assert.match(head, /createType="streamOptimized"/);
    assert.match(head, /ddb\.adapterType = "lsilogic"/);
    assert.match(head, /ddb\.virtualHWVersion = "6"/);

    const back = join(dir, 'back.raw');
    const r = await run('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', vmdkPath, back]);
    assert.equal(r.code, 0, r.stderr);
    const original = await readFile(raw);
    const roundTrip = await readFile(back);
    assert.equal(roundTrip.length, original.length);
    assert.ok(roundTrip.equals(original), 'raw → vmdk → raw reproduces the disk');
    for (const [offset, bytes] of data) assert.ok(roundTrip.subarray(offset, offset + bytes.length).equals(bytes));
  });
});

test('qemuImgInfo reports the module-level view', { skip: noQemuImg }, async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, 'd.raw');
    await makeRawDisk(raw);
    const probed = await qemuImgInfo(raw);
    assert.equal(probed.format, 'raw');
    assert.equal(probed.createType, undefined);
    const vmdk = await convertRawToStreamOptimizedVmdk({ rawDisk: raw, vmdkPath: join(dir, 'd.vmdk') });
    assert.equal(vmdk.info.createType, 'streamOptimized');
    assert.equal(vmdk.info.compressed, true);
  });
});

test('refuses an input that is not a raw image, an empty one, or a missing one; leaves no partial output', { skip: noQemuImg }, async () => {
  await withTempDir(async (dir) => {
    const qcow2 = join(dir, 'disk.qcow2');
    const made = await run('qemu-img', ['create', '-f', 'qcow2', qcow2, '16M']);
    assert.equal(made.code, 0, made.stderr);
    const out = join(dir, 'out.vmdk');
    await assert.rejects(convertRawToStreamOptimizedVmdk({ rawDisk: qcow2, vmdkPath: out }), (e: { code?: string; message: string }) => e.code === ErrorCodes.OVA_INVALID && /is a qcow2 image, not a raw one/.test(e.message));
    const empty = join(dir, 'empty.raw');
    await writeFile(empty, '');
    await assert.rejects(convertRawToStreamOptimizedVmdk({ rawDisk: empty, vmdkPath: out }), /is empty/);
    await assert.rejects(convertRawToStreamOptimizedVmdk({ rawDisk: join(dir, 'nope.raw'), vmdkPath: out }), /cannot be read/);
    await assert.rejects(stat(out), { code: 'ENOENT' });
    await assert.rejects(stat(`${out}.partial`), { code: 'ENOENT' });
  });
});

test('a missing qemu-img is reported with the package to install', async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, 'd.raw');
    await writeFile(raw, Buffer.alloc(MiB));
    await assert.rejects(
      convertRawToStreamOptimizedVmdk({ rawDisk: raw, vmdkPath: join(dir, 'd.vmdk'), qemuImg: '/nonexistent/qemu-img' }),
      (e: { code?: string; message: string }) => e.code === ErrorCodes.OVA_TOOL_FAILED && /install the Debian package qemu-utils/.test(e.message),
    );
  });
});
