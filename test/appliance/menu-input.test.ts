// Input at the admin menu as an administrator types and pastes it, in a real pseudo-terminal against
// a real helper (issue 11): what the screen shows as chosen is what runs; pasting repeatedly echoes
// once; a reboot is reported as a reboot; every form starts from the current values and checks each
// field as it is entered; the password change asks for the current password and refuses known ones;
// ports without a service are not opened; a revocation names the serial and issue date.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MENU_OPTIONS } from '../../appliance/menu/options/index.js';
import { pkiPaths, readCrlInfo } from '../../server/index.js';
import { Terminal } from '../support/terminal.js';
import { ADMIN_PASSWORD, AdminSandbox, KEYHAVEN } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start();
});
after(async () => {
  await box?.stop();
});

const openMenu = (env: Record<string, string> = {}) => Menu.open(box.socket, env);

/** The echoes of the choices made at the main menu ("✔ Main menu <label>"), in order. */
const choices = (screen: string): string[] => [...screen.matchAll(/✔ Main menu (.*)\n/g)].map((c) => c[1]!);
/** The echo of the last choice made at the main menu. */
const lastChoice = (screen: string): string | undefined => choices(screen).at(-1);

/**
 * A sentinel: Status chosen and its screen shown, back at the main menu. Keys are read in order, so
 * whatever keys sent before it could still do has been done once its screen is there.
 */
async function sentinel(m: Menu): Promise<string> {
  await m.choose('Status');
  await m.expect(/Status of /);
  await m.atMainMenu();
  return m.history();
}

/** Waits for the "Open or close it?" question and returns the answer it highlights first. */
async function openOrCloseHighlight(m: Menu): Promise<string | undefined> {
  const screen = await m.expect(/\? Open or close it\?[^❯]*❯ (Open|Close)/);
  return /❯ (Open|Close)/.exec(screen.slice(screen.lastIndexOf('? Open or close it?')))?.[1];
}

describe('the main menu runs what it shows', () => {
  test('a pasted "10" and Enter runs nothing: typed text is not a choice', async () => {
    const m = await openMenu();
    try {
      await m.atMainMenu();
      m.type('10\r');
      await m.expect(/Typed text is not a choice/, 5_000);
      await m.atMainMenu();
      assert.equal(lastChoice(m.history()), undefined, 'no entry ran');
      // The arrow keys and Enter still choose, and only what is highlighted.
      m.press('Enter');
      await m.expect(/Status of /);
      assert.equal(lastChoice(m.history()), 'Status');
    } finally {
      m.close();
    }
  });

  test('keys that arrive with the Enter that chose an entry neither change the echo nor run later', async () => {
    const m = await openMenu();
    try {
      await m.atMainMenu();
      m.type('\r10\r'); // one write: Enter on Status, then "10" and Enter typed ahead
      await m.expect(/Status of /);
      await m.atMainMenu();
      assert.equal(lastChoice(m.history()), 'Status', 'the echo names the entry that ran');
      // Status again: the keys typed ahead were read before it, so what they did shows by now.
      const screen = await sentinel(m);
      assert.doesNotMatch(screen, /✔ Main menu Change the admin password|Current admin password/);
      assert.deepEqual(choices(screen), ['Status', 'Status'], 'nothing ran between the first Status and the sentinel');
      assert.equal((screen.match(/Status of /g) ?? []).length, 2, 'nothing else ran');
    } finally {
      m.close();
    }
  });
});

