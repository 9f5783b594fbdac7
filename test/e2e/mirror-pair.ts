// End to end, two appliances mirroring (issue 13), run by ova-boot.test.ts on the OVA it built: A and B
// booted from the OVA on one network with the host; A's first boot founds a group; from A's SSH menu
// the administrator issues a client certificate and, with B's address, a join token; B's first-boot
// wizard joins with it (the CA fingerprint it shows is the one A's menu showed). Then, through the
// appliances' firewalls: a key created on A (KMIP 6000, A's client certificate) is read on B; A's menu
// shows B connected; 6002 does not answer the host (not a peer); A powered off, B still serves the key
// and takes a new one; A powered on again, that key reaches A. Timings are printed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCommand } from '../../appliance/build/run-command.js';
import { Enum } from '../../server/index.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { TcpCollector } from '../support/syslog-collector.js';
import { keyBytesOf, registerAes, send, uidOf } from '../store/helpers.js';
import { withUid } from '../support/requests.js';
import { bootAppliance, completeFirstBoot, guestProperties, pristineDisk, type ApplianceVm, type Guest } from './helpers/appliance-vm.js';
import { createBridge } from './helpers/bridge.js';
import { probeTcp } from './helpers/probe.js';
import { FAILED, issueClientBundle, mainMenu, plain, retry, submenu, waitFor } from './helpers/menu-steps.js';
import { sshDialog } from './helpers/ssh-session.js';

const PASSWORD = 'Keyhaven-e2e mirror pair 5Rt!';
const BOOT_DEADLINE_MS = 15 * 60_000;

