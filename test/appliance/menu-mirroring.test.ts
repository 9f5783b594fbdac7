// Mirroring from the admin menu, driven as the administrator does, in a real pseudo-terminal against
// a real helper whose data directory a real key server runs on with mirroring (a group of one):
// Mirroring status says so; Add a server refuses an address no peer can have, then shows a join token
// and the CA fingerprint, opens 6002 to the new server's address only (firewall ruleset, settings),
// and keeps the token out of the audit log; a second real server joins with that token and the status
// shows it connected with its queue, lag and digest comparison; Remove a server removes it for good,
// and the firewall sync (the timer's job) closes 6002 once nothing is pending.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminAuditLog } from '../../appliance/admin/admin-audit.js';
import { sandboxSettingsApplier } from '../../appliance/admin/settings-applier.js';
import { recordingRunner } from '../../appliance/admin/system-runner.js';
import { syncPeerFirewall } from '../../appliance/mirroring/peer-firewall.js';
import { pkiPaths } from '../../server/index.js';
import { freePort, tryStart, type ServerProcess } from '../store/helpers.js';
import { AdminSandbox, KEYHAVEN } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

const work = mkdtempSync(join(tmpdir(), 'kh-menu-mirroring-'));
let box: AdminSandbox;
const servers: ServerProcess[] = [];
let token = '';
let joinedNode = '';

async function serve(config: string): Promise<ServerProcess> {
  const r = await tryStart(config, 60_000);
  if ('refused' in r) throw new Error(`exited ${r.refused.code}\n${r.refused.stdout}\n${r.refused.stderr}`);
  servers.push(r.started);
  return r.started;
}

