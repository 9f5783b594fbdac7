// No Debian MOTD before the admin menu: the provisioning step's remove_motd (50-admin-access.sh),
// run on copies of Debian's own PAM files and MOTD, leaves no pam_motd session line, no /etc/motd
// and no update-motd.d, and changes nothing else; sshd itself prints no MOTD either.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderSshdConfig } from '../../appliance/ssh/sshd-config.js';

const SCRIPT = readFileSync(fileURLToPath(new URL('../../appliance/provision/50-admin-access.sh', import.meta.url)), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'kh-motd-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Debian's PAM files as libpam-runtime/login and openssh-server ship them (the host's, when it has them).
const STOCK_SESSION = 'session    optional   pam_motd.so motd=/run/motd.dynamic\nsession    optional   pam_motd.so noupdate\n';
const stock = (name: string) => (existsSync(`/etc/pam.d/${name}`) && /pam_motd/.test(readFileSync(`/etc/pam.d/${name}`, 'utf8')) ? readFileSync(`/etc/pam.d/${name}`, 'utf8') : `# ${name}\n@include common-auth\n${STOCK_SESSION}@include common-session\n`);

test('remove_motd removes the MOTD files and only the pam_motd lines', () => {
  const fn = /^remove_motd\(\) \{\n[\s\S]*?\n\}\n/m.exec(SCRIPT)?.[0];
  assert.ok(fn, '50-admin-access.sh defines remove_motd');
  assert.match(SCRIPT, /^remove_motd ""$/m, 'and calls it on the image');
  mkdirSync(join(root, 'etc/pam.d'), { recursive: true });
  mkdirSync(join(root, 'etc/update-motd.d'));
  writeFileSync(join(root, 'etc/update-motd.d/10-uname'), '#!/bin/sh\nuname -snrvm\n');
  writeFileSync(join(root, 'etc/motd'), '\nThe programs included with the Debian GNU/Linux system are free software;\n');
  const before: Record<string, string> = {};
  for (const name of ['login', 'sshd']) {
    before[name] = stock(name);
    writeFileSync(join(root, 'etc/pam.d', name), before[name]);
  }
  execFileSync('/bin/sh', ['-euc', `${fn}remove_motd "$1"`, 'sh', root]);
  assert.ok(!existsSync(join(root, 'etc/motd')));
  assert.ok(!existsSync(join(root, 'etc/update-motd.d')));
  for (const name of ['login', 'sshd']) {
    const after = readFileSync(join(root, 'etc/pam.d', name), 'utf8');
    assert.doesNotMatch(after, /^[^#]*pam_motd/m, name);
    const kept = before[name]!.split('\n').filter((l) => !/^\s*session\s.*pam_motd\.so/.test(l));
    assert.deepEqual(after.split('\n'), kept, `${name}: nothing else changed`);
  }
});

test('sshd prints no MOTD of its own', () => {
  assert.match(renderSshdConfig(), /^PrintMotd no$/m);
});
