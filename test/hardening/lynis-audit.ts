// Measures the appliance's hardening the way an auditor would: Lynis (Debian's `lynis` package, taken
// from this host) runs inside the booted image, after the appliance is up, and its report is read back.
//
//   node --import tsx test/hardening/lynis-audit.ts [--ova FILE | --raw DISK] [--out DIR] [--keep-disk]
//   npm run lynis -- …
//
// The image is never modified: the OVA's disk is converted into a work directory, a raw disk is
// copied (sparse). Into that copy go Lynis (/usr/sbin/lynis, /usr/share/lynis, /etc/lynis) and a
// oneshot unit that waits until first boot is complete and the key server listens, runs `lynis audit
// system --quick --no-colors` and powers the VM off. The VM boots under QEMU (TCG, PVSCSI disk,
// VMXNET3 on an isolated user-mode network, the OVF environment on a CD as vSphere gives it,
// -no-reboot, bounded time); the host completes the first-boot wizard on the serial console (random
// admin password), then checks through a loopback port forward that the key server answers TLS on
// 6000. Afterwards the report is read back by loop mount, the injected
// files are removed from the copy, and the hardening index, warnings and suggestions are printed.
// The report, log, Lynis output, a state dump and the serial console are kept in --out.
//
// Exit status: 0 audit ran; 1 the audit did not run (or no report); 2 usage; 3 the audit ran but the
// key server never answered on 6000 (the hardening broke the product). Needs root (loop mount).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCommand } from '../../appliance/build/run-command.js';
import { ovfEnvironmentIso } from '../e2e/helpers/ovf-env.js';
import { SerialConsole } from '../e2e/helpers/serial-console.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PARTITION_OFFSET = 1048576;
const UNIT = 'keyhaven-lynis-audit.service';
const GUEST_DIR = 'var/lib/keyhaven-lynis';
const HELPER_DIR = 'usr/local/lib/keyhaven-lynis';
/** Lynis as Debian installs it on this host: copied into the guest at the same paths. */
const LYNIS_FILES = ['usr/sbin/lynis', 'usr/share/lynis', 'etc/lynis'];
/** Everything the injection adds to the copy (removed again afterwards). */
const INJECTED = [...LYNIS_FILES, 'etc/lynis/custom.prf', `etc/systemd/system/${UNIT}`, `etc/systemd/system/multi-user.target.wants/${UNIT}`, HELPER_DIR, GUEST_DIR, 'var/log/lynis.log', 'var/log/lynis-report.dat'];

const USAGE = `usage: node --import tsx test/hardening/lynis-audit.ts [options]   (as root; apt-get install lynis)

  --ova FILE       the built OVA (default dist/keyhaven-<version>.ova)
  --raw DISK       a raw disk image instead (e.g. WORK/disk.raw of npm run ova --keep-work); copied, never modified
  --out DIR        where the report, log, console and state dump are kept (default test-output/lynis)
  --profile FILE   also load this Lynis profile (as /etc/lynis/custom.prf), e.g. test/hardening/not-applicable.prf;
                   without it Lynis runs with its default profile only
  --timeout SEC    give up on the VM after this long (default 1800)
  --keep-disk      keep the audited copy (injected files removed) in the work directory
`;

