// The appliance's systemd units: systemd-analyze accepts them, the key server's sandbox scores an
// exposure of 2.0 or less, and the boot order puts the firewall before any network configuration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../appliance/systemd/', import.meta.url));
const units = readdirSync(DIR).filter((f) => f.endsWith('.service') || f.endsWith('.timer'));

test('every unit parses (systemd-analyze verify)', () => {
  for (const u of ['keyhaven-configure.service', 'keyhaven-firewall.service', 'keyhaven.service', 'keyhaven-banner.service', 'keyhaven-first-boot@.service', 'keyhaven-mirror-peers.service', 'keyhaven-mirror-peers.timer']) assert.ok(units.includes(u), u);
  // ExecStart programs (/usr/local/bin/keyhaven, /usr/bin/node) exist only in the image: only syntax
  // and directive errors count here.
  // A template is verified as an instance.
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((u) => DIR + u.replace('@.', '@tty1.'))], { encoding: 'utf8' });
  const problems = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !/is not executable|No such file or directory|Command .* is not executable|Failed to prepare filename|Unit .* not found/i.test(l));
  assert.deepEqual(problems, []);
});

test('keyhaven.service exposure is at most 2.0 (systemd-analyze security)', () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', `${DIR}keyhaven.service`], { encoding: 'utf8' });
  const m = /Overall exposure level for keyhaven\.service: (\d+\.\d)/.exec(r.stdout);
  assert.ok(m, `no exposure figure in:\n${r.stdout}${r.stderr}`);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`);
  assert.equal(r.status, 0, 'at or under the threshold');
});

test('boot order: firewall, then settings, then network and key server', () => {
  const configure = readFileSync(`${DIR}keyhaven-configure.service`, 'utf8');
  assert.match(configure, /^Requires=keyhaven-firewall\.service$/m);
  assert.match(configure, /^After=keyhaven-firewall\.service/m);
  assert.match(configure, /^Before=network-pre\.target systemd-networkd\.service chrony\.service keyhaven\.service/m);
  const server = readFileSync(`${DIR}keyhaven.service`, 'utf8');
  assert.match(server, /^User=keyhaven$/m);
  assert.match(server, /^After=keyhaven-configure\.service/m);
});

test('the mirroring peers follow the group: a timer runs the sync, only once first boot is complete; the key server writes its mirror address as root before it starts', () => {
  const timer = readFileSync(`${DIR}keyhaven-mirror-peers.timer`, 'utf8');
  assert.match(timer, /^OnUnitActiveSec=30s$/m);
  const sync = readFileSync(`${DIR}keyhaven-mirror-peers.service`, 'utf8');
  assert.match(sync, /^ExecStart=\/usr\/local\/bin\/keyhaven appliance mirror-peers$/m);
  assert.match(sync, /^ConditionPathExists=\/var\/lib\/keyhaven-appliance\/first-boot-complete$/m);
  const server = readFileSync(`${DIR}keyhaven.service`, 'utf8');
  assert.match(server, /^ExecStartPre=\+\/usr\/local\/bin\/keyhaven appliance server-config --write$/m);
});
