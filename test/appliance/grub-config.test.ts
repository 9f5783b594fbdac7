// The boot loader configuration: parsed by GRUB's own script checker, locked against edits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { KERNEL_ARGS, renderGrubConfig } from '../../appliance/build/grub-config.js';

const hash = `grub.pbkdf2.sha512.10000.${'AB12'.repeat(16)}.${'CD34'.repeat(32)}`;
const input = { superuserHash: hash, kernel: '/boot/vmlinuz-6.12.117+deb13-amd64', initrd: '/boot/initrd.img-6.12.117+deb13-amd64', version: '0.1.0' };

test('grub-script-check accepts the configuration', () => {
  const r = spawnSync('grub-script-check', [], { input: renderGrubConfig(input), encoding: 'utf8' });
  assert.equal(r.error, undefined, 'grub-script-check (grub-common) must be installed');
  assert.equal(r.status, 0, r.stderr);
});

test('editing the entry needs a superuser password; booting it does not', () => {
  const cfg = renderGrubConfig(input);
  assert.match(cfg, /^set superusers="root"$/m);
  assert.match(cfg, new RegExp(`^password_pbkdf2 root ${hash.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(cfg, /^menuentry "Keyhaven 0\.1\.0" --unrestricted /m);
  assert.match(cfg, /^ {2}linux \/boot\/vmlinuz-6\.12\.117\+deb13-amd64 root=LABEL=keyhaven ro /m);
  assert.ok(KERNEL_ARGS.includes('console=ttyS0,115200n8'));
});

test('refuses a password that is not a PBKDF2 hash and paths GRUB would interpret', () => {
  assert.throws(() => renderGrubConfig({ ...input, superuserHash: 'secret' }), /not a grub\.pbkdf2\.sha512 hash/);
  assert.throws(() => renderGrubConfig({ ...input, kernel: '/boot/vmlinuz; insmod shell' }), /characters GRUB would interpret/);
  assert.throws(() => renderGrubConfig({ ...input, initrd: '/boot/$x' }), /characters GRUB would interpret/);
  assert.throws(() => renderGrubConfig({ ...input, version: '1" {' }), /not a plain version/);
});
