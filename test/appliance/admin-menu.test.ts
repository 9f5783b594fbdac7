// The admin menu driven as a person would, in a real pseudo-terminal (tmux), against a real helper on
// a temporary socket: keys that would reach a shell elsewhere (Ctrl-C, Ctrl-Z, Ctrl-\, Ctrl-D,
// typed commands) never do; every form refuses bad input with a message that says why; a bundle is
// issued and copied off the screen; a revocation reaches the CRL; everything is in the audit log.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MENU_OPTIONS } from '../../appliance/menu/options/index.js';
import { CLIENT_AUTH_OID, extKeyUsage, pkiPaths, readCrlInfo } from '../../server/index.js';
import { AdminSandbox, KEYHAVEN } from './helpers/admin-sandbox.js';
import { Menu } from './helpers/menu-driver.js';

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start();
});
after(async () => {
  await box?.stop();
});

const SHELL_PROOF = 'PWNED$((6*7))';
const SHELL_RAN = /PWNED42/;

/** The menu on this file's helper. */
const openMenu = (env: Record<string, string> = {}): Promise<Menu> => Menu.open(box.socket, env);

describe('the menu never gives a shell', () => {
  test('Ctrl-C, Ctrl-Z, Ctrl-\\ and typed commands at the main menu and inside an entry', async () => {
    const m = await openMenu();
    try {
      m.press('C-c', 'C-z', 'C-\\');
      await new Promise((r) => setTimeout(r, 500));
      m.type(`echo ${SHELL_PROOF}; /bin/sh -c 'echo ${SHELL_PROOF}'`);
      await new Promise((r) => setTimeout(r, 500));
      m.press('C-c');
      await m.atMainMenu();
      m.enter('exit; /bin/bash'); // typed text is no choice: Enter after it runs nothing
      await m.expect(/Typed text is not a choice/);
      m.press('Enter'); // then Enter chooses the highlighted entry (Status)
      await m.expect(/Status of keyhaven/);
      await m.atMainMenu();

      await m.choose('NTP servers');
      await m.expect(/\? NTP servers/);
      m.press('C-z', 'C-\\');
      m.type(`$(echo ${SHELL_PROOF})`);
      m.press('C-c');
      await m.expect(/Cancelled: back to the main menu/);
      await m.atMainMenu();

      await m.choose('Change the admin password');
      await m.expect(/\? Current admin password/);
      m.press('C-d');
      await m.expect(/Cancelled: back to the main menu/);
      await m.atMainMenu();
      assert.doesNotMatch(m.history(), SHELL_RAN);

      // Ctrl-D at the main menu ends the session: the process exits, nothing runs after it.
      m.press('C-d');
      await m.expect(/Logged out\./);
      assert.equal(await m.t.exitStatus(), 0);
      assert.doesNotMatch(m.history(), SHELL_RAN);
    } finally {
      m.close();
    }
  });

  test('"Log out" ends the session; so do 2 idle seconds (the appliance waits 15 minutes)', async () => {
    const m = await openMenu();
    try {
      m.press(...Array<string>(MENU_OPTIONS.length).fill('Down'), 'Enter'); // the last entry
      await m.expect(/Logged out\./);
      assert.equal(await m.t.exitStatus(), 0);
    } finally {
      m.close();
    }
    const idle = await openMenu({ KEYHAVEN_MENU_IDLE_SECONDS: '2' });
    try {
      await idle.expect(/Logged out after \d+ minutes without input/, 10_000);
      assert.equal(await idle.t.exitStatus(), 0);
    } finally {
      idle.close();
    }
  });

  test('without a terminal (ssh host command) it refuses and exits', () => {
    const r = spawnSync(process.execPath, [KEYHAVEN, 'menu'], { input: `echo ${SHELL_PROOF}\n`, encoding: 'utf8', env: { ...process.env, KEYHAVEN_ADMIN_SOCKET: box.socket } });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /needs a terminal/);
    assert.doesNotMatch(r.stdout + r.stderr, SHELL_RAN);
  });
});

