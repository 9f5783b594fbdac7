// Golden files: what a generator renders (nftables rulesets, the Packer template, the OVF
// descriptor) is committed beside its tests, so that every change to it shows up in review. After
// an intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UPDATE_GOLDEN = process.env['UPDATE_GOLDEN'] === '1';

/** Compares `actual` with the golden file (a path or a file: URL); with UPDATE_GOLDEN=1 writes it instead. */
export async function assertGolden(file: string | URL, actual: string): Promise<void> {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  if (UPDATE_GOLDEN) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, actual);
    return;
  }
  const expected = await readFile(path, 'utf8').catch(() => {
    throw new Error(`${path} is missing; create it with UPDATE_GOLDEN=1`);
  });
  assert.equal(actual, expected, `${basename(path)} differs from the rendering; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff`);
}
