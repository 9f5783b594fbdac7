// keyhavenTemplate(): the Packer template for the Keyhaven appliance, from a version and the shared
// provisioning steps. Two sources, one build (unnamed, so `-only=` takes `qemu.keyhaven` or
// `vsphere-iso.keyhaven`; with a named build Packer 1.6.6 would want `<build>.qemu.keyhaven` and
// silently build nothing for the short form):
//
//   qemu.keyhaven         the image pipeline's build: boots dist/cache/keyhaven-base.qcow2 (built by the
//                         pipeline), applies the steps, writes dist/packer/qemu/keyhaven-<version>.<fmt>,
//                         which ova/ (assembleOva) converts to the OVA's streamOptimized VMDK.
//   vsphere-iso.keyhaven  for teams building in their own vCenter: installs Debian 13 from the netinst
//                         ISO with the preseed, applies the same steps, exports an OVF to
//                         dist/packer/vsphere-iso/.
//
// ## How Packer logs in, and why nothing of it ships
//
// The appliance has no password login (root's password is locked, and stays locked), so Packer uses
// SSH with a key pair generated for one build and thrown away after it (var.build_key, default
// dist/build-key/id_ed25519, never committed):
//   - qemu: the public key reaches the guest as the systemd credential `ssh.authorized_keys.root` in an
//     SMBIOS type 11 string on QEMU's command line; systemd-tmpfiles writes it to
//     /root/.ssh/authorized_keys at boot. The base disk carries no key at all, so a cached base disk
//     is not a credential. sshd is reachable only through a port forward bound to 127.0.0.1.
//   - vsphere-iso: the preseed's late_command fetches build-key.pub from Packer's HTTP server (it serves
//     only that public key and the preseed) into /root/.ssh/authorized_keys and locks root's password.
//   - The last provisioning step (removesBuildAccess, enforced by validateSteps) deletes
//     /root/.ssh/authorized_keys and disables what could install a key again (systemd's
//     ssh.authorized_keys.root credential import via tmpfiles provision.conf, and the ssh.listen
//     credential of systemd-ssh-generator). Packer keeps its one SSH connection open, so the shutdown
//     command still runs over it afterwards; a new login is impossible from that point on.
//   - If any step fails, Packer deletes the output (its default -on-error=cleanup): a half-provisioned
//     image with the key still in it is never left behind.
// Rejected alternatives: communicator "none" (then Packer cannot run provisioners at all, and the
// steps would need a second mechanism inside the image); a build password (would have to be set in
// the base disk or preseed and reliably unset, and appears in logs and process lists); a build user
// with sudo (sudo is not part of the appliance, and deleting the logged-in user in the last step needs force).
import { sourceId, type PackerTemplate } from './model.js';
import { toProvisioners, type ProvisioningStep } from './provisioners.js';
import { qemuSource, type BuildKeyDelivery } from './sources/qemu.js';
import { vsphereIsoSource, type VsphereHardware } from './sources/vsphere-iso.js';
import { keyhavenVariables, vars } from './variables.js';
import { assertVersion, invalid } from './validate.js';

/** The appliance VM's virtual hardware: the OVA (ova/) should describe the same. */
export const APPLIANCE_VM: VsphereHardware = {
  // The newest Debian id that ESXi releases at hardware version 15 (6.7 U2) know; debian11_64Guest and
  // debian12_64Guest are only known to later ESXi releases, and vCenter refuses ids it does not know.
  guestOsType: 'debian10_64Guest',
  firmware: 'bios',
  cpus: 2,
  memoryMiB: 2048,
  diskMiB: 8192,
  // Paravirtual SCSI: Debian's kernel has vmw_pvscsi (and the installer's scsi-modules carry it).
  diskController: 'pvscsi',
  networkCard: 'vmxnet3',
  vmVersion: 15,
};

export const SOURCE_NAME = 'keyhaven';
/** `-only=` values for the two builds. */
export const QEMU_BUILD = sourceId({ type: 'qemu', name: SOURCE_NAME });
export const VSPHERE_ISO_BUILD = sourceId({ type: 'vsphere-iso', name: SOURCE_NAME });

