// AnchorFile.write replaces the anchor through lib/atomic-file.ts (writeFileAtomicAsync): a fresh
// O_EXCL temporary file each time, never a fixed name that two writes, or a planted link, share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnchorFile, type AnchorState } from '../../server/store/anchor.js';

const state = (auditSeq: number): AnchorState => ({
  storeId: 'ab'.repeat(16),
  auditSeq,
  auditMac: Buffer.alloc(32, auditSeq),
  generation: auditSeq,
  time: new Date(0).toISOString(),
});

function inDir(body: (dir: string, anchor: AnchorFile) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhaven-anchor-'));
    try {
      await body(dir, new AnchorFile(join(dir, 'keyhaven.anchor'), randomBytes(32)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('write: the anchor is replaced whole, mode 0600, and no temporary file stays', inDir(async (dir, anchor) => {
  await anchor.write(state(1));
  await anchor.write(state(2));
  assert.equal(anchor.read()?.auditSeq, 2);
  assert.equal(statSync(anchor.path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['keyhaven.anchor']);
}));

test('write: overlapping writes both complete (a fixed temporary name made the second rename fail)', inDir(async (dir, anchor) => {
  await Promise.all([anchor.write(state(1)), anchor.write(state(2))]);
  assert.ok([1, 2].includes(anchor.read()!.auditSeq as number));
  assert.deepEqual(readdirSync(dir), ['keyhaven.anchor']);
}));

test('write: a link planted at the old temporary name is neither followed nor written through', inDir(async (dir, anchor) => {
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'untouched');
  symlinkSync(victim, `${anchor.path}.tmp`);
  await anchor.write(state(3));
  assert.equal(readFileSync(victim, 'utf8'), 'untouched');
  assert.ok(lstatSync(`${anchor.path}.tmp`).isSymbolicLink());
  assert.equal(anchor.read()?.auditSeq, 3);
}));
