// The `qemu` source: boots the pipeline's base disk image under QEMU on the build host and provisions
// it over SSH. Packer 1.6.6's qemu builder (built into Debian's packer; `packer validate` checks every
// field below offline).
//
// - disk_image = true: iso_url is not an installer ISO but the disk to boot. Packer copies it into
//   output_directory (use_backing_file = false: the result must not depend on dist/cache), boots it,
//   provisions, shuts down and (for qcow2) compacts it with qemu-img convert.
// - skip_resize_disk = true: without it Packer grows the copy to its default disk_size (40960M). The
//   base disk's size is the appliance's size (APPLIANCE_VM.diskMiB, the same as the OVA and vsphere-iso).
// - accelerator: "tcg" (software emulation) by default because the machines the pipeline runs on
//   (CI containers, nested VMs) have no usable /dev/kvm; with accel=kvm QEMU then fails at start
//   ("Could not access KVM kernel module"). Pass -var accelerator=kvm where /dev/kvm is available.
//   TCG is slow, hence the generous ssh_timeout.
// - Networking: QEMU user-mode networking with the guest's port 22 forwarded from the host. Packer's
//   default forward is `hostfwd=tcp::PORT-:22`, which listens on every host address; the -netdev
//   override below binds it to 127.0.0.1, so only the build host itself can reach the build VM's sshd.
//   VNC is bound to 127.0.0.1 too (Packer's default, set explicitly).
//
// How Packer gets in (see keyhaven-template.ts for the whole argument): root over SSH with a build key
// generated per build; root has no password. With buildKeyDelivery "smbios-credential" the public key
// never touches the base disk: it reaches the guest as a systemd credential in an SMBIOS type 11 OEM
// string (systemd.system-credentials(7): `ssh.authorized_keys.root`, which systemd-tmpfiles writes to
// /root/.ssh/authorized_keys at boot, systemd >= 252; Debian 13 has 257). With "base-disk" the image
// pipeline has put the key into the base disk itself.
import { goTpl, hcl, tpl, type Duration, type Expr, type Source, type Text } from '../model.js';
import { assertCount, assertDuration, assertIdentifier, assertRepoPath, invalid } from '../validate.js';

export type BuildKeyDelivery = 'smbios-credential' | 'base-disk';

export interface QemuSourceOptions {
  readonly name: string;
  /** The base disk image to boot (qcow2 or raw), e.g. `var.base_disk`. */
  readonly baseDisk: Text;
  /** `sha256:<hex>` of the base disk, or `none`. */
  readonly baseDiskChecksum: Text;
  /** `tcg` or `kvm`. */
  readonly accelerator: Text;
  readonly qemuBinary: Text;
  /** Path of the build's SSH private key; the public key is next to it with `.pub` (ssh-keygen's layout). */
  readonly buildKey: Expr;
  readonly buildKeyDelivery: BuildKeyDelivery;
  /** Where the image is written, relative to the repository root. Must not exist before the build. */
  readonly outputDirectory: string;
  /** File name of the image in outputDirectory. */
  readonly vmName: string;
  readonly format: 'qcow2' | 'raw';
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly sshTimeout: Duration;
  readonly shutdownTimeout: Duration;
}

/** The systemd credential carrying the build's public key, base64 (no commas: QEMU needs none escaped). */
export function smbiosBuildKeyArg(buildKey: Expr): Text[] {
  return ['-smbios', tpl`type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root=${hcl(`base64encode(file("\${${buildKey.hcl}}.pub"))`)}`];
}

export function qemuSource(o: QemuSourceOptions): Source {
  const where = `qemu source ${o.name}`;
  assertIdentifier(where, o.name);
  assertRepoPath(`${where}.output_directory`, o.outputDirectory);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.vmName)) throw invalid(`${where}.vm_name`, `${JSON.stringify(o.vmName)} is not a plain file name`);
  if (!o.vmName.endsWith(`.${o.format}`)) throw invalid(`${where}.vm_name`, `${JSON.stringify(o.vmName)} should end with .${o.format}`);
  assertCount(`${where}.cpus`, o.cpus, 1, 64);
  assertCount(`${where}.memory`, o.memoryMiB, 256, 65536, ' MiB');
  assertDuration(`${where}.ssh_timeout`, o.sshTimeout);
  assertDuration(`${where}.shutdown_timeout`, o.shutdownTimeout);

  const qemuargs: Text[][] = [['-netdev', goTpl`user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22`]];
  if (o.buildKeyDelivery === 'smbios-credential') qemuargs.push(smbiosBuildKeyArg(o.buildKey));

  return {
    type: 'qemu',
    name: o.name,
    config: {
      iso_url: o.baseDisk,
      iso_checksum: o.baseDiskChecksum,
      disk_image: true,
      use_backing_file: false,
      skip_resize_disk: true,
      format: o.format,
      headless: true,
      accelerator: o.accelerator,
      qemu_binary: o.qemuBinary,
      cpus: o.cpus,
      memory: o.memoryMiB,
      disk_interface: 'virtio',
      net_device: 'virtio-net',
      output_directory: o.outputDirectory,
      vm_name: o.vmName,
      vnc_bind_address: '127.0.0.1',
      qemuargs,
      communicator: 'ssh',
      ssh_username: 'root',
      ssh_private_key_file: o.buildKey,
      ssh_timeout: o.sshTimeout,
      shutdown_command: 'systemctl poweroff',
      shutdown_timeout: o.shutdownTimeout,
    },
  };
}
