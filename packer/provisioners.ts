// The provisioning steps, as data shared by the image pipeline (appliance/) and the Packer template.
// The pipeline applies them to its own build VM or chroot; keyhavenTemplate() turns the same list into
// Packer `file` and `shell` provisioners, so an image built by Packer (qemu or in a team's own vCenter)
// goes through exactly the steps the pipeline applies.
//
// Paths on the build side are relative to the repository root; paths in the guest are absolute.
// Scripts run as root in the guest, one after another; a non-zero exit fails the build.
import { goTpl, type Provisioner } from './model.js';
import { assertEnv, assertGuestPath, assertRepoPath, invalid } from './validate.js';

export type ProvisioningStep =
  | {
      readonly kind: 'file';
      /** File (or directory, with a trailing `/`: its contents) on the build host. */
      readonly source: string;
      /** Absolute path in the guest; for a directory source, an existing directory. */
      readonly destination: string;
      /** The source is produced earlier in the same pipeline run (under dist/), so it need not exist when the template is validated. */
      readonly generated?: boolean;
    }
  | {
      readonly kind: 'shell';
      /** A script in the repository, run as root in the guest. */
      readonly script: string;
      /** Exported to the script. */
      readonly env?: Readonly<Record<string, string>>;
      /**
       * This step removes every way in that the build used (the build SSH key, and the hooks that
       * could install one again). Exactly one step has it, and it is the last: after it, nothing can
       * log in to the guest any more, and the image is what ships.
       */
      readonly removesBuildAccess?: true;
    };

/**
 * Where provisioner scripts are uploaded and run from. Not /tmp: the hardening step may mount /tmp
 * noexec, and on Debian 13 /tmp is a tmpfs anyway; /root is root's own and on the root file system.
 */
export const REMOTE_FOLDER = '/root';

/** Checks the list: valid paths and environment, and the build-access removal last and only once. */
export function validateSteps(steps: readonly ProvisioningStep[]): void {
  if (steps.length === 0) throw invalid('steps', 'the step list is empty');
  steps.forEach((step, i) => {
    const where = `steps[${i}]`;
    if (step.kind === 'file') {
      assertRepoPath(`${where}.source`, step.source);
      assertGuestPath(`${where}.destination`, step.destination);
    } else if (step.kind === 'shell') {
      assertRepoPath(`${where}.script`, step.script);
      if (step.script.endsWith('/')) throw invalid(`${where}.script`, `${JSON.stringify(step.script)} is a directory, not a script`);
      for (const [name, value] of Object.entries(step.env ?? {})) assertEnv(`${where}.env`, name, value);
    } else {
      throw invalid(where, `unknown step kind ${JSON.stringify((step as { kind?: unknown }).kind)}`);
    }
  });
  const removals = steps.flatMap((s, i) => (s.kind === 'shell' && s.removesBuildAccess ? [i] : []));
  if (removals.length !== 1 || removals[0] !== steps.length - 1) {
    throw invalid(
      'steps',
      removals.length === 0
        ? 'no step removes the build access: the last step must be a shell step with removesBuildAccess: true'
        : `the step that removes the build access must be the last one and the only one (found at ${removals.join(', ')} of ${steps.length})`,
    );
  }
}

/** The Packer provisioners for a (valid) step list. */
export function toProvisioners(steps: readonly ProvisioningStep[]): Provisioner[] {
  validateSteps(steps);
  return steps.map((step): Provisioner => {
    if (step.kind === 'file') {
      return { type: 'file', config: { source: step.source, destination: step.destination, generated: step.generated ? true : undefined } };
    }
    const env = Object.entries(step.env ?? {}).map(([name, value]) => `${name}=${value}`);
    return {
      type: 'shell',
      config: {
        script: step.script,
        environment_vars: env.length > 0 ? env : undefined,
        remote_folder: REMOTE_FOLDER,
        // Packer's default is `chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}`: ';' would run the script
        // even when chmod failed. The script runs through its own #! line.
        execute_command: goTpl`chmod 0700 {{ .Path }} && {{ .Vars }} {{ .Path }}`,
      },
    };
  });
}
