// Static checks of appliance/provision/40-harden.sh (no image build): the kernel settings issue #5
// asks for are in the sysctl file it writes, the mount options and module blacklist are there, and
// the Lynis report parser of test/hardening/lynis-audit.ts reads Lynis' format. The measured figure
// comes from `npm run lynis` on a built image.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderSiemForwarding } from '../../appliance/boot/log-forwarding.js';
import { parseLynisReport } from './lynis-audit.js';

const SCRIPT_PATH = fileURLToPath(new URL('../../appliance/provision/40-harden.sh', import.meta.url));
const SCRIPT = readFileSync(SCRIPT_PATH, 'utf8');

/** The body of the here-document written to `target` (cat > target <<'TAG' … TAG). */
function heredoc(target: string): string {
  const start = SCRIPT.indexOf(`cat > ${target} <<'`);
  assert.ok(start >= 0, `40-harden.sh writes ${target}`);
  const tag = /<<'(\w+)'/.exec(SCRIPT.slice(start))![1]!;
  const bodyStart = SCRIPT.indexOf('\n', start) + 1;
  const end = SCRIPT.indexOf(`\n${tag}\n`, bodyStart);
  return SCRIPT.slice(bodyStart, end);
}

function sysctls(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of heredoc('/etc/sysctl.d/90-keyhaven.conf').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [k, v] = t.split('=').map((s) => s.trim());
    assert.ok(k && v !== undefined, `sysctl line ${JSON.stringify(line)}`);
    assert.ok(!m.has(k), `${k} set once`);
    m.set(k, v);
  }
  return m;
}

test('40-harden.sh is valid POSIX shell', () => {
  const r = spawnSync('sh', ['-n', SCRIPT_PATH], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the kernel settings of issue #5 are in 90-keyhaven.conf', () => {
  const s = sysctls();
  const expected: Record<string, string> = {
    // Kernel information and debugging interfaces
    'kernel.kptr_restrict': '2',
    'kernel.dmesg_restrict': '1',
    'kernel.yama.ptrace_scope': '2',
    'kernel.unprivileged_bpf_disabled': '1',
    'net.core.bpf_jit_harden': '2',
    'kernel.perf_event_paranoid': '3',
    'kernel.kexec_load_disabled': '1',
    'kernel.io_uring_disabled': '2',
    'kernel.sysrq': '0',
    'kernel.randomize_va_space': '2',
    // No core dumps (key material)
    'fs.suid_dumpable': '0',
    'kernel.core_pattern': '|/bin/false',
    'kernel.core_uses_pid': '1',
    // File system link and FIFO protections
    'fs.protected_hardlinks': '1',
    'fs.protected_symlinks': '1',
    'fs.protected_fifos': '2',
    'fs.protected_regular': '2',
    // Network: no routing, reverse-path filtering, no redirects or source routes, SYN cookies
    'net.ipv4.ip_forward': '0',
    'net.ipv4.conf.all.rp_filter': '1',
    'net.ipv4.conf.default.rp_filter': '1',
    'net.ipv4.conf.all.accept_redirects': '0',
    'net.ipv4.conf.default.accept_redirects': '0',
    'net.ipv4.conf.all.secure_redirects': '0',
    'net.ipv4.conf.default.secure_redirects': '0',
    'net.ipv4.conf.all.send_redirects': '0',
    'net.ipv4.conf.default.send_redirects': '0',
    'net.ipv4.conf.all.accept_source_route': '0',
    'net.ipv4.conf.default.accept_source_route': '0',
    'net.ipv4.conf.all.log_martians': '1',
    'net.ipv4.icmp_echo_ignore_broadcasts': '1',
    'net.ipv4.tcp_syncookies': '1',
    'net.ipv6.conf.all.forwarding': '0',
    'net.ipv6.conf.all.accept_redirects': '0',
    'net.ipv6.conf.default.accept_redirects': '0',
    'net.ipv6.conf.all.accept_source_route': '0',
    'net.ipv6.conf.default.accept_source_route': '0',
  };
  for (const [k, v] of Object.entries(expected)) assert.equal(s.get(k), v, k);
});

test('temporary and shared-memory file systems are mounted nosuid,nodev,noexec; /proc hides other accounts’ processes', () => {
  const fstab = heredoc('/etc/fstab');
  const entries = new Map(fstab.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => { const f = l.split(/\s+/); return [f[1]!, f[3]!.split(',')] as const; }));
  for (const mnt of ['/tmp', '/var/tmp', '/dev/shm', '/home']) {
    for (const opt of ['nosuid', 'nodev', 'noexec']) assert.ok(entries.get(mnt)?.includes(opt), `${mnt} ${opt}`);
  }
  assert.ok(entries.get('/proc')?.includes('hidepid=invisible'));
  assert.ok(!fstab.includes(' swap '), 'no swap');
});