describe('every form refuses bad input and says why', () => {
  test('bad IP, bad CIDR, port out of range, weak and mismatched passwords, bad SSH key, bad CSR', async () => {
    const m = await openMenu();
    try {
      await m.choose('NTP servers');
      m.enter('192.0.2.1, 10.0.0.300');
      await m.expect(/> network\.ntpServers\[1\]: "10\.0\.0\.300" is not an IPv4 or IPv6 address/);
      m.press('C-c');
      await m.atMainMenu();

      await m.choose('Admin networks');
      m.enter('10.0.0.0/33');
      await m.expect(/> network\.adminNetworks\[0\]: .*10\.0\.0\.0\/33/);
      m.press('C-c');
      await m.atMainMenu();

      await m.choose('Syslog / SIEM destinations');
      m.enter('192.0.2.10:70000');
      await m.expect(/> "192\.0\.2\.10:70000": port 70000 is out of range \(1-65535\)/);
      m.press(...Array<string>(5).fill('BSpace'));
      m.enter('1514');
      await m.expect(/> "192\.0\.2\.10:1514": the appliance sends syslog to port 514 only/);
      m.press('C-c');
      await m.atMainMenu();

      await m.choose('Change the admin password');
      await m.expect(/\? Current admin password/);
      m.enter('not checked before the end');
      await m.expect(/\? New admin password/);
      m.enter('keyhaven2024');
      await m.expect(/> Use at least 15 characters \(this has 12\)/);
      m.press(...Array<string>(12).fill('BSpace'));
      m.enter('Correct-Horse-Battery-7');
      await m.expect(/\? Repeat the new password/);
      m.enter('Correct-Horse-Battery-8');
      await m.expect(/The two passwords differ: the password was not changed/);
      await m.atMainMenu();

      await m.choose('SSH keys for admin');
      await m.expect(/\? What do you want to do\?/);
      m.enter();
      await m.expect(/\? Public key/);
      m.enter('ssh-dss AAAAB3NzaC1kc3MAAACBAP');
      await m.expect(/> ssh-dss keys are not accepted\. Paste a public key of type ssh-ed25519/);
      m.press('C-c');
      await m.atMainMenu();

      await m.choose('Sign a certificate request (CSR)');
      await m.expect(/Paste the CSR/);
      m.enter('-----BEGIN CERTIFICATE REQUEST-----');
      m.enter('bm90IGEgcmVxdWVzdA==');
      m.enter('-----END CERTIFICATE REQUEST-----');
      await m.expect(/Refused: .*\nNothing was changed\./);
      await m.atMainMenu();
      assert.doesNotMatch(m.history(), SHELL_RAN);
      assert.equal(existsSync(box.paths.settings), false, 'nothing refused was saved');
    } finally {
      m.close();
    }
  });
});

/** The text between the menu's BEGIN/END markers for `title`, as the administrator would copy it. */
function copyBlock(screen: string, title: string): string {
  const m = new RegExp(`===== BEGIN ${title.replace(/\./g, '\\.')} =====\\n([\\s\\S]*?)\\n===== END ${title.replace(/\./g, '\\.')} =====`).exec(screen);
  assert.ok(m, `no ${title} block on the screen`);
  return `${m[1]!}\n`;
}