export const QEMU_OUTPUT_DIRECTORY = 'dist/packer/qemu';
export const VSPHERE_EXPORT_DIRECTORY = 'dist/packer/vsphere-iso';
export const MANIFEST = 'dist/packer/manifest.json';

export type OutputFormat = 'qcow2' | 'raw';

/** The qemu build's image: the hand-off to ova/ (assembleOva). */
export const qemuImagePath = (version: string, format: OutputFormat = 'qcow2'): string =>
  `${QEMU_OUTPUT_DIRECTORY}/keyhaven-${version}.${format}`;

export interface KeyhavenTemplateOptions {
  /** The Keyhaven version (package.json), in file and VM names. */
  readonly version: string;
  /** The provisioning steps, the same list the image pipeline applies. */
  readonly steps: readonly ProvisioningStep[];
  /** Disk format of the qemu build's image (default qcow2: sparse and compacted after the build). */
  readonly outputFormat?: OutputFormat;
  /** How the qemu build's public key reaches the guest (default: SMBIOS systemd credential). */
  readonly buildKeyDelivery?: BuildKeyDelivery;
}

export function keyhavenTemplate(options: KeyhavenTemplateOptions): PackerTemplate {
  const { version, steps } = options;
  assertVersion('version', version);
  const format = options.outputFormat ?? 'qcow2';
  if (format !== 'qcow2' && format !== 'raw') throw invalid('outputFormat', `${JSON.stringify(format)} is not qcow2 or raw`);
  const buildKeyDelivery = options.buildKeyDelivery ?? 'smbios-credential';
  if (buildKeyDelivery !== 'smbios-credential' && buildKeyDelivery !== 'base-disk') {
    throw invalid('buildKeyDelivery', `${JSON.stringify(buildKeyDelivery)} is not smbios-credential or base-disk`);
  }
  const vmName = `keyhaven-${version}`;
  const hw = APPLIANCE_VM;

  const qemu = qemuSource({
    name: SOURCE_NAME,
    baseDisk: vars.baseDisk,
    baseDiskChecksum: vars.baseDiskChecksum,
    accelerator: vars.accelerator,
    qemuBinary: vars.qemuBinary,
    buildKey: vars.buildKey,
    buildKeyDelivery,
    outputDirectory: QEMU_OUTPUT_DIRECTORY,
    vmName: `${vmName}.${format}`,
    format,
    cpus: hw.cpus,
    memoryMiB: hw.memoryMiB,
    // Software emulation boots a systemd system in minutes, not seconds.
    sshTimeout: '30m',
    shutdownTimeout: '10m',
  });

  const vsphere = vsphereIsoSource({
    name: SOURCE_NAME,
    vcenter: {
      server: vars.vcenterServer,
      username: vars.vcenterUsername,
      password: vars.vcenterPassword,
      insecureConnection: vars.vcenterInsecureConnection,
      datacenter: vars.vcenterDatacenter,
      cluster: vars.vcenterCluster,
      datastore: vars.vcenterDatastore,
      folder: vars.vcenterFolder,
      network: vars.vcenterNetwork,
    },
    vmName,
    notes: `Keyhaven ${version} key manager appliance, built with Packer`,
    hardware: hw,
    isoUrl: vars.debianIsoUrl,
    isoChecksum: vars.debianIsoChecksum,
    httpDirectory: vars.preseedHttpDirectory,
    buildKey: vars.buildKey,
    bootWait: '10s',
    // The whole Debian installation happens before the IP appears.
    ipWaitTimeout: '1h',
    sshTimeout: '30m',
    shutdownTimeout: '10m',
    exportDirectory: VSPHERE_EXPORT_DIRECTORY,
  });

  return {
    requiredVersion: '>= 1.6.6',
    variables: keyhavenVariables(),
    sources: [qemu, vsphere],
    build: {
      sources: [QEMU_BUILD, VSPHERE_ISO_BUILD],
      provisioners: toProvisioners(steps),
      // The manifest lists each build's artifact files (the qemu image path for ova/), with the version.
      postProcessors: [{ type: 'manifest', config: { output: MANIFEST, strip_path: false, custom_data: { keyhaven_version: version } } }],
    },
  };
}