describe('pasting', () => {
  test('the fifth paste into "Sign a CSR" echoes each character once', async () => {
    const m = await openMenu();
    try {
      for (let i = 1; i <= 5; i++) {
        await m.choose('Sign a certificate request (CSR)');
        await m.expect(/Paste the CSR/);
        m.type(`-----BEGIN CERTIFICATE REQUEST-----\rpaste${i}line\r-----END CERTIFICATE REQUEST-----\r`);
        await m.expect(/Refused: /);
      }
      await m.atMainMenu();
      const screen = m.history();
      for (let i = 1; i <= 5; i++) assert.equal(screen.match(new RegExp(`^paste${i}line$`, 'gm'))?.length, 1, `paste ${i} echoed once`);
      assert.doesNotMatch(screen, /ppaa|--+BBEEGG/, 'no character echoed twice');
      // Typing at the main menu after the pastes echoes nothing from a leftover line reader. The menu
      // shows that it read the keys (its typed-text hint), and Down moves the highlight after them.
      m.type('zz');
      await m.expect(/Typed text is not a choice/);
      m.press('Down');
      await m.expect(new RegExp(`❯ ${MENU_OPTIONS[1]!.label}`));
      assert.doesNotMatch(m.t.screen(0), /zz/);
      assert.doesNotMatch(m.history(), /zz/);
    } finally {
      m.close();
    }
  });
});

describe('reboot and shut down', () => {
  test('Reboot says it reboots: the helper answers before the system goes down', async () => {
    const m = await openMenu();
    try {
      for (const [label, confirm, said] of [
        ['Reboot', /\? Reboot the appliance now\?/, /The appliance is rebooting/],
        ['Shut down', /\? Shut the appliance down\?/, /The appliance is shutting down/],
      ] as const) {
        await m.choose(label);
        await m.expect(confirm);
        m.enter('y');
        await m.expect(said);
        await m.atMainMenu();
      }
      assert.doesNotMatch(m.history(), /Something went wrong|gave no answer|Failed:/);
    } finally {
      m.close();
    }
    const cmds = box.commands().map((c) => c.join(' '));
    assert.ok(cmds.includes('/usr/bin/systemctl --no-block reboot'), cmds.join('\n'));
    assert.ok(cmds.includes('/usr/bin/systemctl --no-block poweroff'), cmds.join('\n'));
  });

  test('a helper that goes away or is not there: the message names nothing admin cannot run', async () => {
    const dir = box.root;
    const silent = join(dir, 'silent.sock');
    const server: Server = createServer((c) => c.end()).listen(silent);
    try {
      // What each names instead: the audit log and Status, or a restart from vSphere and the console.
      for (const [socket, advice] of [
        [silent, /the administration helper gave no answer: whether it acted is in the audit log \(View recent audit records\); Status shows the services/],
        [join(dir, 'missing.sock'), /cannot reach the administration helper at \S*missing\.sock \(ENOENT\): the administration service is not running; restart the appliance from vSphere \(the VM console shows its boot\)/],
      ] as const) {
        const m = await Menu.open(socket);
        try {
          await m.choose('Status');
          const screen = await m.expect(/(gave no answer|cannot reach the administration helper)[^\n]*\n/);
          // What was said after the echo of the choice (the echo itself names Status).
          const echo = '✔ Main menu Status\n';
          const said = screen.slice(screen.lastIndexOf(echo) + echo.length);
          assert.doesNotMatch(said, /journalctl|systemctl/, said);
          assert.match(said, advice, said);
          await m.atMainMenu();
        } finally {
          m.close();
        }
      }
    } finally {
      server.close();
    }
  });
});

