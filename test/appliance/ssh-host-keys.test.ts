// SSH host key fingerprints as the console shows them (first-boot wizard, status banner): computed in
// TypeScript from the .pub files that ssh-keygen -A makes, they must equal what `ssh-keygen -lf`
// prints for the same files (and so what ssh shows at a first connection).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { renderIssue } from '../../appliance/firstboot/banner.js';
import { ensureHostKeys, HOST_KEY_TYPES, hostKeyFingerprint, hostKeyFingerprints } from '../../appliance/ssh/host-keys.js';

const root = mkdtempSync(join(tmpdir(), 'kh-hostkeys-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** `ssh-keygen -lf FILE`: "256 SHA256:… comment (ED25519)" -> { label, fingerprint }. */
function keygenFingerprint(file: string): { label: string; fingerprint: string } {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).trim();
  const m = /^\d+ (SHA256:[A-Za-z0-9+/]{43}) .* \(([A-Z0-9]+)\)$/.exec(out);
  assert.ok(m, out);
  return { label: m[2]!, fingerprint: m[1]! };
}

test('ssh-keygen -A makes all three host keys; the fingerprints equal ssh-keygen -lf', async () => {
  mkdirSync(join(root, 'etc/ssh'), { recursive: true });
  const umask = process.umask(0o077); // as keyhaven-first-boot@.service runs it
  const shown = await ensureHostKeys(root).finally(() => process.umask(umask));
  assert.deepEqual(shown.map((k) => k.label), ['ED25519', 'ECDSA', 'RSA']);
  for (const [i, k] of HOST_KEY_TYPES.entries()) {
    const pub = join(root, 'etc/ssh', k.file);
    assert.deepEqual(shown[i], keygenFingerprint(pub), k.file);
    // Public keys readable by all (even under the unit's umask 0077), private keys by root only.
    assert.equal(statSync(pub).mode & 0o777, 0o644, pub);
    assert.equal(statSync(pub.replace(/\.pub$/, '')).mode & 0o777, 0o600);
  }
  // A second call (an interrupted first boot run again) keeps the keys.
  assert.deepEqual(await ensureHostKeys(root), shown);
});

test('a .pub line whose type does not match its key data, or another type, is not shown', () => {
  const ed = readFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
  const data = ed.split(' ')[1]!;
  assert.throws(() => hostKeyFingerprint(`ssh-rsa ${data}`, ['ssh-rsa']), /does not match its type/);
  assert.throws(() => hostKeyFingerprint(ed, ['ssh-rsa']), /not a ssh-rsa public key/);
  assert.throws(() => hostKeyFingerprint('ssh-ed25519 AAAA', ['ssh-ed25519']), /does not match/);
  const dir = join(root, 'broken');
  mkdirSync(dir);
  writeFileSync(join(dir, 'ssh_host_ed25519_key.pub'), `ssh-rsa ${data}\n`);
  writeFileSync(join(dir, 'ssh_host_rsa_key.pub'), readFileSync(join(root, 'etc/ssh/ssh_host_rsa_key.pub')));
  assert.deepEqual(hostKeyFingerprints(dir).map((k) => k.label), ['RSA']);
});

test('the banner lists each host key; before first boot it says when they are made', () => {
  const facts = { version: '1.2.3', hostname: 'kms01', keyServer: 'active', ssh: 'active', firstBootDone: true };
  const keys = hostKeyFingerprints(join(root, 'etc/ssh'));
  const text = renderIssue({ ...facts, sshHostKeys: keys });
  for (const k of keys) assert.match(text, new RegExp(`^ +(SSH host key)? +${k.label} +${k.fingerprint.replace(/\+/g, '\\+')}$`, 'm'));
  assert.match(renderIssue({ ...facts, firstBootDone: false }), /SSH host key +\(made when first boot completes\)/);
});