const AUDIT_SCRIPT = `#!/bin/sh
# Injected by test/hardening/lynis-audit.ts into a copy of the image: never part of the appliance.
out=/${GUEST_DIR}
mkdir -p "$out"
say() { echo "keyhaven-lynis: $*" > /dev/console; }
# The appliance as deployed: the host completes first boot on the serial console first.
say "waiting for first boot to complete"
i=0
while [ $i -lt 1800 ] && [ ! -e /var/lib/keyhaven-appliance/first-boot-complete ]; do
  sleep 1; i=$((i + 1))
done
say "waiting for the key server to listen on 6000"
i=0
while [ $i -lt 180 ]; do
  ss -Hltn 'sport = :6000' 2>/dev/null | grep -q . && break
  sleep 1; i=$((i + 1))
done
if ss -Hltn 'sport = :6000' | grep -q .; then
  echo yes > "$out/kmip-listening"
else
  echo no > "$out/kmip-listening"
  say "the key server is not listening on 6000; its journal and any AppArmor denials follow"
  { journalctl --no-pager -b -u keyhaven.service -n 40; grep -h 'apparmor="DENIED"' /var/log/audit/audit.log | tail -20; } > /dev/console 2>&1
fi
sleep 10
say "audit starting"
/usr/sbin/lynis audit system --quick --no-colors > "$out/lynis-output.txt" 2>&1
echo $? > "$out/lynis-exit"
{
  echo '## systemctl --failed'; systemctl --no-pager --failed
  echo '## running services'; systemctl --no-pager list-units --type=service --state=running
  echo '## enabled unit files'; systemctl --no-pager list-unit-files --state=enabled
  echo '## listening sockets'; ss -tulpn
  echo '## mounts'; findmnt -l 2>/dev/null || cat /proc/mounts
  echo '## set-id files'; find / -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -ls
  echo '## lsmod'; cat /proc/modules
  echo '## security'; cat /sys/kernel/security/lsm 2>/dev/null; echo
  echo '## apparmor'; aa-status 2>&1 | head -40; cat /proc/$(systemctl show -P MainPID keyhaven.service)/attr/current 2>&1
  echo '## apparmor denials'; grep -h 'apparmor="DENIED"' /var/log/audit/audit.log 2>/dev/null | head -40; journalctl --no-pager -k -g 'apparmor="DENIED"' 2>/dev/null | head -20
  echo '## audit'; auditctl -s 2>&1; auditctl -l 2>&1 | head -60
  echo '## sysctl'; sysctl kernel.kptr_restrict kernel.dmesg_restrict kernel.yama.ptrace_scope net.ipv4.conf.all.rp_filter net.ipv4.tcp_syncookies 2>&1
  echo '## shadow'; cut -d: -f1,2 /etc/shadow | sed 's/:\\(\\$[^$]*\\$\\).*/:\\1…/'
  echo '## exposure (systemd-analyze security)'; systemd-analyze security --no-pager 2>&1
  echo '## journal'; journalctl --no-pager -b -p warning
} > "$out/state.txt" 2>&1
sync
say "audit done (exit $(cat "$out/lynis-exit"))"
systemctl --no-block poweroff
`;

const UNIT_TEXT = `# Injected by test/hardening/lynis-audit.ts into a copy of the image: never part of the appliance.
# Ordered after the appliance is up (multi-user.target, the key server), not after any first-boot
# wizard. DefaultDependencies=no: otherwise multi-user.target, which wants it, would be ordered after it.
[Unit]
Description=Lynis audit of the booted appliance (test only)
DefaultDependencies=no
Requires=sysinit.target
After=sysinit.target basic.target multi-user.target keyhaven-configure.service keyhaven.service

[Service]
Type=oneshot
ExecStart=/bin/sh /${HELPER_DIR}/run.sh
TimeoutStartSec=infinity
StandardOutput=journal
`;

export interface LynisReport {
  readonly hardeningIndex: number | undefined;
  readonly testsPerformed: number | undefined;
  readonly warnings: { id: string; text: string; details: string }[];
  readonly suggestions: { id: string; text: string; details: string }[];
}

/** Parses lynis-report.dat: key=value lines, arrays as key[]=a|b|c|. */
export function parseLynisReport(text: string): LynisReport {
  const warnings: LynisReport['warnings'] = [];
  const suggestions: LynisReport['suggestions'] = [];
  let hardeningIndex: number | undefined;
  let testsPerformed: number | undefined;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0 || line.startsWith('#')) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'hardening_index') hardeningIndex = Number(value);
    else if (key === 'lynis_tests_done') testsPerformed = Number(value);
    else if (key === 'warning[]' || key === 'suggestion[]') {
      const [id = '', text = '', details = ''] = value.split('|');
      (key === 'warning[]' ? warnings : suggestions).push({ id, text, details: details === '-' ? '' : details });
    }
  }
  return { hardeningIndex, testsPerformed, warnings, suggestions };
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** One TLS handshake attempt with openssl s_client: the server's certificate subject, if it showed one. */
function serverCertificate(port: number): Promise<string | undefined> {
  return new Promise((res) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'kh-lynis.example.test'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('close', () => {
      clearTimeout(timer);
      res(/-----BEGIN CERTIFICATE-----/.test(out) || /Server certificate/.test(out) ? (/subject=(.*)/.exec(out)?.[1]?.trim() ?? 'certificate shown') : undefined);
    });
    child.stdin.end('');
  });
}

async function withMounted<T>(disk: string, mnt: string, body: () => T | Promise<T>): Promise<T> {
  mkdirSync(mnt, { recursive: true });
  await runCommand('mount', ['-o', `loop,offset=${PARTITION_OFFSET}`, disk, mnt]);
  try {
    return await body();
  } finally {
    await runCommand('umount', [mnt]);
  }
}