before(async () => {
  box = await AdminSandbox.start();
  const port = await freePort();
  const config = join(work, 'a.json');
  writeFileSync(config, JSON.stringify({ dataDir: box.paths.dataDir, listeners: { kmip: { host: '127.0.0.1', port: await freePort() } }, mirror: { host: '127.0.0.1', port } }));
  await serve(config);
});
after(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  await box?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function inMirroring(m: Menu, entry: 'Mirroring status' | 'Add a server' | 'Remove a server'): Promise<void> {
  await m.choose('Mirroring');
  await m.expect(/\? Mirroring/);
  const at = ['Mirroring status', 'Add a server', 'Remove a server'].indexOf(entry);
  m.press(...Array<string>(at).fill('Down'), 'Enter');
}

describe('Mirroring in the menu', () => {
  test('status of a group of one', async () => {
    const m = await Menu.open(box.socket);
    try {
      await inMirroring(m, 'Mirroring status');
      const screen = await m.expect(/No other servers: this server is a group of one/);
      assert.match(screen, /This server +n[0-9a-f]+ at 127\.0\.0\.1:\d+, group g[0-9a-f]+: running/);
    } finally {
      m.close();
    }
  });

  test('Add a server: the address is checked, the token and CA fingerprint shown, 6002 opened to that address only, the token never recorded', async () => {
    const m = await Menu.open(box.socket);
    try {
      await inMirroring(m, 'Add a server');
      await m.expect(/\? New server's IP address/);
      m.enter('peer.example.com');
      await m.expect(/is a hostname; the firewall pins addresses|must be an IPv4 or IPv6 address/);
      m.press(...Array<string>(20).fill('BSpace'));
      m.enter('127.0.0.1');
      await m.expect(/loopback/);
      m.press(...Array<string>(20).fill('BSpace'));
      m.enter('192.0.2.50');
      const screen = await m.expect(/Done: issued a join token for the server at 192\.0\.2\.50/);
      token = /===== BEGIN join token =====\n(KHJ1\.[A-Za-z0-9_-]+)\n===== END join token =====/.exec(screen)?.[1] ?? '';
      assert.ok(token, `a token between markers: ${screen.slice(-2000)}`);
      const ca = new X509Certificate(readFileSync(pkiPaths(box.paths.dataDir).caCert));
      assert.ok(screen.includes(ca.fingerprint256), "the group's CA fingerprint is shown");
    } finally {
      m.close();
    }
    const settings = JSON.parse(readFileSync(box.paths.settings, 'utf8')) as { network: { mirroring: unknown } };
    assert.deepEqual(settings.network.mirroring, { peers: ['192.0.2.50'], restrictInbound: true });
    const ruleset = readFileSync(box.paths.firewall, 'utf8');
    assert.match(ruleset, /set mirror_peers_v4 \{[^}]*elements = \{ 192\.0\.2\.50 \}/);
    assert.match(ruleset, /ip saddr @mirror_peers_v4 tcp dport 6002 accept/);
    assert.match(ruleset, /ip daddr @mirror_peers_v4 tcp dport 6002 accept/);
    assert.doesNotMatch(ruleset, /tcp dport \{ 6000, 6002, 6003 \}/, '6002 is not open to everyone');
    assert.ok(box.commands().some((c) => c.join(' ') === '/usr/sbin/nft -f -'), 'the ruleset was loaded');
    const audit = AdminAuditLog.open(box.paths, { create: false });
    try {
      const records = audit.tail(20);
      assert.ok(records.some((r) => r.operation === 'Add Mirror Server' && r.objectId === '192.0.2.50'));
      const secret = JSON.parse(Buffer.from(token.slice(5), 'base64url').toString('utf8')).s as string;
      assert.ok(!JSON.stringify(records).includes(secret), 'the token is not in the audit log');
    } finally {
      audit.close();
    }
  });

  test('a server joined with that token: the status shows it connected, with queue, lag and the digest comparison', async () => {
    const dirB = join(work, 'b');
    const configB = join(work, 'b.json');
    const port = await freePort();
    writeFileSync(configB, JSON.stringify({ dataDir: dirB, listeners: { kmip: { host: '127.0.0.1', port: await freePort() } }, mirror: { host: '127.0.0.1', port } }));
    const joined = spawnSync(process.execPath, [KEYHAVEN, 'mirror', 'join', '--config', configB], { input: token, encoding: 'utf8', timeout: 60_000 });
    assert.equal(joined.status, 0, joined.stderr);
    joinedNode = /joined as (n[0-9a-f]+)/.exec(joined.stdout)?.[1] ?? '';
    assert.ok(joinedNode, joined.stdout);
    // Its own server certificate, of the group's CA (the wizard has the data worker do this).
    const cert = spawnSync(process.execPath, [KEYHAVEN, 'pki', 'server', '--dir', dirB, '--dns', 'kms-b.example.com'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(cert.status, 0, cert.stderr);
    await serve(configB);
    const m = await Menu.open(box.socket);
    try {
      let screen = '';
      for (const until = Date.now() + 60_000; !/last digest comparison: match/.test(screen); ) {
        assert.ok(Date.now() < until, `B connected and compared within 60 s:\n${screen.slice(-2000)}`);
        await inMirroring(m, 'Mirroring status');
        screen = (await m.expect(/This server/)).split('✔ Mirroring Mirroring status').pop()!;
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.match(screen, new RegExp(`Peer ${joinedNode} at 127\\.0\\.0\\.1:${port}: connected since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d`));
      assert.match(screen, /queue \d+ changes, lag \d+\.\d s; we hear it/);
    } finally {
      m.close();
    }
  });

  test('Remove a server: chosen, confirmed, removed for good; 6002 closes once nothing is pending', async () => {
    const m = await Menu.open(box.socket);
    try {
      await inMirroring(m, 'Remove a server');
      await m.expect(/\? Remove which server\?/);
      m.enter();
      await m.expect(/from the group\? \(y\/N\)/);
      m.enter('y');
      await m.expect(new RegExp(`Done: removed ${joinedNode} from the mirror group and revoked its node certificate`), 60_000);
      await inMirroring(m, 'Mirroring status');
      await m.expect(new RegExp(`Removed: ${joinedNode}`));
    } finally {
      m.close();
    }
    // The timer's sync, once the token's time is over: no peer left, 6002 closed in both directions.
    const applier = sandboxSettingsApplier(box.paths, recordingRunner(join(box.root, 'commands.log')));
    const later = await syncPeerFirewall(box.paths, applier, Date.now() + 31 * 60_000);
    assert.deepEqual(later.peers, []);
    assert.equal(later.changed, true);
    assert.doesNotMatch(readFileSync(box.paths.firewall, 'utf8'), /6002/);
    const again = await syncPeerFirewall(box.paths, applier, Date.now() + 31 * 60_000);
    assert.equal(again.changed, false, 'nothing to change: the firewall is not reloaded');
  });
});
