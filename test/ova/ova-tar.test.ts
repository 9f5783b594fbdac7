// The OVA archive: USTAR headers, entry order .ovf, .mf, disk, names of at most 100 characters,
// modes 0644, a fixed mtime when asked, and GNU tar can list and extract it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes } from '../../ova/errors.js';
import { writeOva } from '../../ova/ova-tar.js';
import { missingTool, run, withTempDir } from './helpers/tools.js';

interface TarHeader {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  magic: string;
  version: string;
  typeflag: string;
}

/** Walks the archive's 512-byte headers. */
function headers(archive: Buffer): TarHeader[] {
  const out: TarHeader[] = [];
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const block = archive.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    const str = (start: number, length: number) => block.subarray(start, start + length).toString('latin1').replace(/\0.*$/s, '');
    const header: TarHeader = {
      name: str(0, 100),
      mode: parseInt(str(100, 8), 8),
      size: parseInt(str(124, 12), 8),
      mtime: parseInt(str(136, 12), 8),
      magic: block.subarray(257, 263).toString('latin1'),
      version: block.subarray(263, 265).toString('latin1'),
      typeflag: String.fromCharCode(block[156] as number),
    };
    // Header checksum (POSIX ustar): sum of all bytes with the checksum field taken as spaces.
    const sum = block.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
    assert.equal(parseInt(str(148, 8), 8), sum, `checksum of ${header.name}`);
    out.push(header);
    offset += 512 + Math.ceil(header.size / 512) * 512;
  }
  return out;
}

async function makeParts(dir: string) {
  const ovf = join(dir, 'keyhaven-1.2.3.ovf');
  const mf = join(dir, 'keyhaven-1.2.3.mf');
  const vmdk = join(dir, 'keyhaven-1.2.3-disk1.vmdk');
  await writeFile(ovf, '<Envelope/>\n');
  await writeFile(mf, 'SHA256(x)= y\n');
  await writeFile(vmdk, Buffer.alloc(3 * 1024 * 1024 + 100, 0xab));
  return { ovf, mf, vmdk };
}

test('entries in order .ovf, .mf, .vmdk with ustar\\0 "00" headers, mode 0644 and a fixed mtime', async () => {
  await withTempDir(async (dir) => {
    const { ovf, mf, vmdk } = await makeParts(dir);
    const out = join(dir, 'keyhaven-1.2.3.ova');
    const members = await writeOva({ outFile: out, entries: [{ path: ovf }, { path: mf }, { path: vmdk }], mtime: new Date('2024-01-02T03:04:05.678Z') });
    const archive = await readFile(out);
    assert.equal(archive.length % 512, 0);
    const h = headers(archive);
    assert.deepEqual(
      h.map((x) => x.name),
      ['keyhaven-1.2.3.ovf', 'keyhaven-1.2.3.mf', 'keyhaven-1.2.3-disk1.vmdk'],
    );
    assert.deepEqual(members, [
      { name: 'keyhaven-1.2.3.ovf', size: 12 },
      { name: 'keyhaven-1.2.3.mf', size: 13 },
      { name: 'keyhaven-1.2.3-disk1.vmdk', size: 3 * 1024 * 1024 + 100 },
    ]);
    for (const x of h) {
      assert.equal(x.magic, 'ustar\0', 'POSIX ustar magic at offset 257');
      assert.equal(x.version, '00', 'ustar version "00" at offset 263');
      assert.equal(x.typeflag, '0', 'regular file');
      assert.equal(x.mode, 0o644);
      assert.equal(x.mtime, Date.parse('2024-01-02T03:04:05Z') / 1000);
      assert.ok(x.name.length <= 100);
    }
    // The data of each member is the file's bytes.
    const dataStart = 512 + 512 + 512 + 512 + 512; // ovf header+data, mf header+data, vmdk header
    assert.ok(archive.subarray(dataStart, dataStart + 3 * 1024 * 1024 + 100).every((b) => b === 0xab));
  });
});

test('the same inputs and mtime give byte-identical archives', async () => {
  await withTempDir(async (dir) => {
    const { ovf, mf, vmdk } = await makeParts(dir);
    const mtime = new Date(0);
    await writeOva({ outFile: join(dir, 'a.ova'), entries: [{ path: ovf }, { path: mf }, { path: vmdk }], mtime });
    await writeOva({ outFile: join(dir, 'b.ova'), entries: [{ path: ovf }, { path: mf }, { path: vmdk }], mtime });
    assert.ok((await readFile(join(dir, 'a.ova'))).equals(await readFile(join(dir, 'b.ova'))));
  });
});

test('refuses a wrong order, long or unsafe names, and leaves no partial file', async () => {
  await withTempDir(async (dir) => {
    const { ovf, mf, vmdk } = await makeParts(dir);
    const out = join(dir, 'x.ova');
    const refused = (entries: { path: string; name?: string }[], message: RegExp) =>
      assert.rejects(writeOva({ outFile: out, entries }), (e: { code?: string; message: string }) => e.code === ErrorCodes.OVA_INVALID && message.test(e.message));
    await refused([{ path: vmdk }, { path: ovf }, { path: mf }], /first entry must be the \.ovf descriptor/);
    await refused([{ path: ovf }, { path: vmdk }, { path: mf }], /\.mf manifest must come right after the descriptor/);
    await refused([{ path: ovf }, { path: mf }, { path: vmdk, name: `${'d'.repeat(96)}.vmdk` }], /at most 100 characters/);
    await refused([{ path: ovf }, { path: mf }, { path: vmdk, name: 'sub/disk.vmdk' }], /without "\/"/);
    await refused([{ path: ovf }, { path: mf }, { path: dir }], /not a regular file/);
    await assert.rejects(readFile(out), { code: 'ENOENT' });
    await assert.rejects(readFile(`${out}.partial`), { code: 'ENOENT' });
  });
});

const noTar = await missingTool('tar', 'tar');
test('GNU tar lists and extracts the archive', { skip: noTar }, async () => {
  await withTempDir(async (dir) => {
    const { ovf, mf, vmdk } = await makeParts(dir);
    const out = join(dir, 'k.ova');
    await writeOva({ outFile: out, entries: [{ path: ovf }, { path: mf }, { path: vmdk }], mtime: new Date(0) });
    const list = await run('tar', ['-tvf', out]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^-rw-r--r-- root\/root +12 1970-01-01 00:00 keyhaven-1\.2\.3\.ovf$/m);
    assert.deepEqual(
      list.stdout.trim().split('\n').map((l) => l.split(/\s+/).pop()),
      ['keyhaven-1.2.3.ovf', 'keyhaven-1.2.3.mf', 'keyhaven-1.2.3-disk1.vmdk'],
    );
    const extracted = join(dir, 'x');
    await run('mkdir', [extracted]);
    const x = await run('tar', ['-xf', out, '-C', extracted]);
    assert.equal(x.code, 0, x.stderr);
    assert.ok((await readFile(join(extracted, 'keyhaven-1.2.3-disk1.vmdk'))).equals(await readFile(vmdk)));
  });
});
