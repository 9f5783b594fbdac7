// The per-build SSH key: OpenSSH public key line matching the PKCS#8 private key, never overwritten.
// (That Packer's SSH client reads the private key is shown by packer-validate.test.ts: validate reads it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeBuildKey, writeBuildKey } from '../../packer/build-key.js';

test('writeBuildKey writes a matching pair with private permissions, refuses to overwrite, removeBuildKey deletes it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kh-build-key-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'build-key', 'id_ed25519');
  const key = await writeBuildKey(file, 'test-build');

  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'build-key'))).mode & 0o777, 0o700);
  assert.equal(await readFile(key.publicKeyFile, 'utf8'), `${key.publicKey}\n`);
  const [type, blob, comment] = key.publicKey.split(' ');
  assert.equal(type, 'ssh-ed25519');
  assert.equal(comment, 'test-build');
  const bytes = Buffer.from(blob!, 'base64');
  assert.equal(bytes.readUInt32BE(0), 11);
  assert.equal(bytes.subarray(4, 15).toString(), 'ssh-ed25519');
  assert.equal(bytes.readUInt32BE(15), 32);
  const raw = createPublicKey(createPrivateKey(await readFile(file))).export({ type: 'spki', format: 'der' }).subarray(-32);
  assert.deepEqual(bytes.subarray(19), raw);

  await assert.rejects(writeBuildKey(file), /EEXIST/);
  await removeBuildKey(file);
  assert.equal(existsSync(file) || existsSync(`${file}.pub`), false);
});
