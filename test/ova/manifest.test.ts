// The manifest: exactly `SHA256(name)= hex` lines whose digests are those of the files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes } from '../../ova/errors.js';
import { createManifest, MANIFEST_LINE, parseManifest, renderManifest, sha256File } from '../../ova/manifest.js';
import { withTempDir } from './helpers/tools.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

test('lines match ^SHA256\\((name)\\)= <64 hex>$ and the digests are those of the files', async () => {
  await withTempDir(async (dir) => {
    const ovf = join(dir, 'keyhaven-1.0.0.ovf');
    const vmdk = join(dir, 'keyhaven-1.0.0-disk1.vmdk');
    await writeFile(ovf, '<Envelope/>\n');
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7); // more than one read chunk
    await writeFile(vmdk, big);
    const { text, entries } = await createManifest([ovf, vmdk]);
    const lines = text.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^SHA256\(([^)]+)\)= [0-9a-f]{64}$/);
    assert.equal(lines[0], `SHA256(keyhaven-1.0.0.ovf)= ${sha256('<Envelope/>\n')}`);
    assert.equal(lines[1], `SHA256(keyhaven-1.0.0-disk1.vmdk)= ${sha256(big)}`);
    assert.deepEqual(parseManifest(text), entries);
    assert.equal(await sha256File(vmdk), sha256(big));
  });
});

test('the empty file hashes to the SHA-256 of nothing', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'empty'), '');
    assert.equal(await sha256File(join(dir, 'empty')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

test('refuses names and digests that cannot be written as manifest lines', () => {
  const ok = 'a'.repeat(64);
  assert.throws(() => renderManifest([{ name: 'a(b).vmdk', sha256: ok }]), (e: { code?: string }) => e.code === ErrorCodes.OVA_INVALID);
  assert.throws(() => renderManifest([{ name: 'dir/a.vmdk', sha256: ok }]), /no parentheses, slashes/);
  assert.throws(() => renderManifest([{ name: 'a.vmdk', sha256: 'A'.repeat(64) }]), /not a lower-case SHA-256/);
  assert.throws(() => renderManifest([{ name: 'a.vmdk', sha256: ok }, { name: 'a.vmdk', sha256: ok }]), /listed twice/);
});

test('parseManifest refuses anything but the exact form', () => {
  assert.throws(() => parseManifest(`SHA1(a.ovf)= ${'a'.repeat(40)}\n`), /line 1/);
  assert.throws(() => parseManifest(`SHA256(a.ovf) = ${'a'.repeat(64)}\n`), /not of the form/);
  assert.throws(() => parseManifest(`SHA256(a.ovf)= ${'a'.repeat(64)}`), /does not end in a newline/);
  assert.ok(MANIFEST_LINE.test(`SHA256(a.ovf)= ${'0'.repeat(64)}`));
});