function inject(mnt: string, profile?: string): void {
  for (const p of INJECTED) {
    if (existsSync(join(mnt, p)) || isSymlink(join(mnt, p))) throw new Error(`the image already has /${p}: refusing to inject over it`);
  }
  for (const p of LYNIS_FILES) {
    if (!existsSync(join('/', p))) throw new Error(`/${p} missing on this host: apt-get install lynis`);
    cpSync(join('/', p), join(mnt, p), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
  if (profile) {
    writeFileSync(join(mnt, 'etc/lynis/custom.prf'), readFileSync(profile), { mode: 0o640 });
    chmodSync(join(mnt, 'etc/lynis/custom.prf'), 0o640);
  }
  mkdirSync(join(mnt, HELPER_DIR), { recursive: true, mode: 0o700 });
  writeFileSync(join(mnt, HELPER_DIR, 'run.sh'), AUDIT_SCRIPT, { mode: 0o700 });
  writeFileSync(join(mnt, 'etc/systemd/system', UNIT), UNIT_TEXT, { mode: 0o644 });
  chmodSync(join(mnt, 'etc/systemd/system', UNIT), 0o644);
  mkdirSync(join(mnt, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync(`/etc/systemd/system/${UNIT}`, join(mnt, 'etc/systemd/system/multi-user.target.wants', UNIT));
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Copies what the audit wrote out of the guest, then removes everything injected (from the copy). */
function collectAndClean(mnt: string, out: string): void {
  const guestOut = join(mnt, GUEST_DIR);
  if (existsSync(guestOut)) for (const f of readdirSync(guestOut)) cpSync(join(guestOut, f), join(out, f));
  for (const f of ['lynis.log', 'lynis-report.dat']) if (existsSync(join(mnt, 'var/log', f))) cpSync(join(mnt, 'var/log', f), join(out, f));
  for (const p of INJECTED) rmSync(join(mnt, p), { recursive: true, force: true });
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ova: { type: 'string' },
        raw: { type: 'string' },
        out: { type: 'string' },
        timeout: { type: 'string', default: '1800' },
        profile: { type: 'string' },
        'keep-disk': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.ova && values.raw) {
    process.stderr.write(`give --ova or --raw, not both\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the Lynis audit needs root (loop mount of the disk copy)\n');
    return 2;
  }
  const timeoutMs = Number(values.timeout) * 1000;
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const source = resolve(values.raw ?? values.ova ?? join(ROOT, 'dist', `keyhaven-${version}.ova`));
  if (!existsSync(source)) {
    process.stderr.write(`${source} does not exist (build it: npm run ova)\n`);
    return 2;
  }
  const out = resolve(values.out ?? join(ROOT, 'test-output', 'lynis'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-lynis-'));
  const log = (l: string): void => void process.stdout.write(`${l}\n`);
  let keepWork = values['keep-disk'];
  try {
    // 1. A private copy of the disk.
    const disk = join(work, 'disk.raw');
    if (values.raw) {
      log(`copying ${source} (sparse)`);
      await runCommand('cp', ['--sparse=always', source, disk]);
    } else {
      log(`unpacking ${source}`);
      const unpacked = join(work, 'ova');
      mkdirSync(unpacked);
      await runCommand('tar', ['-xf', source, '-C', unpacked]);
      const vmdk = readdirSync(unpacked).find((f) => f.endsWith('.vmdk'));
      if (!vmdk) throw new Error(`${source} holds no .vmdk`);
      await runCommand('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', join(unpacked, vmdk), disk]);
      rmSync(unpacked, { recursive: true, force: true });
    }

    // 2. Lynis and the audit unit, into the copy.
    const mnt = join(work, 'mnt');
    const profile = values.profile ? resolve(values.profile) : undefined;
    if (profile && !existsSync(profile)) throw new Error(`${profile} does not exist`);
    await withMounted(disk, mnt, () => inject(mnt, profile));
    log(`injected Lynis ${spawnSync('/usr/sbin/lynis', ['--version'], { encoding: 'utf8' }).stdout.trim()}${profile ? ` (with ${profile} as custom.prf)` : ' (default profile)'} and ${UNIT}`);

    // 3. Boot as deployed: static address on QEMU's isolated user network, a time server, the OVF
    // environment on a CD; the KMIP port forwarded to the host's loopback only.
    const iso = await ovfEnvironmentIso(work, {
      'keyhaven.hostname': 'kh-lynis.example.test',
      'keyhaven.ip': '10.0.2.15',
      'keyhaven.prefix': '24',
      'keyhaven.gateway': '10.0.2.2',
      'keyhaven.dns': '10.0.2.3',
      'keyhaven.ntp': '10.0.2.2',
      // A SIEM host as a deployment would have one (nothing listens: rsyslog queues and retries).
      'keyhaven.syslog': '10.0.2.2',
      'keyhaven.admin_networks': '10.0.2.0/24',
    });
    const port = await freePort();
    const consoleLog = join(out, 'console.log');
    const args = [
      '-machine', 'pc,accel=tcg', '-cpu', 'max', '-smp', '2', '-m', '2048',
      '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-device', 'pvscsi,id=scsi0',
      '-drive', `file=${disk},format=raw,if=none,id=disk0,cache=unsafe`,
      '-device', 'scsi-hd,drive=disk0,bus=scsi0.0',
      '-netdev', `user,id=net0,restrict=on,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:${port}-10.0.2.15:6000`,
      '-device', 'vmxnet3,netdev=net0,mac=52:54:00:12:34:56',
      '-drive', `file=${iso},media=cdrom,if=ide,readonly=on`,
      '-chardev', `socket,id=ser0,path=${join(work, 'console.sock')},server=on,wait=off,logfile=${consoleLog}`,
      '-serial', 'chardev:ser0',
    ];
    log(`booting under QEMU TCG (console: ${consoleLog}; KMIP forwarded to 127.0.0.1:${port})`);
    const started = Date.now();
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let qemuErr = '';
    qemu.stderr.on('data', (c: Buffer) => (qemuErr = (qemuErr + c.toString()).slice(-4000)));
    const exited = new Promise<number | null>((res) => qemu.once('exit', (code) => res(code)));
    let done = false;
    void exited.then(() => (done = true));
    const killer = setTimeout(() => {
      log(`the VM did not power off within ${timeoutMs / 1000} s: stopping it`);
      qemu.kill('SIGKILL');
    }, timeoutMs);
    // First boot on the serial console, as the administrator does it: accept the settings, set a
    // password (random, never used again), confirm.
    const serial = await SerialConsole.connect(join(work, 'console.sock'));
    let firstBootDone = false;
    try {
      const password = `Lynis-${randomBytes(12).toString('base64url')}!`;
      await serial.waitFor(/Are these settings correct\?/, timeoutMs);
      serial.line('');
      await serial.waitFor(/New admin password/, 120_000);
      serial.line(password);
      await serial.waitFor(/Repeat the password/, 60_000);
      serial.line(password);
      // A new mirror group (the first choice): the appliance as most are deployed.
      await serial.waitFor(/Mirror group[\s\S]*Join an existing mirror group/, 60_000);
      serial.line('');
      await serial.waitFor(/Press Enter for the login prompt/, 600_000);
      serial.line('');
      log(`first boot completed on the serial console after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      firstBootDone = true;
    } catch (err) {
      // An audit of an unconfigured appliance would be reported as if it were the deployed one.
      log(`first boot could not be completed, stopping the VM: ${(err as Error).message}`);
      qemu.kill('SIGKILL');
    } finally {
      serial.close();
    }
    let certificate: string | undefined;
    while (!done) {
      await new Promise((r) => setTimeout(r, 5000));
      if (!certificate && !done && Date.now() - started > 30000) {
        certificate = await serverCertificate(port);
        if (certificate) log(`key server answered TLS on 6000 after ${((Date.now() - started) / 1000).toFixed(0)} s: subject ${certificate}`);
      }
    }
    clearTimeout(killer);
    const code = await exited;
    log(`VM stopped after ${((Date.now() - started) / 1000).toFixed(0)} s (qemu exit ${code})`);
    if (qemuErr.trim()) writeFileSync(join(out, 'qemu-stderr.txt'), qemuErr);

    // 4. Read back, clean the copy.
    await withMounted(disk, mnt, () => collectAndClean(mnt, out));
    const reportFile = join(out, 'lynis-report.dat');
    if (!firstBootDone) {
      keepWork = true;
      return 1;
    }
    if (!existsSync(reportFile)) {
      log(`the audit did not run: no /var/log/lynis-report.dat (console: ${consoleLog})`);
      log(readFileSync(consoleLog, 'latin1').split('\n').slice(-30).join('\n'));
      keepWork = true;
      return 1;
    }
    const report = parseLynisReport(readFileSync(reportFile, 'utf8'));
    if (report.hardeningIndex === undefined) {
      log(`the audit did not finish: ${reportFile} has no hardening_index`);
      return 1;
    }
    log('');
    log(`Lynis hardening index: ${report.hardeningIndex}${report.testsPerformed ? ` (${report.testsPerformed} tests performed)` : ''}`);
    log(`warnings (${report.warnings.length}):`);
    for (const w of report.warnings) log(`  ${w.id}  ${w.text}${w.details ? ` [${w.details}]` : ''}`);
    log(`suggestions (${report.suggestions.length}):`);
    for (const s of report.suggestions) log(`  ${s.id}  ${s.text}${s.details ? ` [${s.details}]` : ''}`);
    log(`report, log and console kept in ${out}`);
    if (!certificate) {
      log('the key server never answered TLS on port 6000 during the audit');
      return 3;
    }
    return 0;
  } finally {
    if (keepWork) log(`work directory kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`lynis audit failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
