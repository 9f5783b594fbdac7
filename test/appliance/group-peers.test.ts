// The firewall's mirroring peers from the group's member list and the servers being added: removed
// members and this server's own address are never peers, members at a name or a loopback address
// are reported and left out, pending additions expire with their token, and a sync applies the
// firewall only when the list changed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { groupPeers } from '../../appliance/mirroring/group-peers.js';
import { withPeers } from '../../appliance/mirroring/peer-firewall.js';
import { addPendingPeer, readPendingPeers } from '../../appliance/mirroring/pending-peers.js';
import { parseApplianceSettings } from '../../appliance/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'kh-group-peers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const member = (node: string, address: string, removed = false) => ({ node, address, removed });

test('current members other than this server, IPv4 and IPv6, sorted without repeats; removed ones are not peers', () => {
  const r = groupPeers(
    {
      address: '10.0.0.1:6002',
      peers: [member('n3', '10.0.0.3:6002'), member('n2', '[2001:db8::2]:6002'), member('n4', '10.0.0.4:6002', true), member('n5', '10.0.0.3:6102'), member('n6', '10.0.0.1:6002')],
    },
    [],
  );
  assert.deepEqual(r, { peers: ['10.0.0.3', '2001:db8::2'], unusable: [] });
});

test('members the firewall cannot pin (a name, loopback) are reported and left out', () => {
  const r = groupPeers({ address: '10.0.0.1:6002', peers: [member('n2', 'kms2.example.com:6002'), member('n3', '127.0.0.1:6002'), member('n4', '10.0.0.4:6002')] }, []);
  assert.deepEqual(r.peers, ['10.0.0.4']);
  assert.deepEqual(r.unusable, ['n2 at kms2.example.com:6002', 'n3 at 127.0.0.1:6002']);
});

test('servers being added are peers until their time runs out; a later add extends it; an unreadable file is none', () => {
  const file = join(dir, 'pending.json');
  addPendingPeer(file, '10.0.0.9', 2000, 1000);
  addPendingPeer(file, '2001:db8::9', 5000, 1000);
  assert.deepEqual(readPendingPeers(file, 1500).map((p) => p.address), ['10.0.0.9', '2001:db8::9']);
  assert.deepEqual(readPendingPeers(file, 3000).map((p) => p.address), ['2001:db8::9'], 'the first expired');
  addPendingPeer(file, '2001:db8::9', 9000, 3000);
  assert.deepEqual(readPendingPeers(file, 6000), [{ address: '2001:db8::9', until: 9000 }]);
  assert.deepEqual(groupPeers(undefined, readPendingPeers(file, 6000)).peers, ['2001:db8::9']);
  writeFileSync(file, '{not json');
  assert.deepEqual(readPendingPeers(file), []);
});

test('with the peers, 6002 is restricted to them (none: a group of one), and the settings stay valid', () => {
  const base = parseApplianceSettings({ address: { mode: 'static', address: '10.0.0.1', prefix: 24, gateway: '10.0.0.254' } }, 'test');
  assert.deepEqual(withPeers(base, []).network.mirroring, { peers: [], restrictInbound: true });
  const two = parseApplianceSettings(withPeers(base, ['10.0.0.3', '2001:db8::2']), 'test');
  assert.deepEqual(two.network.mirroring, { peers: ['10.0.0.3', '2001:db8::2'], restrictInbound: true });
});
