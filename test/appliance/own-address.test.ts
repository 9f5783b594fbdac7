// The appliance's own address with DHCP, from `ip -json address show scope global`: IPv4 first, then
// IPv6; addresses still in duplicate address detection, failed or deprecated are not it; none: undefined.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickOwnAddress } from '../../appliance/boot/own-address.js';

const link = (ifname: string, addr_info: object[]) => ({ ifindex: 2, ifname, flags: ['UP'], addr_info });

test('the first global IPv4 address, else the first usable IPv6 one', () => {
  const both = JSON.stringify([link('ens192', [{ family: 'inet6', local: '2001:db8::10', prefixlen: 64, scope: 'global' }, { family: 'inet', local: '10.0.0.10', prefixlen: 24, scope: 'global', dynamic: true }])]);
  assert.equal(pickOwnAddress(both), '10.0.0.10');
  const v6 = JSON.stringify([
    link('ens192', [
      { family: 'inet6', local: '2001:db8::11', scope: 'global', tentative: true },
      { family: 'inet6', local: '2001:db8::12', scope: 'global', deprecated: true },
      { family: 'inet6', local: '2001:db8::13', scope: 'global' },
    ]),
  ]);
  assert.equal(pickOwnAddress(v6), '2001:db8::13');
});

test('no usable address: undefined (loopback, link-local, failed DAD, nothing, not JSON)', () => {
  const none = JSON.stringify([link('lo', [{ family: 'inet', local: '127.0.0.1', scope: 'host' }]), link('ens192', [{ family: 'inet6', local: 'fe80::1', scope: 'link' }, { family: 'inet6', local: '2001:db8::14', scope: 'global', dadfailed: true }])]);
  assert.equal(pickOwnAddress(none), undefined);
  assert.equal(pickOwnAddress('[]'), undefined);
  assert.equal(pickOwnAddress('not json'), undefined);
});