describe('forms start from the current values', () => {
  test('Network settings: Enter through a static configuration keeps it static, and applies nothing', async () => {
    const set = await box.call('network.set', { hostname: 'kms01', address: { mode: 'static', address: '10.20.0.5', prefix: 24, gateway: '10.20.0.1' }, dnsServers: ['10.20.0.53'] });
    assert.ok(set.ok, JSON.stringify(set));
    const applied = async () => {
      const tail = await box.call('audit.tail', { count: 200 });
      assert.ok(tail.ok, JSON.stringify(tail));
      return (tail.result as { admin: { operation: string }[] }).admin.filter((r) => r.operation === 'Set Network Settings').length;
    };
    const before = await applied();
    assert.ok(before >= 1, 'the helper audits Set Network Settings');
    const m = await openMenu();
    try {
      await m.choose('Network settings');
      await m.expect(/\? Host name/);
      m.enter();
      await m.expect(/❯ Static address/);
      m.enter();
      await m.expect(/\? IP address/);
      m.enter();
      await m.expect(/\? Prefix length/);
      m.enter();
      await m.expect(/\? Gateway/);
      m.enter();
      await m.expect(/\? DNS servers/);
      m.enter();
      await m.expect(/Nothing to change \(in use now: host kms01, 10\.20\.0\.5\/24 via 10\.20\.0\.1, DNS 10\.20\.0\.53\)\./);
      await m.atMainMenu();
      assert.doesNotMatch(m.history(), /Apply these network settings now|Done:/);
      assert.equal(await applied(), before, 'the helper was not asked to apply anything');
      // One value changed is applied.
      await m.choose('Network settings');
      await m.expect(/\? Host name/);
      m.press(...Array<string>(10).fill('BSpace'));
      m.enter('kms02');
      for (const q of [/❯ Static address/, /\? IP address/, /\? Prefix length/, /\? Gateway/, /\? DNS servers/]) {
        await m.expect(q);
        m.enter();
      }
      await m.expect(/\? Apply these network settings now\?/);
      m.enter();
      await m.expect(/Done: host kms02, 10\.20\.0\.5\/24 via 10\.20\.0\.1, DNS 10\.20\.0\.53\./);
      await m.atMainMenu();
      assert.equal(await applied(), before + 1);
    } finally {
      m.close();
    }
  });

  test('Ports: the open/close question starts on the current state', async () => {
    // SSH is closed in a new sandbox; then opened through the helper (to an admin network), and
    // closed again afterwards.
    try {
      for (const [state, highlighted] of [
        ['closed', 'Close'],
        ['open to 10.8.0.0/24', 'Open'],
      ] as const) {
        if (state !== 'closed') {
          const networks = await box.call('admin-networks.set', { networks: ['10.8.0.0/24'] });
          assert.ok(networks.ok, JSON.stringify(networks));
          const opened = await box.call('access.set', { service: 'ssh', enabled: true });
          assert.ok(opened.ok, JSON.stringify(opened));
        }
        const m = await openMenu();
        try {
          await m.choose('Open or close SSH and optional ports');
          const ports = await m.expect(/\? Which port\?/);
          assert.match(ports.slice(ports.lastIndexOf('? Which port?')), new RegExp(`❯ SSH admin menu \\(22/tcp\\) — ${state.replace(/[./]/g, '\\$&')}\n`));
          m.enter(); // SSH
          assert.equal(await openOrCloseHighlight(m), highlighted, `SSH ${state}`);
          m.press('C-c');
          await m.atMainMenu();
        } finally {
          m.close();
        }
      }
    } finally {
      const closed = await box.call('access.set', { service: 'ssh', enabled: false });
      assert.ok(closed.ok, JSON.stringify(closed));
    }
  });
});

