// Settings that must be refused or confirmed, driven on every path an administrator has: the vApp
// properties, the first-boot wizard and the admin menu (each as typed, field by field, in a real
// pseudo-terminal), and the privileged helper (a crafted request). One table of bad values runs
// through all four; the confirmations (very broad admin networks, admin networks that leave out this
// SSH session, NTP / SIEM / admin-network changes) are answered No, then Yes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AdminResponse } from '../../appliance/admin/protocol.js';
import { settingsFromVapp } from '../../appliance/settings.js';
import { KeyhavenError } from '../../appliance/errors.js';
import { propertiesToSettings, VappPropertyError } from '../../ova/vapp-properties.js';
import { Terminal } from '../support/terminal.js';
import { AdminSandbox } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

const CLI = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));

let box: AdminSandbox;
const dirs: string[] = [];
before(async () => {
  box = await AdminSandbox.start({ withPki: false });
});
after(async () => {
  await box?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Field = 'address' | 'gateway' | 'dns' | 'ntp' | 'siem' | 'admin';

/** How each path names the field: vApp property, settings path (helper, menu, wizard). */
const NAMES: Record<Field, { vapp: string; setting: string }> = {
  address: { vapp: 'keyhaven.ip', setting: 'address.address' },
  gateway: { vapp: 'keyhaven.gateway', setting: 'address.gateway' },
  dns: { vapp: 'keyhaven.dns', setting: 'network.dnsServers' },
  ntp: { vapp: 'keyhaven.ntp', setting: 'network.ntpServers' },
  siem: { vapp: 'keyhaven.syslog', setting: 'network.siemHosts' },
  admin: { vapp: 'keyhaven.admin_networks', setting: 'network.adminNetworks' },
};

/** The static address every gateway row is typed after. */
const STATIC = { address: '10.10.0.25', prefix: 24, gateway: '10.10.0.1' };

/** Every value is refused on every path, for the reason `why` (the same words everywhere). */
const BAD: readonly { field: Field; value: string; why: RegExp }[] = [
  { field: 'address', value: '0.0.0.0', why: /"0\.0\.0\.0" is the unspecified address, which cannot be a static address/ },
  { field: 'address', value: '127.0.0.1', why: /"127\.0\.0\.1" is a loopback address, which cannot be a static address/ },
  { field: 'address', value: '::1', why: /"::1" is the loopback address, which cannot be a static address/ },
  { field: 'address', value: '169.254.7.7', why: /"169\.254\.7\.7" is a link-local address \(169\.254\.0\.0\/16\), which cannot be a static address/ },
  { field: 'address', value: 'fe80::25', why: /"fe80::25" is a link-local address \(fe80::\/10\), which cannot be a static address/ },
  { field: 'gateway', value: '10.20.0.1', why: /"10\.20\.0\.1" is not in the appliance's network 10\.10\.0\.0\/24/ },
  { field: 'gateway', value: '127.0.0.1', why: /"127\.0\.0\.1" is a loopback address, which cannot be a gateway/ },
  { field: 'gateway', value: '169.254.0.1', why: /"169\.254\.0\.1" is a link-local address \(169\.254\.0\.0\/16\), which cannot be a gateway/ },
  { field: 'gateway', value: '0.0.0.0', why: /"0\.0\.0\.0" is the unspecified address, which cannot be a gateway/ },
  { field: 'dns', value: '192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4', why: /has 4 entries; at most 3 are allowed/ },
  { field: 'dns', value: '127.0.0.53', why: /"127\.0\.0\.53" is a loopback address, which cannot be a DNS server/ },
  { field: 'dns', value: '::1', why: /"::1" is the loopback address, which cannot be a DNS server/ },
  { field: 'dns', value: 'fe80::53', why: /"fe80::53" is a link-local address \(fe80::\/10\), which cannot be a DNS server/ },
  { field: 'dns', value: '192.0.2.1, , 192.0.2.2', why: /"" is an empty entry \(two commas in a row, or a comma at the start or end\)/ },
  { field: 'ntp', value: '169.254.169.123', why: /"169\.254\.169\.123" is a link-local address \(169\.254\.0\.0\/16\), which cannot be an NTP server/ },
  { field: 'ntp', value: '::1', why: /"::1" is the loopback address, which cannot be an NTP server/ },
  { field: 'ntp', value: '192.0.2.123, , 192.0.2.124', why: /"" is an empty entry/ },
  { field: 'ntp', value: '192.0.2.123,', why: /"" is an empty entry/ },
  { field: 'siem', value: '::1', why: /"::1" is the loopback address, which cannot be a SIEM host/ },
  { field: 'siem', value: '127.0.0.1', why: /"127\.0\.0\.1" is a loopback address, which cannot be a SIEM host/ },
  { field: 'siem', value: 'fe80::514', why: /"fe80::514" is a link-local address \(fe80::\/10\), which cannot be a SIEM host/ },
  { field: 'admin', value: '127.0.0.0/8', why: /"127\.0\.0\.0\/8" is in the loopback range 127\.0\.0\.0\/8, which no one connects from/ },
  { field: 'admin', value: '::1/128', why: /"::1\/128" is the loopback address, which no one connects from/ },
  { field: 'admin', value: 'fe80::/64', why: /"fe80::\/64" is in the link-local range fe80::\/10, which no one connects from/ },
  { field: 'admin', value: '169.254.0.0/16', why: /"169\.254\.0\.0\/16" is in the link-local range 169\.254\.0\.0\/16, which no one connects from/ },
  { field: 'admin', value: '0.0.0.0/0', why: /"0\.0\.0\.0\/0" would allow SSH from every address/ },
  { field: 'admin', value: '::/0', why: /"::\/0" would allow SSH from every address/ },
  { field: 'admin', value: '0.0.0.0/1, 128.0.0.0/1', why: /0\.0\.0\.0\/1, 128\.0\.0\.0\/1 together cover every IPv4 address, which would allow SSH from every address/ },
  { field: 'admin', value: '10.9.0.0/16,', why: /"" is an empty entry/ },
];

const rows = (field: Field) => BAD.filter((r) => r.field === field);

/** Waits until the prompt shows no refusal: the keys erasing the last answer have been read. */
async function settle(t: Terminal): Promise<void> {
  for (let i = 0; /^> /m.test(t.screen(0).split('\n').filter((l) => l.trim()).slice(-3).join('\n')); i++) {
    if (i > 100) throw new Error(`the refusal never cleared:\n${t.screen(0)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The refusal as the menu and wizard show it under the prompt (wrapped at the terminal's width): `> field…: reason`. */
const shown = (r: (typeof BAD)[number]) => new RegExp(`> ${esc(NAMES[r.field].setting)}(\\[\\d+\\])?: [^>?]*?${r.why.source.replace(/ /g, '\\s+')}`);

/** Waits until the active prompt (the last line starting with "? ") matches. */
async function prompted(t: Terminal, pattern: RegExp): Promise<void> {
  for (let i = 0; ; i++) {
    const lines = t.screen(0).split('\n').filter((l) => l.startsWith('? '));
    if (pattern.test(lines[lines.length - 1] ?? '')) return;
    if (i > 400) throw new Error(`the prompt never became ${pattern}:\n${t.screen(0)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one validation: every bad value is refused on all four paths', () => {
  test('vApp properties: refused naming the property', () => {
    for (const r of BAD) {
      const props: Record<string, string> =
        r.field === 'address'
          ? { 'keyhaven.ip': r.value, 'keyhaven.gateway': STATIC.gateway }
          : r.field === 'gateway'
            ? { 'keyhaven.ip': STATIC.address, 'keyhaven.prefix': String(STATIC.prefix), 'keyhaven.gateway': r.value }
            : { [NAMES[r.field].vapp]: r.value };
      assert.throws(
        () => settingsFromVapp(propertiesToSettings(props)),
        (e: unknown) => {
          assert.ok(e instanceof KeyhavenError, String(e));
          const problem = e instanceof VappPropertyError ? e.problems.find((p) => p.key === NAMES[r.field].vapp)?.message : e.message;
          assert.ok(problem, `${NAMES[r.field].vapp} is named for ${r.value}: ${e.message}`);
          assert.match(problem, r.why, `vApp ${r.field} ${r.value}`);
          return true;
        },
      );
    }
  });

  test('helper: a crafted request is refused naming the setting, nothing is saved', async () => {
    const list = (v: string) => v.split(',').map((s) => s.trim());
    const request = (r: (typeof BAD)[number]): [string, Record<string, unknown>] => {
      switch (r.field) {
        case 'address':
          return ['network.set', { hostname: 'kms', address: { mode: 'static', ...STATIC, address: r.value }, dnsServers: [] }];
        case 'gateway':
          return ['network.set', { hostname: 'kms', address: { mode: 'static', ...STATIC, gateway: r.value }, dnsServers: [] }];
        case 'dns':
          return ['network.set', { hostname: 'kms', address: { mode: 'dhcp' }, dnsServers: list(r.value) }];
        case 'ntp':
          return ['ntp.set', { servers: list(r.value) }];
        case 'siem':
          return ['syslog.set', { hosts: list(r.value) }];
        case 'admin':
          return ['admin-networks.set', { networks: list(r.value), acceptBroad: true, acceptLockout: true }];
      }
    };
    for (const r of BAD) {
      const [action, params] = request(r);
      const res: AdminResponse = await box.call(action, params);
      assert.equal(res.ok, false, `${action} ${r.value}: ${JSON.stringify(res)}`);
      if (res.ok) continue;
      assert.equal(res.code, 'KH_ADMIN_REQUEST_INVALID', res.message);
      assert.match(res.message, new RegExp(`^${esc(NAMES[r.field].setting)}(\\[\\d+\\])?: .*${r.why.source}`, 'm'), `${action} ${r.value}`);
    }
    assert.equal(existsSync(box.paths.settings), false, 'nothing refused was saved');
  });

  test('admin menu: refused as typed, field by field', { timeout: 300_000 }, async () => {
    const m = await Menu.open(box.socket);
    const erase = () => m.press(...Array<string>(60).fill('BSpace'));
    const refuseAll = async (field: Field) => {
      for (const r of rows(field)) {
        erase();
        await settle(m.t);
        m.enter(r.value);
        await m.expect(shown(r));
      }
      erase();
      await settle(m.t);
    };
    try {
      await m.choose('Network settings');
      await m.expect(/\? Host name/);
      m.enter();
      await m.expect(/\? Address/);
      m.press('Down', 'Enter'); // static (the sandbox starts with DHCP)
      await m.expect(/\? IP address/);
      await refuseAll('address');
      m.enter(STATIC.address);
      await m.expect(/\? Prefix length/);
      erase();
      m.enter(String(STATIC.prefix));
      await m.expect(/\? Gateway/);
      await refuseAll('gateway');
      m.enter(STATIC.gateway);
      await m.expect(/\? DNS servers/);
      await refuseAll('dns');
      m.press('C-c');
      await m.atMainMenu();
      for (const [label, field] of [['NTP servers', 'ntp'], ['Syslog / SIEM destinations', 'siem'], ['Admin networks', 'admin']] as const) {
        await m.choose(label);
        await refuseAll(field);
        m.press('C-c');
        await m.atMainMenu();
      }
    } finally {
      m.close();
    }
    assert.equal(existsSync(box.paths.settings), false, 'nothing refused was saved');
  });

  test('first-boot wizard: refused as typed, field by field', { timeout: 300_000 }, async () => {
    const t = wizard({ hostname: 'kms01', address: { mode: 'static', ...STATIC }, network: { adminNetworks: ['10.9.0.0/16'] } });
    const erase = () => t.press(...Array<string>(60).fill('BSpace'));
    const refuseAll = async (field: Field) => {
      for (const r of rows(field)) {
        erase();
        await settle(t);
        t.type(r.value);
        t.press('Enter');
        await t.waitForTail(shown(r), 20_000, 4);
      }
      erase();
      await settle(t);
    };
    const next = async (value: string, prompt: RegExp) => {
      t.type(value);
      t.press('Enter');
      await prompted(t, prompt);
    };
    try {
      await prompted(t, /Are these settings correct\?/);
      await next('n', /\? Host name/);
      await next('', /\? Address/);
      await next('', /\? IP address/); // static, as the settings say
      await refuseAll('address');
      await next(STATIC.address, /\? Prefix length/);
      await next('', /\? Gateway/);
      await refuseAll('gateway');
      await next(STATIC.gateway, /\? DNS servers/);
      await refuseAll('dns');
      await next('', /\? NTP servers/);
      await refuseAll('ntp');
      await next('', /\? SIEM/);
      await refuseAll('siem');
      await next('', /\? Admin networks/);
      await refuseAll('admin');
      await next('10.9.0.0/16', /Are these settings correct\?/);
    } finally {
      t.close();
    }
  });
});

function wizard(settings: unknown): Terminal {
  const dir = mkdtempSync(join(tmpdir(), 'kh-menu-settings-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
  mkdirSync(join(dir, 'root'));
  return Terminal.start([process.execPath, CLI, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', join(dir, 'root'), '--settings', join(dir, 'settings.json')]);
}

const saved = () => (existsSync(box.paths.settings) ? (JSON.parse(readFileSync(box.paths.settings, 'utf8')) as { network: Record<string, unknown> }).network : undefined);
/** An SSH session from 10.9.0.7, as sshd tells the menu. */
const FROM_SSH = { SSH_CONNECTION: '10.9.0.7 50022 10.10.0.25 22' };

describe('changes are shown and confirmed before they are applied', () => {
  test('NTP: an empty entry is refused; the old and new servers are shown; No applies nothing, Yes applies', async () => {
    const m = await Menu.open(box.socket);
    try {
      await m.choose('NTP servers');
      m.enter('192.0.2.123, , 192.0.2.124');
      await m.expect(/> network\.ntpServers\[1\]: "" is an empty entry \(two commas in a row, or a comma at the start or end\)/);
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('192.0.2.123, 192.0.2.124');
      await m.expect(/NTP servers:\n +now: +none\n +new: +192\.0\.2\.123, 192\.0\.2\.124\n\? Apply these NTP servers now\? \(Y\/n\)/);
      m.enter('n');
      await m.expect(/Nothing was changed\./);
      await m.atMainMenu();
      assert.equal(saved()?.ntpServers, undefined, 'declined: nothing saved');
      await m.choose('NTP servers');
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('192.0.2.123, 192.0.2.124');
      await m.expect(/\? Apply these NTP servers now\?/);
      m.enter();
      await m.expect(/Done: NTP servers 192\.0\.2\.123, 192\.0\.2\.124\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.ntpServers, ['192.0.2.123', '192.0.2.124']);
      // Enter through the form (it starts from the servers in use) applies nothing and asks nothing.
      const answered = m.history().length;
      await m.choose('NTP servers');
      m.enter();
      await m.expect(/Nothing to change \(in use now: NTP servers 192\.0\.2\.123, 192\.0\.2\.124\)\./);
      await m.atMainMenu();
      assert.doesNotMatch(m.history().slice(answered), /Apply these NTP servers now|Done:/);

      await m.choose('Syslog / SIEM destinations');
      m.enter('192.0.2.10');
      await m.expect(/SIEM hosts:\n +now: +none\n +new: +192\.0\.2\.10\n\? Apply these SIEM hosts now\?/);
      m.enter('n');
      await m.expect(/Nothing was changed\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.siemHosts, []);
    } finally {
      m.close();
    }
  });

  test('admin networks that leave out this SSH session: the consequence is named; No keeps them, Yes applies', async () => {
    assert.ok((await box.call('admin-networks.set', { networks: ['10.9.0.0/16'] }, { address: '10.9.0.7' })).ok);
    const m = await Menu.open(box.socket, FROM_SSH);
    try {
      await m.choose('Admin networks');
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('10.20.0.0/16');
      await m.expect(/Admin networks \(SSH\):\n +now: +10\.9\.0\.0\/16\n +new: +10\.20\.0\.0\/16\n\? Apply these admin networks now\?/);
      m.enter();
      await m.expect(
        /WARNING: 10\.9\.0\.7, where this SSH session comes from, is not in the new admin networks: this session carries on, but new SSH connections from 10\.9\.0\.7 will get no answer[^\n]*\n\? Apply anyway, and lose SSH access from this address\? \(y\/N\)/,
      );
      m.enter();
      await m.expect(/Nothing was changed\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.adminNetworks, ['10.9.0.0/16'], 'declined: unchanged');

      await m.choose('Admin networks');
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('10.20.0.0/16');
      await m.expect(/\? Apply these admin networks now\?/);
      m.enter();
      await m.expect(/\? Apply anyway, and lose SSH access from this address\?/);
      m.enter('y');
      await m.expect(/Done: admin networks 10\.20\.0\.0\/16 \(excludes the client 10\.9\.0\.7, accepted\)\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.adminNetworks, ['10.20.0.0/16']);
    } finally {
      m.close();
    }
  });

  test('very broad admin networks: warned with the number of addresses; No keeps them, Yes applies', async () => {
    assert.ok((await box.call('admin-networks.set', { networks: ['10.9.0.0/16'] }, { address: '10.9.0.7' })).ok);
    const m = await Menu.open(box.socket, FROM_SSH);
    try {
      await m.choose('Admin networks');
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('10.9.0.0/16, 64.0.0.0/2');
      await m.expect(/\? Apply these admin networks now\?/);
      m.enter();
      await m.expect(/WARNING: SSH would be reachable from 1,073,807,360 IPv4 addresses \(10\.9\.0\.0\/16, 64\.0\.0\.0\/2\): every host there could try the admin password[^\n]*\n\? Allow SSH from all of these addresses anyway\? \(y\/N\)/);
      m.enter();
      await m.expect(/Nothing was changed\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.adminNetworks, ['10.9.0.0/16']);

      await m.choose('Admin networks');
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('10.9.0.0/16, 64.0.0.0/2');
      await m.expect(/\? Apply these admin networks now\?/);
      m.enter();
      await m.expect(/\? Allow SSH from all of these addresses anyway\?/);
      m.enter('y');
      await m.expect(/Done: admin networks 10\.9\.0\.0\/16, 64\.0\.0\.0\/2 \(very broad networks accepted\)\./);
      await m.atMainMenu();
      assert.deepEqual(saved()?.adminNetworks, ['10.9.0.0/16', '64.0.0.0/2']);
    } finally {
      m.close();
    }
  });

  test('the helper enforces both confirmations on a crafted request', async () => {
    const call = (networks: string[], extra: Record<string, unknown>, address?: string) => box.call('admin-networks.set', { networks, ...extra }, address ? { address } : undefined);
    assert.ok((await call(['10.9.0.0/16'], {}, '10.9.0.7')).ok);
    const broad = await call(['10.9.0.0/16', '2001:db8::/30'], {}, '10.9.0.7');
    assert.ok(!broad.ok && broad.code === 'KH_ADMIN_CONFIRM_BROAD' && /SSH would be reachable from [\d,]+ IPv6 addresses \(2001:db8::\/30\)/.test(broad.message), JSON.stringify(broad));
    const locked = await call(['10.20.0.0/16'], {}, '10.9.0.7');
    assert.ok(!locked.ok && locked.code === 'KH_ADMIN_CONFIRM_LOCKOUT' && /new SSH connections from 10\.9\.0\.7 will get no answer/.test(locked.message), JSON.stringify(locked));
    const mapped = await call(['10.20.0.0/16'], {}, '::ffff:10.9.0.7');
    assert.ok(!mapped.ok && mapped.code === 'KH_ADMIN_CONFIRM_LOCKOUT', 'an IPv4-mapped client address is the same client');
    const both = await call(['10.20.0.0/16', '64.0.0.0/2'], { acceptBroad: true }, '10.9.0.7');
    assert.ok(!both.ok && both.code === 'KH_ADMIN_CONFIRM_LOCKOUT', 'accepting one consequence does not accept the other');
    assert.deepEqual(saved()?.adminNetworks, ['10.9.0.0/16'], 'nothing refused was saved');
    assert.ok((await call(['10.20.0.0/16'], {}, 'console')).ok, 'the console has no SSH session to lose');
    assert.ok((await call(['10.20.0.0/16', '64.0.0.0/2'], { acceptBroad: true, acceptLockout: true }, '10.9.0.7')).ok);
    const tail = await box.call('audit.tail', { count: 50 });
    assert.ok(tail.ok);
    const records = (tail.result as { admin: { operation: string; result: string; reason: string; address: string }[] }).admin.filter((r) => r.operation === 'Set Admin Networks');
    assert.ok(records.some((r) => r.result === 'failure' && /KH_ADMIN_CONFIRM_LOCKOUT/.test(r.reason) && r.address === '10.9.0.7'), 'the refusal is audited');
    assert.ok(records.some((r) => r.result === 'success' && /very broad networks accepted; excludes the client 10\.9\.0\.7, accepted/.test(r.reason)), 'the accepted consequences are audited');
  });

  test('first-boot wizard: very broad admin networks need an explicit yes', { timeout: 120_000 }, async () => {
    const t = wizard({ hostname: 'kms01', address: { mode: 'static', ...STATIC }, network: { adminNetworks: ['10.9.0.0/16', '64.0.0.0/2'] } });
    try {
      // From the vApp properties: the warning is on the summary and the default answer is No.
      await t.waitFor(/WARNING: SSH would be reachable from 1,073,807,360 IPv4 addresses[\s\S]*Are these settings correct\? \(y\/N\)/);
      t.press('Enter');
      for (const prompt of [/\? Host name/, /\? Address/, /\? IP address/, /\? Prefix length/, /\? Gateway/, /\? DNS servers/, /\? NTP servers/, /\? SIEM/]) {
        await prompted(t, prompt);
        t.press('Enter');
      }
      await prompted(t, /\? Admin networks/);
      t.press('Enter'); // keeps 10.9.0.0/16, 64.0.0.0/2
      await t.waitForTail(/WARNING: SSH would be reachable from 1,073,807,360 IPv4 addresses[\s\S]*\? Open SSH to these networks anyway\? \(y\/N\)/, 20_000, 6);
      t.press('Enter');
      await prompted(t, /\? Admin networks/);
      t.press(...Array<string>(60).fill('BSpace'));
      t.type('10.9.0.0/16');
      t.press('Enter');
      await t.waitFor(/Admin networks +10\.9\.0\.0\/16 +\(SSH[\s\S]*Are these settings correct\? \(Y\/n\)/);
    } finally {
      t.close();
    }
  });
});
