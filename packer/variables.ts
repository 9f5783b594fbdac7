// The input variables of keyhaven.pkr.json: what the image pipeline or a vCenter team sets with
// `-var name=value` / `-var-file`. Defaults are the repository's layout (Packer runs from the
// repository root). The Keyhaven version is not a variable: the template is rendered per version.
//
// Packer 1.6.6 refuses to run while any variable without a default is unset, even for a source that
// `-only=` leaves out. The vCenter variables therefore default to "": a qemu build then needs none of
// them, and vsphere-iso itself refuses an empty server, username, password or cluster when a vsphere
// build is selected (see sources/vsphere-iso.ts). The same goes for debian_iso_checksum: its "" default
// makes vsphere-iso stop with "A checksum must be specified" until a team pins its ISO.
import { hcl, v, type Expr, type Variable } from './model.js';
import { assertIdentifier } from './validate.js';

/** A variable declaration, its name checked. */
export function variable(spec: Variable): Variable {
  assertIdentifier('variable', spec.name);
  return spec;
}

/** The template's variables by role; each value is the `var.x` reference used in the template. */
export const vars = {
  baseDisk: v('base_disk'),
  baseDiskChecksum: v('base_disk_checksum'),
  accelerator: v('accelerator'),
  qemuBinary: v('qemu_binary'),
  buildKey: v('build_key'),
  vcenterServer: v('vcenter_server'),
  vcenterUsername: v('vcenter_username'),
  vcenterPassword: v('vcenter_password'),
  vcenterInsecureConnection: v('vcenter_insecure_connection'),
  vcenterDatacenter: v('vcenter_datacenter'),
  vcenterCluster: v('vcenter_cluster'),
  vcenterDatastore: v('vcenter_datastore'),
  vcenterFolder: v('vcenter_folder'),
  vcenterNetwork: v('vcenter_network'),
  debianIsoUrl: v('debian_iso_url'),
  debianIsoChecksum: v('debian_iso_checksum'),
  preseedHttpDirectory: v('preseed_http_directory'),
} as const satisfies Record<string, Expr>;

/** Defaults of the variables the image pipeline cares about (paths relative to the repository root). */
export const DEFAULT_BASE_DISK = 'dist/cache/keyhaven-base.qcow2';
export const DEFAULT_BUILD_KEY = 'dist/build-key/id_ed25519';
export const DEFAULT_PRESEED_HTTP_DIRECTORY = 'dist/packer/http';

export function keyhavenVariables(): Variable[] {
  return [
    // --- qemu: the image pipeline's build
    variable({
      name: 'base_disk',
      type: 'string',
      description: 'Base disk image (qcow2 or raw) built by the image pipeline; booted by the qemu source.',
      default: DEFAULT_BASE_DISK,
    }),
    variable({
      name: 'base_disk_checksum',
      type: 'string',
      // "none": the base disk is built locally by the same pipeline run, moments before, and never
      // downloaded, so a checksum guards no transfer; Packer then warns "A checksum of 'none' was
      // specified". The pipeline should still pass sha256:<hex> of the disk it built, which ties the
      // Packer build to exactly that file (a stale dist/cache would then fail instead of being used).
      description: 'Checksum of base_disk as sha256:<hex>, or none (it is built locally; see packer/variables.ts).',
      default: 'none',
    }),
    variable({
      name: 'accelerator',
      type: 'string',
      description: 'QEMU accelerator: tcg (software, works everywhere) or kvm (needs /dev/kvm).',
      default: 'tcg',
      validation: { condition: hcl('contains(["tcg", "kvm"], var.accelerator)'), errorMessage: 'The accelerator must be "tcg" or "kvm".' },
    }),
    variable({
      name: 'qemu_binary',
      type: 'string',
      description: 'QEMU system emulator to run (e.g. /usr/libexec/qemu-kvm on some distributions).',
      default: 'qemu-system-x86_64',
    }),
    variable({
      name: 'build_key',
      type: 'string',
      description: 'SSH private key generated for this build only (public key next to it as .pub); removed from the image by the last step.',
      default: DEFAULT_BUILD_KEY,
    }),
    // --- vsphere-iso: building in a team's own vCenter
    variable({ name: 'vcenter_server', type: 'string', description: 'vCenter host name (vsphere-iso builds only; required there).', default: '' }),
    variable({ name: 'vcenter_username', type: 'string', description: 'vCenter user (vsphere-iso builds only; required there).', default: '' }),
    variable({
      name: 'vcenter_password',
      type: 'string',
      description: 'vCenter password (vsphere-iso builds only; required there). Pass it with -var-file or PKR_VAR_vcenter_password, not on the command line.',
      default: '',
      sensitive: true,
    }),
    variable({
      name: 'vcenter_insecure_connection',
      type: 'bool',
      description: 'Skip verification of the vCenter TLS certificate. Only for a lab; keep false.',
      default: false,
    }),
    variable({ name: 'vcenter_datacenter', type: 'string', description: 'Datacenter; may stay empty when vCenter has exactly one.', default: '' }),
    variable({ name: 'vcenter_cluster', type: 'string', description: 'Cluster the VM is built in (vsphere-iso builds only; required there).', default: '' }),
    variable({ name: 'vcenter_datastore', type: 'string', description: 'Datastore for the VM and the uploaded ISO; may stay empty when the cluster has exactly one.', default: '' }),
    variable({ name: 'vcenter_folder', type: 'string', description: 'VM folder; empty for the datacenter root folder.', default: '' }),
    variable({
      name: 'vcenter_network',
      type: 'string',
      description: 'Port group the build VM is connected to; it must reach this machine (preseed over HTTP) and be reachable on 22/tcp.',
      default: '',
    }),
    variable({
      name: 'debian_iso_url',
      type: 'string',
      description: 'Debian 13 amd64 netinst ISO: a local path or URL of a pinned point release.',
      default: 'dist/cache/debian-13-amd64-netinst.iso',
    }),
    variable({
      name: 'debian_iso_checksum',
      type: 'string',
      description: 'sha256:<hex> of debian_iso_url, from the release SHA256SUMS (a file: URL would be fetched by packer validate).',
      default: '',
    }),
    variable({
      name: 'preseed_http_directory',
      type: 'string',
      description: 'Directory served to the Debian installer: preseed.cfg and build-key.pub, staged by the image pipeline.',
      default: DEFAULT_PRESEED_HTTP_DIRECTORY,
    }),
  ];
}