export async function mirrorPair(t: TestContext, ova: string, work: string): Promise<void> {
  const net = 64 + ((process.pid + 37) % 128);
  const guest = (name: string, n: number): Guest => ({ name, hostname: `kh-${name}.example.test`, ip: `10.${net}.1.${n}`, prefix: 24, gateway: `10.${net}.1.1`, mac: `52:54:00:77:01:${n}` });
  const A = guest('a', 10);
  const B = guest('b', 11);
  const admin = `10.${net}.1.2`;
  const tapA = `khma${process.pid}`.slice(0, 15);
  const tapB = `khmb${process.pid}`.slice(0, 15);
  const network = await createBridge(`khbr${process.pid}`.slice(0, 15), `10.${net}.1.1/24`, [tapA, tapB]);
  await runCommand('ip', ['addr', 'add', `${admin}/24`, 'dev', network.bridge]);
  // The SIEM of both, for a failure's diagnosis (the guests' journals do not reach their consoles).
  const siem = await TcpCollector.listen(514, [], network.hostAddress);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const timings: string[] = [];
  const mark = (what: string) => {
    timings.push(`${at().padStart(6)}  ${what}`);
    t.diagnostic(`[${at()}] ${what}`);
  };
  const vms: ApplianceVm[] = [];
  try {
    const unpacked = join(work, 'pair-ova');
    mkdirSync(unpacked, { recursive: true });
    await runCommand('tar', ['-xf', ova, '-C', unpacked]);
    const base = await pristineDisk(join(unpacked, readdirSync(unpacked).find((f) => f.endsWith('.vmdk'))!), work);
    const props = (g: Guest) => guestProperties(g, { 'keyhaven.ntp': network.hostAddress, 'keyhaven.syslog': network.hostAddress, 'keyhaven.admin_networks': `${admin}/32` });
    // Both boot at once: B then waits in its wizard for A's token (idle, it costs the host little).
    let a = await bootAppliance({ work, base, guest: A, tap: tapA, properties: props(A), cpus: 2, boot: 1 });
    vms.push(a);
    const b = await bootAppliance({ work, base, guest: B, tap: tapB, properties: props(B), cpus: 2, boot: 1 });
    vms.push(b);

    // 1. A founds a group.
    await completeFirstBoot(a, PASSWORD, 'new', BOOT_DEADLINE_MS);
    mark('A: first boot complete (a new group)');

    // 2. A's menu: a client certificate, then Mirroring → Add a server for B's address.
    const ssh = { host: A.ip, from: admin, username: 'admin', password: PASSWORD, timeoutMs: 600_000 };
    const mirroring = (target: string) => submenu('Mirroring', ['Mirroring status', 'Add a server', 'Remove a server'], target);
    const failed = FAILED;
    await waitFor('SSH on A', 300_000, async () => (await probeTcp(A.ip, 22, 3000, admin)) === 'open');
    const files = await issueClientBundle(ssh, work);
    mark("A's menu: client certificate issued");
    const added = plain(
      await sshDialog(
        ssh,
        [
          ...mainMenu('Mirroring'),
          ...mirroring('Add a server'),
          { expect: /New server's IP address/, send: `${B.ip}\r` },
        ],
        new RegExp(`Done: issued a join token[^\\n]*\\n|${failed.source}`),
      ),
    );
    assert.doesNotMatch(added, failed);
    const token = /===== BEGIN join token =====\n(KHJ1\.[A-Za-z0-9_-]+)\n===== END join token =====/.exec(added)?.[1];
    const caFingerprint = /CA fingerprint[^\n]*\n\s+((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/.exec(added)?.[1];
    assert.ok(token && caFingerprint, `a token and the CA fingerprint in A's menu:\n${added.slice(-1500)}`);
    mark("A's menu: join token for B");

    // 3. B joins from its first-boot wizard.
    const joined = await completeFirstBoot(b, PASSWORD, { joinToken: token, caFingerprint }, BOOT_DEADLINE_MS);
    assert.match(joined, /joined the mirror group as n[0-9a-f]+/);
    assert.match(joined, /Mirroring +member of a group of 2 servers/);
    mark('B: first boot complete (joined A\'s group)');

    // 4. A key created on A through its firewall is read on B through B's.
    const kmip = async (g: Guest) => KmipTestClient.connect(6000, files, { host: g.ip, servername: g.hostname, timeout: 10_000 });
    const onA = await retry('KMIP on A', 120_000, () => kmip(A));
    const secret = randomBytes(32);
    const first = uidOf(await send(onA, [registerAes(secret)]));
    onA.socket.destroy();
    mark(`key ${first} registered on A`);
    // A connection per attempt: B's key server may start or restart meanwhile.
    const get = async (g: Guest, uid: string): Promise<Buffer | undefined> => {
      const c = await kmip(g);
      try {
        const r = await send(c, [withUid(Enum.Operation.Get, uid)]);
        return r.items[0]!.status === Enum.ResultStatus.Success ? keyBytesOf(r) : undefined;
      } finally {
        c.socket.destroy();
      }
    };
    let onB: Buffer | undefined;
    await waitFor('B serves the key made on A', 600_000, async () => (onB = await get(B, first)) !== undefined);
    assert.ok(onB!.equals(secret), 'the same key material');
    mark('B serves the key made on A');

    // 5. A's menu shows B connected; 6002 answers neither appliance from the host (not a peer).
    const connected = new RegExp(`Peer n[0-9a-f]+ at ${B.ip.replace(/\./g, '\\.')}:6002: connected since`);
    let status = '';
    await waitFor("A's menu shows B connected", 300_000, async () => {
      status = plain(await sshDialog(ssh, [...mainMenu('Mirroring'), ...mirroring('Mirroring status')], new RegExp(`Peer n[0-9a-f]+ at [^\\n]+\\n[^\\n]*\\n[^\\n]*\\n|${failed.source}`)));
      return connected.test(status);
    });
    assert.match(status, /queue \d+ changes, lag [\d.]+ s; we hear it/);
    for (const g of [A, B]) assert.equal(await probeTcp(g.ip, 6002, 3000), 'silent', `${g.name}:6002 from the host (not a member)`);
    mark("A's menu shows B connected; 6002 closed to the host");

    // 6. A powered off: B still serves the key, and takes a new one.
    await a.powerOff();
    mark('A powered off');
    const onB2 = await kmip(B);
    assert.equal((await send(onB2, [withUid(Enum.Operation.Get, first)])).items[0]!.status, Enum.ResultStatus.Success, 'B serves the key with A down');
    const secret2 = randomBytes(32);
    const second = uidOf(await send(onB2, [registerAes(secret2)]));
    onB2.socket.destroy();
    mark(`B serves the key with A down; key ${second} registered on B`);

    // 7. A back: the key made on B meanwhile reaches A.
    a = await bootAppliance({ work, base, guest: A, tap: tapA, properties: props(A), cpus: 2, boot: 2 });
    vms.push(a);
    (await retry('KMIP on A after its reboot', BOOT_DEADLINE_MS, () => kmip(A))).socket.destroy();
    mark('A powered on again: KMIP answers');
    let onA2: Buffer | undefined;
    await waitFor('A serves the key made on B while it was off', 300_000, async () => (onA2 = await get(A, second)) !== undefined);
    assert.ok(onA2!.equals(secret2), 'the same key material');
    mark('A serves the key made on B while it was off');
    t.diagnostic(`mirror pair timings (QEMU TCG, 2 vCPUs per VM on a 2-core host):\n${timings.join('\n')}`);
  } catch (err) {
    const out = join(process.cwd(), 'test-output');
    mkdirSync(out, { recursive: true });
    for (const v of vms) writeFileSync(join(out, `e2e-mirror-${v.guest.name}-console.txt`), v.serial.transcript());
    writeFileSync(join(out, 'e2e-mirror-siem.txt'), siem.messages.join('\n'));
    t.diagnostic(`timings so far:\n${timings.join('\n')}\nconsoles and SIEM messages kept in ${out}/e2e-mirror-*`);
    throw err;
  } finally {
    for (const v of vms) await v.powerOff();
    await siem.close();
    await network.remove();
  }
}