describe('Issue a client certificate checks each field as it is entered', () => {
  test('an invalid DNS name is refused at once, with the PKI rule', async () => {
    const m = await openMenu();
    try {
      await m.choose('Issue a client certificate');
      await m.expect(/\? For which client\?/);
      m.press('Down', 'Down', 'Down', 'Enter'); // an application
      await m.expect(/\? Name/);
      m.enter('bad name');
      await m.expect(/> client name 'bad name' is not valid/);
      m.press(...Array<string>(8).fill('BSpace'));
      m.enter('field-check');
      await m.expect(/\? DNS names/);
      m.enter('app.example.com, bad_host!.example.com');
      await m.expect(/> DNS name 'bad_host!\.example\.com' is not a valid host name/);
      assert.doesNotMatch(m.history(), /How do you want to copy it/);
      m.press('C-c');
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });
});

describe('Change the admin password', () => {
  test('the current password is checked by the helper; known and reused passwords are refused', async () => {
    const input = join(box.root, 'chpasswd.input');
    const m = await openMenu();
    try {
      await m.choose('Change the admin password');
      await m.expect(/\? Current admin password/);
      m.enter('Not-The-Current-Passphrase-1');
      await m.expect(/\? New admin password/);
      m.enter('correct horse battery staple');
      await m.expect(/> .*(common|known|breached)/);
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('Fresh-Orbit-Lantern-73');
      await m.expect(/\? Repeat the new password/);
      m.enter('Fresh-Orbit-Lantern-73');
      await m.expect(/Refused: the current password is wrong/);
      await m.atMainMenu();
      assert.equal(existsSync(input), false, 'chpasswd never ran');

      await m.choose('Change the admin password');
      await m.expect(/\? Current admin password/);
      m.enter(ADMIN_PASSWORD);
      await m.expect(/\? New admin password/);
      m.enter(ADMIN_PASSWORD);
      await m.expect(/> .*same as the current/);
      m.press(...Array<string>(40).fill('BSpace'));
      m.enter('Fresh-Orbit-Lantern-73');
      await m.expect(/\? Repeat the new password/);
      m.enter('Fresh-Orbit-Lantern-73');
      await m.expect(/Done: changed the admin password/);
      await m.atMainMenu();
      assert.equal(readFileSync(input, 'utf8'), 'admin:Fresh-Orbit-Lantern-73\n');
    } finally {
      m.close();
    }
    // The helper refuses on its own too: a wrong current password, reuse, a known phrase.
    const refusedWith = async (params: Record<string, string>, why: RegExp) => {
      const r = await box.call('account.set-password', params);
      assert.ok(!r.ok && why.test(r.message), JSON.stringify(r));
    };
    await refusedWith({ current: ADMIN_PASSWORD, password: 'Another-Orbit-Lantern-74' }, /current password is wrong/);
    await refusedWith({ current: 'Fresh-Orbit-Lantern-73', password: 'Fresh-Orbit-Lantern-73' }, /same as the current/);
    await refusedWith({ current: 'Fresh-Orbit-Lantern-73', password: 'Correct-Horse-Battery-Staple' }, /common|known|breached/);
    const tail = await box.call('audit.tail', { count: 200 });
    assert.ok(tail.ok);
    const records = (tail.result as { admin: { operation: string; result: string; reason: string }[] }).admin.filter((r) => r.operation === 'Change Admin Password');
    assert.ok(records.filter((r) => r.result === 'failure' && /current password is wrong/.test(r.reason)).length >= 2, 'wrong current passwords are audited');
  });

  test('repeated wrong current passwords lock the change for a while', async () => {
    const sb = await AdminSandbox.start({ withPki: false });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await sb.call('account.set-password', { current: `Wrong-Guess-Number-${i}x`, password: 'Fresh-Orbit-Lantern-73' });
        assert.ok(!r.ok && /current password is wrong/.test(r.message), JSON.stringify(r));
      }
      const locked = await sb.call('account.set-password', { current: ADMIN_PASSWORD, password: 'Fresh-Orbit-Lantern-73' });
      assert.ok(!locked.ok && /too many wrong/.test(locked.message), JSON.stringify(locked));
      assert.equal(existsSync(join(sb.root, 'chpasswd.input')), false);
    } finally {
      await sb.stop();
    }
  });
});