test('unused kernel modules are disabled and root is locked', () => {
  for (const m of ['usb-storage', 'firewire-core', 'dccp', 'sctp', 'rds', 'tipc', 'cramfs', 'squashfs', 'udf']) {
    assert.match(SCRIPT, new RegExp(`\\b${m}\\b`), `${m} in the modprobe blacklist`);
  }
  assert.match(SCRIPT, /install %s \/bin\/true\\nblacklist %s/);
  assert.match(SCRIPT, /usermod --lock root/);
  assert.match(SCRIPT, /-perm -4000 -o -perm -2000/);
});

test('process accounting is on and rotated without cron', () => {
  assert.match(SCRIPT, /systemctl enable acct\.service keyhaven-acct-rotate\.timer/);
  assert.match(heredoc('/etc/systemd/system/keyhaven-acct-rotate.service'), /accton \/var\/log\/account\/pacct/);
});

const ADMIN_ACCESS_PATH = fileURLToPath(new URL('../../appliance/provision/50-admin-access.sh', import.meta.url));
const LOG_FORWARDING_PATH = fileURLToPath(new URL('../../appliance/provision/45-log-forwarding.sh', import.meta.url));

test('45-log-forwarding.sh and 50-admin-access.sh are valid POSIX shell', () => {
  for (const path of [ADMIN_ACCESS_PATH, LOG_FORWARDING_PATH]) {
    const r = spawnSync('sh', ['-n', path], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${path}: ${r.stderr}`);
  }
});

test('rsyslog starts only when the SIEM rules hold an action: its ExecCondition matches the renderer', () => {
  const script = readFileSync(LOG_FORWARDING_PATH, 'utf8');
  const m = /^ExecCondition=\/bin\/grep -q '(.+)' \/etc\/rsyslog\.d\/60-keyhaven-siem\.conf$/m.exec(script);
  assert.ok(m, 'ExecCondition on the SIEM rules');
  const pattern = new RegExp(m[1]!.replace(/\(/g, '\\('), 'm');
  assert.match(renderSiemForwarding(['192.0.2.7']), pattern, 'a SIEM host: rsyslog runs');
  assert.doesNotMatch(renderSiemForwarding([]), pattern, 'no SIEM host: rsyslog stays off');
});

test('SSH locks the account after 10 failed passwords for 30 minutes (PCI DSS 8.3.4); passwords need 15 characters in PAM too', () => {
  const script = readFileSync(ADMIN_ACCESS_PATH, 'utf8');
  const conf = (name: string) => {
    const start = script.indexOf(`cat > ${name} <<'CONF'`);
    assert.ok(start >= 0, `writes ${name}`);
    const body = script.slice(script.indexOf('\n', start) + 1, script.indexOf('\nCONF\n', start));
    return new Map(body.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=').map((x) => x.trim()) as [string, string]));
  };
  const faillock = conf('/etc/security/faillock.conf');
  assert.ok(Number(faillock.get('deny')) <= 10 && Number(faillock.get('deny')) > 0, 'deny 1..10');
  assert.ok(Number(faillock.get('unlock_time')) >= 1800, 'locked for at least 30 minutes');
  // The auth stack: preauth before pam_unix, authfail dies, authsucc clears; no nullok.
  const stack = [...script.matchAll(/print "(auth[^"]*)"/g)].map((m) => m[1]!.replace(/\s+/g, ' '));
  assert.deepEqual(stack, [
    'auth requisite pam_faillock.so preauth',
    'auth [success=1 default=bad] pam_unix.so',
    'auth [default=die] pam_faillock.so authfail',
    'auth sufficient pam_faillock.so authsucc',
    'auth requisite pam_deny.so',
  ]);
  assert.equal(conf('/etc/security/pwquality.conf.d/keyhaven.conf').get('minlen'), '15');
});

test('parseLynisReport reads the index, warnings and suggestions', () => {
  const r = parseLynisReport(
    [
      '# Lynis Report',
      'hardening_index=91',
      'lynis_tests_done=240',
      'warning[]=PKGS-7388|Can\'t find any security repository|-|-|',
      'suggestion[]=USB-3000|Install USBGuard|-|-|',
      'suggestion[]=KRNL-6000|One or more sysctl values differ|kernel.modules_disabled (exp: 1)|-|',
    ].join('\n'),
  );
  assert.equal(r.hardeningIndex, 91);
  assert.equal(r.testsPerformed, 240);
  assert.deepEqual(r.warnings, [{ id: 'PKGS-7388', text: "Can't find any security repository", details: '' }]);
  assert.equal(r.suggestions.length, 2);
  assert.equal(r.suggestions[1]!.details, 'kernel.modules_disabled (exp: 1)');
});
