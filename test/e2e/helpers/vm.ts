// The appliance under QEMU as ESXi would run it: PVSCSI disk, VMXNET3 network on a tap device of the
// host, the OVF environment on a CD, the serial console to a file. Software emulation (TCG): KVM
// guests fail on this machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { runCommand } from '../../../appliance/build/run-command.js';

export interface TapNetwork {
  readonly device: string;
  readonly hostAddress: string;
  remove(): Promise<void>;
}

/** A tap device in the host's namespace, holding the host's side of the appliance's network. */
export async function createTap(device: string, hostCidr: string): Promise<TapNetwork> {
  await runCommand('ip', ['link', 'del', device]).catch(() => undefined);
  await runCommand('ip', ['tuntap', 'add', 'dev', device, 'mode', 'tap']);
  await runCommand('ip', ['addr', 'add', hostCidr, 'dev', device]);
  await runCommand('ip', ['link', 'set', device, 'up']);
  return {
    device,
    hostAddress: hostCidr.split('/')[0]!,
    remove: async () => void (await runCommand('ip', ['link', 'del', device]).catch(() => undefined)),
  };
}

export interface VmOptions {
  readonly disk: string;
  readonly diskFormat: 'raw' | 'qcow2';
  readonly cdrom?: string;
  readonly tap: string;
  readonly mac: string;
  readonly consoleLog: string;
  /** The serial console as a Unix socket (interactive), besides the log file. */
  readonly consoleSocket?: string;
  readonly memoryMiB?: number;
  /** Virtual CPUs (default 2, as the OVF asks); two VMs at once on a 2-core host get 1 each. */
  readonly cpus?: number;
}

export interface Vm {
  readonly process: ChildProcess;
  readonly startedAt: number;
  console(): string;
  stop(): Promise<void>;
}

export function startVm(o: VmOptions): Vm {
  const args = [
    '-machine', 'pc,accel=tcg',
    '-cpu', 'max',
    '-smp', String(o.cpus ?? 2),
    '-m', String(o.memoryMiB ?? 2048),
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-device', 'pvscsi,id=scsi0',
    '-drive', `file=${o.disk},format=${o.diskFormat},if=none,id=disk0,cache=unsafe`,
    '-device', 'scsi-hd,drive=disk0,bus=scsi0.0',
    '-netdev', `tap,id=net0,ifname=${o.tap},script=no,downscript=no`,
    '-device', `vmxnet3,netdev=net0,mac=${o.mac}`,
    ...(o.consoleSocket
      ? ['-chardev', `socket,id=ser0,path=${o.consoleSocket},server=on,wait=off,logfile=${o.consoleLog}`, '-serial', 'chardev:ser0']
      : ['-serial', `file:${o.consoleLog}`]),
    ...(o.cdrom ? ['-drive', `file=${o.cdrom},media=cdrom,if=ide,readonly=on`] : []),
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    startedAt: Date.now(),
    console: () => (existsSync(o.consoleLog) ? readFileSync(o.consoleLog, 'latin1') : '') + (stderr ? `\n[qemu stderr]\n${stderr}` : ''),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