describe('the first-boot wizard applies the same password policy', () => {
  test('a known passphrase is refused at the console too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-menu-input-'));
    const settings = join(dir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ hostname: 'kms02', network: { ntpServers: ['10.1.2.123'], adminNetworks: ['10.9.0.0/16'] } }));
    mkdirSync(join(dir, 'root'));
    const t = Terminal.start([process.execPath, KEYHAVEN, 'appliance', 'first-boot', '--tty', 'tty1', '--sandbox', join(dir, 'root'), '--settings', settings]);
    try {
      await t.waitFor(/Are these settings correct\?/);
      t.press('Enter');
      await t.waitFor(/\? New admin password/);
      t.type('Correct Horse Battery Staple');
      t.press('Enter');
      await t.waitForTail(/> This is a well-known published passphrase/);
    } finally {
      t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ports without a service', () => {
  test('6001 and 3886 are listed as having no service and are not opened; Enter through a closed port applies nothing', async () => {
    const portChanges = async () => {
      const tail = await box.call('audit.tail', { count: 200 });
      assert.ok(tail.ok, JSON.stringify(tail));
      return (tail.result as { admin: { operation: string }[] }).admin.filter((r) => r.operation === 'Open or Close Port').length;
    };
    const m = await openMenu();
    try {
      await m.choose('Open or close SSH and optional ports');
      const screen = await m.expect(/\? Which port\?/);
      assert.match(screen, /key management \(6001\/tcp\) — closed; no service on this port yet/);
      assert.match(screen, /web management \(3886\/tcp\) — closed; no service on this port yet/);
      m.press('Down', 'Enter');
      await m.expect(/\? Open or close it\?/);
      m.press('Up', 'Enter'); // Open
      await m.expect(/Refused: no service on port 6001 yet/);
      await m.atMainMenu();

      await m.choose('Open or close SSH and optional ports');
      await m.expect(/\? Which port\?/);
      m.press('Down', 'Down', 'Enter');
      assert.equal(await openOrCloseHighlight(m), 'Close', 'web management is closed');
      const before = await portChanges();
      m.enter();
      await m.expect(/Nothing to change \(in use now: web management \(3886\/tcp\) closed\)/);
      await m.atMainMenu();
      // SSH, closed in a new sandbox: the same.
      await m.choose('Open or close SSH and optional ports');
      await m.expect(/\? Which port\?/);
      m.enter();
      assert.equal(await openOrCloseHighlight(m), 'Close');
      m.enter();
      await m.expect(/Nothing to change \(in use now: SSH admin menu \(22\/tcp\) closed\)/);
      await m.atMainMenu();
      assert.equal(await portChanges(), before, 'the helper was not asked to apply anything');
    } finally {
      m.close();
    }
    const r = await box.call('access.set', { service: 'keyManagement', enabled: true, networks: ['10.0.8.0/24'] });
    assert.ok(!r.ok && /no service on port 6001 yet/.test(r.message), JSON.stringify(r));
  });
});

describe('revoking a client certificate', () => {
  test('two certificates with one subject: the list and the confirmation name serial and issue date', async () => {
    const first = await box.call('pki.issue-client', { name: 'twin', purpose: 'application' });
    assert.ok(first.ok, JSON.stringify(first));
    const second = await box.call('pki.issue-client', { name: 'twin', purpose: 'application', reissue: true });
    assert.ok(second.ok, JSON.stringify(second));
    const issued = (r: typeof first) => {
      const c = r.ok ? (r.result as { serial: string; certPem: string }) : assert.fail('not issued');
      return { serial: c.serial, notBefore: new Date(new X509Certificate(c.certPem).validFrom).toISOString() };
    };
    const a = issued(first);
    const b = issued(second);
    const m = await openMenu();
    try {
      await m.choose('Revoke a client certificate');
      const list = await m.expect(/\? Which certificate\?/);
      for (const c of [a, b]) assert.match(list, new RegExp(`CN=twin,O=Keyhaven +\\(serial ${c.serial}, issued ${c.notBefore.slice(0, 10)}`));
      // The second (newer) one, found by its serial.
      const rows = list.slice(list.lastIndexOf('? Which certificate?')).split('\n').filter((l) => /serial /.test(l));
      const at = rows.findIndex((l) => l.includes(b.serial));
      m.press(...Array<string>(at).fill('Down'), 'Enter');
      await m.expect(/\? Reason/);
      m.enter();
      const confirm = await m.expect(/\? Revoke CN=twin.*\(y\/N\)/);
      assert.match(confirm, new RegExp(`Revoke CN=twin,O=Keyhaven \\(serial ${b.serial}, issued ${b.notBefore.slice(0, 10)}\\)`));
      assert.match(confirm, new RegExp(`serial ${a.serial}.*same subject.*stays valid`));
      m.enter('y');
      await m.expect(new RegExp(`now lists serial ${b.serial}`));
      await m.atMainMenu();
    } finally {
      m.close();
    }
    const crl = readCrlInfo(readFileSync(pkiPaths(box.paths.dataDir).crl, 'utf8'));
    assert.ok(crl.serials.includes(b.serial) && !crl.serials.includes(a.serial), 'only the chosen one is revoked');
  });
});
