// The `vsphere-iso` source, for teams that build Keyhaven inside their own vCenter instead of deploying
// our OVA. Packer 1.6.6's vsphere-iso builder (built into Debian's packer) creates a VM through the
// vCenter API, boots it from an ISO, types a boot command, waits for an IP from VMware Tools, then
// provisions over SSH exactly like the qemu source.
//
// Why an installer ISO and not a template: vsphere-iso (1.6.6) creates an empty VM and can only boot
// ISOs (iso_url, uploaded to the datastore, or iso_paths already on one); starting from an existing VM
// or template is a different builder (vsphere-clone), and a template would itself have to be built and
// kept in step with our steps first. An ISO is what every vCenter team can supply. So the VM installs Debian 13 from the netinst ISO with a preseed file that Packer's own HTTP server serves
// from http_directory (`url=` on the installer's command line, Debian installation guide appendix B).
// The boot command is for the ISO's BIOS boot menu (isolinux), hence firmware = "bios"; an EFI build
// needs GRUB keystrokes instead.
//
// `packer validate` of this source needs no network: vsphere-iso only contacts vCenter in `build`
// (checked under `unshare -n` in test/packer/packer-validate.test.ts). Two things to know:
// - iso_checksum must be literal ("sha256:<hex>"): a "file:https://…/SHA256SUMS" checksum is
//   downloaded already by `packer validate`, which would then need network.
// - vsphere-iso itself refuses empty vcenter_server, username, password and cluster, but only when
//   this source is selected: that is why those variables default to "" (see variables.ts).
// - `packer validate` of this source creates export.output_directory (dist/packer/vsphere-iso/),
//   empty: a side effect of the builder's Prepare, harmless (dist/ is ignored).
import { goTpl, type Duration, type Expr, type Source, type Text } from '../model.js';
import { assertCount, assertDuration, assertIdentifier, assertRepoPath, invalid } from '../validate.js';

export interface VcenterConnection {
  readonly server: Text;
  readonly username: Text;
  readonly password: Text;
  readonly insecureConnection: boolean | Expr;
  readonly datacenter: Text;
  readonly cluster: Text;
  readonly datastore: Text;
  readonly folder: Text;
  readonly network: Text;
}

export interface VsphereHardware {
  /** vSphere guest OS identifier (VirtualMachineGuestOsIdentifier), e.g. debian10_64Guest. */
  readonly guestOsType: string;
  readonly firmware: 'bios' | 'efi';
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly diskMiB: number;
  readonly diskController: 'pvscsi' | 'lsilogic';
  readonly networkCard: 'vmxnet3';
  /** Virtual hardware version (15 = ESXi 6.7 U2 and later). */
  readonly vmVersion: number;
}

export interface VsphereIsoSourceOptions {
  readonly name: string;
  readonly vcenter: VcenterConnection;
  readonly vmName: string;
  readonly notes: string;
  readonly hardware: VsphereHardware;
  readonly isoUrl: Text;
  readonly isoChecksum: Text;
  /** Served by Packer's HTTP server: preseed.cfg and build-key.pub (staged by the image pipeline). */
  readonly httpDirectory: Text;
  /** Private key path; the preseed installs the matching public key for root. */
  readonly buildKey: Expr;
  readonly bootCommand?: readonly Text[];
  readonly bootWait: Duration;
  readonly ipWaitTimeout: Duration;
  readonly sshTimeout: Duration;
  readonly shutdownTimeout: Duration;
  /** Where the OVF export is written, relative to the repository root. */
  readonly exportDirectory: string;
}

/**
 * Debian installer, BIOS boot menu: Esc gives the `boot:` prompt; `auto` is the automated-install label,
 * `url` the preseed location (aliases from the installation guide, appendix B.2.2). The network is
 * configured before the preseed is fetched, so host and domain name come on the command line.
 */
export const DEBIAN_BIOS_BOOT_COMMAND: readonly Text[] = [
  '<wait><esc><wait>',
  goTpl`auto url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg hostname=keyhaven domain=localdomain interface=auto<enter>`,
];

export function vsphereIsoSource(o: VsphereIsoSourceOptions): Source {
  const where = `vsphere-iso source ${o.name}`;
  const h = o.hardware;
  assertIdentifier(where, o.name);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.vmName)) throw invalid(`${where}.vm_name`, `${JSON.stringify(o.vmName)} is not a plain VM name`);
  if (!/^[a-z][A-Za-z0-9_]*Guest$/.test(h.guestOsType)) throw invalid(`${where}.guest_os_type`, `${JSON.stringify(h.guestOsType)} is not a vSphere guest id like debian10_64Guest`);
  assertCount(`${where}.CPUs`, h.cpus, 1, 64);
  assertCount(`${where}.RAM`, h.memoryMiB, 256, 65536, ' MiB');
  assertCount(`${where}.storage.disk_size`, h.diskMiB, 1024, 2 * 1024 * 1024, ' MiB');
  assertCount(`${where}.vm_version`, h.vmVersion, 13, 21);
  if (h.firmware !== 'bios' && o.bootCommand === undefined) {
    throw invalid(`${where}.boot_command`, 'the default boot command is for the BIOS boot menu; an EFI build needs its own');
  }
  assertRepoPath(`${where}.export.output_directory`, o.exportDirectory);
  for (const [k, d] of [['boot_wait', o.bootWait], ['ip_wait_timeout', o.ipWaitTimeout], ['ssh_timeout', o.sshTimeout], ['shutdown_timeout', o.shutdownTimeout]] as const) {
    assertDuration(`${where}.${k}`, d);
  }
  const c = o.vcenter;
  return {
    type: 'vsphere-iso',
    name: o.name,
    config: {
      vcenter_server: c.server,
      username: c.username,
      password: c.password,
      insecure_connection: c.insecureConnection,
      datacenter: c.datacenter,
      cluster: c.cluster,
      datastore: c.datastore,
      folder: c.folder,
      vm_name: o.vmName,
      notes: o.notes,
      guest_os_type: h.guestOsType,
      firmware: h.firmware,
      CPUs: h.cpus,
      RAM: h.memoryMiB,
      disk_controller_type: [h.diskController],
      storage: [{ disk_size: h.diskMiB, disk_thin_provisioned: true }],
      network_adapters: [{ network: c.network, network_card: h.networkCard }],
      vm_version: h.vmVersion,
      iso_url: o.isoUrl,
      iso_checksum: o.isoChecksum,
      remove_cdrom: true,
      http_directory: o.httpDirectory,
      boot_wait: o.bootWait,
      boot_command: o.bootCommand ?? DEBIAN_BIOS_BOOT_COMMAND,
      ip_wait_timeout: o.ipWaitTimeout,
      communicator: 'ssh',
      ssh_username: 'root',
      ssh_private_key_file: o.buildKey,
      ssh_timeout: o.sshTimeout,
      shutdown_command: 'systemctl poweroff',
      shutdown_timeout: o.shutdownTimeout,
      convert_to_template: false,
      export: { name: o.vmName, output_directory: o.exportDirectory, force: true, manifest: 'sha256' },
    },
  };
}
