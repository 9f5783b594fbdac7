// A typed model of the small part of a Packer HCL2 template that Keyhaven uses, in the JSON form
// (`*.pkr.json`, https://www.packer.io/docs/templates/hcl_templates/syntax-json): `packer`,
// `variable`, `source` and `build` blocks. Only what the appliance needs is modelled, so every value
// has one known rendering; render.ts validates the whole template before it becomes JSON.
//
// Strings are the dangerous part of that format: Packer reads every JSON string as an HCL *template*
// (`${…}` is evaluated, `%{…}` is a directive) and many builder/provisioner fields are then run
// through Go's text/template (`{{ … }}`) at build time. So the model says, for every string, which of
// the three it is:
//   - a plain `string` is a literal: render.ts escapes `${`/`%{` and refuses `{{`;
//   - an `Expr` is an HCL expression, rendered as `"${expr}"` (e.g. a variable reference);
//   - a `Template` mixes literal parts and expressions, and may allow Go-template `{{ … }}`
//     for the fields Packer documents as such (boot_command, qemuargs, execute_command).

/** An HCL expression, rendered as `${hcl}`. Build with `hcl()` or `v()`. */
export interface Expr {
  readonly kind: 'expr';
  readonly hcl: string;
}

/** Literal parts and expressions concatenated into one string. Build with `tpl` or `goTpl`. */
export interface Template {
  readonly kind: 'template';
  readonly parts: readonly (string | Expr)[];
  /** The field is evaluated by Packer as a Go template at build time; `{{ … }}` is intended. */
  readonly goTemplate: boolean;
}

/** A string-valued field: literal, expression or template. */
export type Text = string | Expr | Template;

/** Any value a source or provisioner field can take. */
export type Value = Text | number | boolean | readonly Value[] | { readonly [key: string]: Value | undefined };

/** An HCL expression (`${hcl}`). */
export const hcl = (expression: string): Expr => ({ kind: 'expr', hcl: expression });

/** A reference to an input variable: `${var.name}`. */
export const v = (name: string): Expr => hcl(`var.${name}`);

function template(goTemplate: boolean, strings: TemplateStringsArray, exprs: readonly Expr[]): Template {
  const parts: (string | Expr)[] = [];
  strings.forEach((s, i) => {
    if (s !== '') parts.push(s);
    const e = exprs[i];
    if (e) parts.push(e);
  });
  return { kind: 'template', parts, goTemplate };
}

/** tpl`literal ${expr} literal`: literal text around HCL expressions. */
export const tpl = (strings: TemplateStringsArray, ...exprs: Expr[]): Template => template(false, strings, exprs);

/** goTpl`… {{ .HTTPIP }} …`: like tpl, for fields Packer also evaluates as Go templates. */
export const goTpl = (strings: TemplateStringsArray, ...exprs: Expr[]): Template => template(true, strings, exprs);

export const isExpr = (x: unknown): x is Expr => typeof x === 'object' && x !== null && (x as Expr).kind === 'expr';
export const isTemplate = (x: unknown): x is Template =>
  typeof x === 'object' && x !== null && (x as Template).kind === 'template';

// ---------------------------------------------------------------------------------------------
// Variables (https://www.packer.io/docs/templates/hcl_templates/variables)

export type VariableType = 'string' | 'number' | 'bool';

export interface VariableValidation {
  /** An HCL boolean expression over the variable, e.g. `contains(["tcg", "kvm"], var.accelerator)`. */
  readonly condition: Expr;
  /** A full sentence, shown by `packer validate`/`build` when the condition is false. */
  readonly errorMessage: string;
}

export interface Variable {
  readonly name: string;
  readonly type: VariableType;
  readonly description: string;
  /** Absent: the variable is required (Packer refuses to run without a value for it). */
  readonly default?: string | number | boolean;
  /** Packer redacts the value from its output (`sensitive = true`). */
  readonly sensitive?: boolean;
  readonly validation?: VariableValidation;
}

// ---------------------------------------------------------------------------------------------
// Sources. Field names are Packer's own (snake_case, and vsphere-iso's `CPUs`/`RAM`), so the
// rendering is a plain walk and a reader can look every field up in Packer's documentation.

export type Duration = string; // "30m", "1h30m", "10s": Go's time.ParseDuration units h, m, s