describe('certificates through the menu', () => {
  test('issue a vCenter bundle, copy it off the screen, then revoke it: it is in the CRL; all of it audited', async () => {
    const m = await openMenu();
    try {
      await m.choose('NTP servers');
      m.enter('192.0.2.123');
      await m.expect(/\? Apply these NTP servers now\?/);
      m.enter();
      await m.expect(/Done: NTP servers 192\.0\.2\.123\./);
      await m.atMainMenu();

      await m.choose('Issue a client certificate');
      m.enter(); // vCenter
      await m.expect(/\? Name/);
      m.enter(); // default "vcenter"
      await m.expect(/\? DNS names/);
      m.enter('vcenter.example.com');
      await m.expect(/\? How do you want to copy it\?/);
      m.press('Down');
      m.press('Down');
      await m.expect(/❯ Both/);
      m.press('Enter');
      await m.expect(/\? Password for the PKCS#12 bundle/);
      m.enter('p12-password-99');
      await m.expect(/\? Repeat the bundle password/);
      m.enter('p12-password-99');
      await m.expect(/Done: issued client certificate 'vcenter'/, 60_000);
      await m.atMainMenu();
      const screen = m.history();
      const cert = new X509Certificate(copyBlock(screen, 'vcenter.crt'));
      const ca = new X509Certificate(copyBlock(screen, 'keyhaven-ca.crt'));
      assert.ok(cert.verify(ca.publicKey), 'the copied certificate chains to the copied CA');
      assert.equal(ca.fingerprint256, new X509Certificate(readFileSync(pkiPaths(box.paths.dataDir).caCert)).fingerprint256);
      assert.deepEqual(extKeyUsage(cert), [CLIENT_AUTH_OID]);
      const key = copyBlock(screen, 'vcenter.key');
      assert.equal(execFileSync('openssl', ['pkey', '-pubout'], { input: key, encoding: 'utf8' }), cert.publicKey.export({ type: 'spki', format: 'pem' }));
      // The PKCS#12 as the administrator decodes it on a workstation: base64 -d, then open it.
      assert.match(screen, /base64 -d vcenter\.p12\.b64 > vcenter\.p12/);
      const p12 = join(box.root, 'copied.p12');
      execFileSync('sh', ['-c', `base64 -d > '${p12}'`], { input: copyBlock(screen, 'vcenter.p12.b64') });
      assert.match(execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:p12-password-99', '-nokeys', '-clcerts'], { encoding: 'utf8' }), /subject=.*CN = vcenter/);

      await m.choose('Revoke a client certificate');
      await m.expect(/\? Which certificate\?/);
      m.enter();
      await m.expect(/\? Reason/);
      m.enter(); // key compromised
      await m.expect(/\? Revoke CN=vcenter/);
      m.enter('y');
      await m.expect(/The CRL \(number \d+\) now lists serial [0-9a-f]+/);
      await m.atMainMenu();
      const crl = readCrlInfo(readFileSync(pkiPaths(box.paths.dataDir).crl, 'utf8'));
      assert.ok(crl.serials.includes(cert.serialNumber.toLowerCase()), 'the revoked serial is in the CRL');

      await m.choose('Verify the audit logs');
      await m.expect(/Administration audit log: intact \(\d+ records, chain and sealed head verified\)/);
      await m.atMainMenu();
      await m.choose('View recent audit records');
      m.enter();
      await m.expect(/Administration audit log \(menu and helper\)(.*\n)*.*Revoke Certificate.*success/);
      await m.atMainMenu();
    } finally {
      m.close();
    }
    // Each change is recorded (from the console: no SSH_CONNECTION), and the chain verifies.
    const tail = await box.call('audit.tail', { count: 100 });
    assert.ok(tail.ok);
    const records = (tail.result as { admin: { operation: string; address: string; result: string }[] }).admin;
    for (const op of ['Set NTP Servers', 'Issue Client Certificate', 'Revoke Certificate']) {
      assert.ok(records.some((r) => r.operation === op && r.result === 'success' && r.address === 'console'), `${op} recorded`);
    }
    const verified = await box.call('audit.verify');
    assert.ok(verified.ok && (verified.result as { admin: { ok: boolean } }).admin.ok);
  });
});

describe('a certificate for an identity in use', () => {
  const pasteCsr = (m: Menu, pem: string) => {
    for (const line of pem.trim().split('\n')) m.enter(line);
  };

  test('a CSR shows what it will carry; a subject in use needs an explicit yes (default No) and is recorded as a re-issue', async () => {
    const key = join(box.root, 'menu-csr.key');
    const request = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=menu-app/O=Example', '-addext', 'subjectAltName=DNS:menu-app.example.com,DNS:*.example.com'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let first = '';
    const m = await openMenu();
    try {
      await m.choose('Sign a certificate request (CSR)');
      await m.expect(/Paste the CSR/);
      pasteCsr(m, request);
      await m.expect(/The certificate will carry:\n +Subject +CN=menu-app,O=Example\n +Names \(SANs\) +DNS:menu-app\.example\.com\n +Left out .*\n +DNS:\*\.example\.com \(wildcard DNS name/);
      await m.expect(/\? Sign this certificate request\? \(Y\/n\)/);
      m.enter(); // yes is the default when nothing is in use
      first = /Done: signed a CSR for CN=menu-app,O=Example, serial ([0-9a-f]+)/.exec(await m.expect(/Done: signed a CSR for CN=menu-app,O=Example, serial [0-9a-f]+/, 60_000))![1]!;
      await m.atMainMenu();

      // The same request again: the certificate in use is named, and Enter (No) signs nothing.
      await m.choose('Sign a certificate request (CSR)');
      await m.expect(/Paste the CSR/);
      pasteCsr(m, request);
      await m.expect(new RegExp(`WARNING: the client certificate 'menu-app' \\(serial ${first}, valid until \\d{4}-\\d\\d-\\d\\d\\) already has the subject\\n +CN=menu-app,O=Example\\n.*can read and use\\n.*every key that client owns`));
      await m.expect(new RegExp(`\\? Make a second certificate for this identity \\(re-issue of serial ${first}\\)\\? \\(y/N\\)`));
      m.enter();
      await m.expect(/Nothing was signed\./);
      await m.atMainMenu();

      await m.choose('Sign a certificate request (CSR)');
      await m.expect(/Paste the CSR/);
      pasteCsr(m, request);
      await m.expect(/\? Make a second certificate for this identity/);
      m.enter('y');
      await m.expect(new RegExp(`Re-issue of serial ${first}: revoke it once the client uses this certificate\\.[\\s\\S]*Done: re-issued a CSR for CN=menu-app,O=Example, serial [0-9a-f]+.*\\(re-issue of serial ${first}`), 60_000);
      await m.atMainMenu();
    } finally {
      m.close();
    }
    const tail = await box.call('audit.tail', { count: 500 });
    assert.ok(tail.ok);
    const signs = (tail.result as { admin: { operation: string; reason: string }[] }).admin.filter((r) => r.operation === 'Sign CSR' && r.reason.includes('CN=menu-app'));
    assert.equal(signs.length, 2, 'signed once, re-issued once; the declined one signed nothing');
    assert.match(signs[1]!.reason, new RegExp(`^re-issued .*\\(re-issue of serial ${first}`));
  });

  test('issuing under a name in use says so; No issues nothing, yes re-issues', async () => {
    const issue = async (m: Menu) => {
      await m.choose('Issue a client certificate');
      await m.expect(/\? For which client\?/);
      m.press('Down', 'Down', 'Down', 'Enter'); // an application
      await m.expect(/\? Name/);
      m.enter('menu-client');
    };
    const m = await openMenu();
    try {
      await issue(m);
      await m.expect(/\? DNS names/);
      m.enter();
      await m.expect(/\? How do you want to copy it\?/);
      m.enter(); // PEM
      const first = /Done: issued client certificate 'menu-client' for an application: CN=menu-client,O=Keyhaven, serial ([0-9a-f]+)/.exec(await m.expect(/Done: issued client certificate 'menu-client'.*serial [0-9a-f]+/, 60_000))![1]!;
      await m.atMainMenu();

      await issue(m);
      await m.expect(new RegExp(`WARNING: the client certificate 'menu-client' \\(serial ${first}, valid until \\d{4}-\\d\\d-\\d\\d\\) already has the subject\\n +CN=menu-client,O=Keyhaven`));
      await m.expect(/\(y\/N\)/);
      m.enter();
      await m.expect(/Nothing was issued\./);
      await m.atMainMenu();

      await issue(m);
      await m.expect(/\(y\/N\)/);
      m.enter('y');
      await m.expect(/\? DNS names/);
      m.enter();
      await m.expect(/\? How do you want to copy it\?/);
      m.enter();
      await m.expect(new RegExp(`Done: re-issued client certificate 'menu-client'.*\\(re-issue of serial ${first}`), 60_000);
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });
});

describe('a static address is checked field by field', () => {
  test('the address and prefix are not refused for the gateway asked after them; the gateway then is', async () => {
    const m = await openMenu();
    try {
      await m.choose('Network settings');
      await m.expect(/\? Host name/);
      m.enter();
      await m.expect(/\? Address/);
      m.press('Down', 'Enter'); // Static address
      await m.expect(/\? IP address/);
      m.enter('127.0.0.9');
      await m.expect(/> address\.address: "127\.0\.0\.9" is a loopback address, which cannot be a static address/);
      m.press(...Array<string>(9).fill('BSpace'));
      m.enter('10.20.0.5');
      await m.expect(/\? Prefix length/);
      m.press(...Array<string>(4).fill('BSpace'));
      m.enter('24');
      await m.expect(/\? Gateway/);
      m.enter('10.30.0.1');
      await m.expect(/> address\.gateway: "10\.30\.0\.1" is not in the appliance's network 10\.20\.0\.0\/24/);
      m.press(...Array<string>(9).fill('BSpace'));
      m.enter('10.20.0.1');
      await m.expect(/\? DNS servers/);
      m.enter('10.20.0.53');
      await m.expect(/\? Apply these network settings now\?/);
      m.enter();
      await m.expect(/Done: host keyhaven, 10\.20\.0\.5\/24 via 10\.20\.0\.1, DNS 10\.20\.0\.53\./);
      await m.atMainMenu();
    } finally {
      m.close();
    }
  });
});
