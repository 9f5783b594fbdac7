// The consoles (tty1, ttyS0) belong to the first-boot wizard, the login prompt and the menu: the boot
// loader's kernel arguments keep the kernel and systemd quiet during boot, and the sysctl the image
// installs keeps every log line the firewall writes (and any kernel message below critical) off the
// consoles after it. (The e2e boot test checks the real console while the firewall drops probes.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { KERNEL_ARGS, renderGrubConfig } from '../../appliance/build/grub-config.js';
import { renderFailClosed } from '../../firewall/fail-closed.js';
import { renderPolicy } from '../../firewall/policy.js';

const HARDEN = readFileSync(fileURLToPath(new URL('../../appliance/provision/40-harden.sh', import.meta.url)), 'utf8');
const GOLDEN = fileURLToPath(new URL('../firewall/golden/', import.meta.url));
/** printk levels (include/linux/kern_levels.h); nft's default log level is warn. */
const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

/** The sysctl.d file 40-harden.sh writes. */
function sysctl(): Map<string, string> {
  const body = /cat > \/etc\/sysctl\.d\/90-keyhaven\.conf <<'CONF'\n([\s\S]*?)\nCONF\n/.exec(HARDEN)?.[1];
  assert.ok(body, '40-harden.sh writes /etc/sysctl.d/90-keyhaven.conf');
  return new Map(body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^-/, '').split(/\s*=\s*/) as [string, string]));
}

test('the kernel command line: quiet boot, systemd shows failed units only', () => {
  assert.ok(KERNEL_ARGS.includes('quiet'));
  assert.ok(KERNEL_ARGS.includes('systemd.show_status=error'));
  assert.ok(!KERNEL_ARGS.some((a) => /^(loglevel=[4-7]|ignore_loglevel|debug|systemd\.log_level=debug)$/.test(a)), 'nothing raises the console level again');
  const cfg = renderGrubConfig({ superuserHash: `grub.pbkdf2.sha512.10000.${'AB'.repeat(32)}.${'CD'.repeat(64)}`, kernel: '/boot/vmlinuz', initrd: '/boot/initrd.img', version: '1.0.0' });
  assert.match(cfg, /^ {2}linux \/boot\/vmlinuz root=LABEL=keyhaven ro console=tty0 console=ttyS0,115200n8 quiet systemd\.show_status=error /m);
});

test('after boot the consoles print only critical kernel messages: no firewall log line reaches them', () => {
  const printk = sysctl().get('kernel.printk');
  assert.ok(printk, 'kernel.printk is set');
  const [consoleLevel, defaultLevel, minimum, bootDefault] = printk.split(/\s+/).map(Number);
  assert.equal(consoleLevel, 3, 'console_loglevel 3: emerg, alert and crit only (a message prints when its level is below)');
  assert.ok(minimum! >= 1 && minimum! <= consoleLevel!, 'minimum_console_loglevel lets the console level be what it is');
  assert.equal(defaultLevel, 4);
  assert.equal(bootDefault, 3);
  // Every log statement of every ruleset the appliance loads is at a level the console does not print.
  const rulesets = [renderPolicy(undefined), renderFailClosed(), ...readdirSync(GOLDEN).filter((f) => f.endsWith('.nft')).map((f) => readFileSync(`${GOLDEN}${f}`, 'utf8'))];
  let logs = 0;
  for (const text of rulesets) {
    for (const m of text.matchAll(/\blog prefix "[^"]*"(?: level (\w+))?/g)) {
      logs++;
      const level = LEVELS.indexOf(m[1] ?? 'warn');
      assert.ok(level >= consoleLevel!, `${m[0]} would print on the console`);
    }
  }
  assert.ok(logs > 0, 'the rulesets do log drops (to the journal)');
});
