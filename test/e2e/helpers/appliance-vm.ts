// One appliance VM of a multi-VM end-to-end test: its own copy-on-write disk over the pristine disk
// of the OVA (qcow2 overlay: a power-off and a later boot keep what it wrote), its vApp properties on
// a CD, its serial console; first boot completed on that console as an administrator does.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../../appliance/build/run-command.js';
import { ovfEnvironmentIso } from './ovf-env.js';
import { SerialConsole } from './serial-console.js';
import { startVm, type Vm } from './vm.js';

export interface Guest {
  readonly name: string;
  readonly hostname: string;
  readonly ip: string;
  readonly prefix: number;
  readonly gateway: string;
  readonly mac: string;
}

export interface ApplianceVm {
  readonly guest: Guest;
  readonly vm: Vm;
  readonly serial: SerialConsole;
  /** Powers the VM off (QEMU killed, as a pulled plug) and closes the console. */
  powerOff(): Promise<void>;
}

/** The raw disk of the unpacked OVA's VMDK: the base every VM's overlay reads. */
export async function pristineDisk(vmdk: string, work: string): Promise<string> {
  const raw = join(work, 'pristine.raw');
  await runCommand('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', vmdk, raw]);
  return raw;
}

/** Starts the guest (the first time: a new overlay and its OVF environment CD; later: the same disk). */
export async function bootAppliance(o: { work: string; base: string; guest: Guest; tap: string; properties: Record<string, string>; cpus: number; boot: number }): Promise<ApplianceVm> {
  const dir = join(o.work, o.guest.name);
  const disk = join(dir, 'disk.qcow2');
  if (o.boot === 1) {
    mkdirSync(dir, { recursive: true });
    await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', o.base, disk]);
    await ovfEnvironmentIso(dir, o.properties);
  }
  const socket = join(dir, `console-${o.boot}.sock`);
  const vm = startVm({ disk, diskFormat: 'qcow2', cdrom: join(dir, 'ovf-env.iso'), tap: o.tap, mac: o.guest.mac, consoleLog: join(dir, `console-${o.boot}.log`), consoleSocket: socket, cpus: o.cpus });
  const serial = await SerialConsole.connect(socket);
  return {
    guest: o.guest,
    vm,
    serial,
    powerOff: async () => {
      serial.close();
      await vm.stop();
    },
  };
}

/** The vApp properties of a guest on the test network. */
export function guestProperties(g: Guest, more: Record<string, string>): Record<string, string> {
  return { 'keyhaven.hostname': g.hostname, 'keyhaven.ip': g.ip, 'keyhaven.prefix': String(g.prefix), 'keyhaven.gateway': g.gateway, 'keyhaven.dns': '', ...more };
}

/**
 * First boot on the serial console: the settings as read, the admin password, then a new mirror
 * group or the group of `joinToken` (its CA fingerprint, shown from the token, is checked against
 * `caFingerprint` before confirming). Returns what the wizard printed.
 */
export async function completeFirstBoot(a: ApplianceVm, password: string, group: { joinToken: string; caFingerprint: string } | 'new', deadlineMs: number): Promise<string> {
  const s = a.serial;
  await firstBootToGroup(a, password, deadlineMs);
  if (group === 'new') {
    s.line('');
  } else {
    s.type('\x1b[B');
    await new Promise((r) => setTimeout(r, 1000));
    s.line('');
    await s.waitFor(/Join token/, 60_000);
    s.line(group.joinToken);
    const shown = await s.waitFor(/CA fingerprint the member's menu showed\?/, 60_000);
    if (!shown.replace(/\s/g, '').includes(group.caFingerprint)) throw new Error(`the wizard shows another CA fingerprint than the member's menu:\n${shown.slice(-800)}`);
    s.line('y');
  }
  const done = await s.waitFor(/Press Enter for the login prompt|First boot could not finish[^\n]*\n[^\n]*\n|Joining failed[^\n]*\n/, 600_000);
  if (!/Press Enter for the login prompt/.test(done)) throw new Error(`first boot of ${a.guest.name} did not complete:\n${done.slice(-1500)}`);
  s.line('');
  return done;
}

/** First boot on the serial console up to the mirror group question: the settings as read, the admin password. */
export async function firstBootToGroup(a: ApplianceVm, password: string, deadlineMs: number): Promise<void> {
  const s = a.serial;
  await s.waitFor(/Are these settings correct\?/, deadlineMs);
  s.line('');
  await s.waitFor(/New admin password/, 60_000);
  s.line(password);
  await s.waitFor(/Repeat the password/, 60_000);
  s.line(password);
  await s.waitFor(/Mirror group[\s\S]*Restore from a backup/, 60_000);
}