/** The `qemu` builder, booting an existing disk image (`disk_image = true`). */
export interface QemuConfig {
  readonly iso_url: Text;
  readonly iso_checksum: Text;
  readonly disk_image: true;
  readonly use_backing_file: false;
  readonly skip_resize_disk: boolean;
  readonly format: 'qcow2' | 'raw';
  readonly headless: true;
  readonly accelerator: Text;
  readonly qemu_binary: Text;
  readonly cpus: number;
  readonly memory: number;
  readonly disk_interface: 'virtio' | 'virtio-scsi' | 'ide' | 'scsi';
  readonly net_device: 'virtio-net' | 'e1000' | 'vmxnet3';
  readonly output_directory: Text;
  readonly vm_name: Text;
  readonly vnc_bind_address: string;
  /** Each inner list is one switch and its value, e.g. `["-netdev", "user,…"]`. */
  readonly qemuargs: readonly (readonly Text[])[];
  readonly communicator: 'ssh';
  readonly ssh_username: Text;
  readonly ssh_private_key_file: Text;
  readonly ssh_timeout: Duration;
  readonly shutdown_command: Text;
  readonly shutdown_timeout: Duration;
}

export interface VsphereStorage {
  /** MiB. */
  readonly disk_size: number;
  readonly disk_thin_provisioned: boolean;
}

export interface VsphereNetworkAdapter {
  readonly network: Text;
  readonly network_card: 'vmxnet3' | 'e1000e' | 'e1000';
}

export interface VsphereExport {
  readonly name: Text;
  readonly output_directory: Text;
  readonly force: boolean;
  readonly manifest: 'none' | 'sha1' | 'sha256' | 'sha512';
}

/** The `vsphere-iso` builder: creates a VM in vCenter and installs it from an ISO. */
export interface VsphereIsoConfig {
  readonly vcenter_server: Text;
  readonly username: Text;
  readonly password: Text;
  readonly insecure_connection: boolean | Expr;
  readonly datacenter: Text;
  readonly cluster: Text;
  readonly datastore: Text;
  readonly folder: Text;
  readonly vm_name: Text;
  readonly notes: Text;
  readonly guest_os_type: string;
  readonly firmware: 'bios' | 'efi';
  readonly CPUs: number;
  readonly RAM: number;
  readonly disk_controller_type: readonly ('pvscsi' | 'lsilogic' | 'lsilogic-sas')[];
  readonly storage: readonly VsphereStorage[];
  readonly network_adapters: readonly VsphereNetworkAdapter[];
  readonly vm_version: number;
  readonly iso_url: Text;
  readonly iso_checksum: Text;
  readonly remove_cdrom: boolean;
  readonly http_directory: Text;
  readonly boot_wait: Duration;
  readonly boot_command: readonly Text[];
  readonly ip_wait_timeout: Duration;
  readonly communicator: 'ssh';
  readonly ssh_username: Text;
  readonly ssh_private_key_file: Text;
  readonly ssh_timeout: Duration;
  readonly shutdown_command: Text;
  readonly shutdown_timeout: Duration;
  readonly convert_to_template: boolean;
  readonly export: VsphereExport;
}

export type Source =
  | { readonly type: 'qemu'; readonly name: string; readonly config: QemuConfig }
  | { readonly type: 'vsphere-iso'; readonly name: string; readonly config: VsphereIsoConfig };

/** `qemu.keyhaven`: how `-only=` and the build's `sources` name a source. */
export const sourceId = (s: Pick<Source, 'type' | 'name'>): string => `${s.type}.${s.name}`;

// ---------------------------------------------------------------------------------------------
// Build: provisioners run in order on every source, then post-processors.

export interface FileProvisioner {
  readonly type: 'file';
  readonly config: {
    readonly source: Text;
    readonly destination: Text;
    /** The source is produced earlier in the same build pipeline: Packer must not stat it at validate. */
    readonly generated?: boolean;
  };
}

export interface ShellProvisioner {
  readonly type: 'shell';
  readonly config: {
    readonly script: Text;
    /** `NAME=value`, exported to the script. */
    readonly environment_vars?: readonly Text[];
    readonly remote_folder: string;
    readonly execute_command: Template;
    readonly timeout?: Duration;
  };
}

export type Provisioner = FileProvisioner | ShellProvisioner;

export interface ManifestPostProcessor {
  readonly type: 'manifest';
  readonly config: {
    readonly output: Text;
    readonly strip_path: boolean;
    readonly custom_data?: { readonly [key: string]: string };
  };
}

export type PostProcessor = ManifestPostProcessor;

export interface Build {
  /** Source ids (`qemu.keyhaven`), each declared in the template's sources. */
  readonly sources: readonly string[];
  readonly provisioners: readonly Provisioner[];
  readonly postProcessors: readonly PostProcessor[];
}

export interface PackerTemplate {
  /** `packer { required_version = … }`: Packer refuses the template outside this range. */
  readonly requiredVersion: string;
  readonly variables: readonly Variable[];
  readonly sources: readonly Source[];
  readonly build: Build;
}
