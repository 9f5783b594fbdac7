// Stage 3: the appliance's root file system — the base layer unpacked, then the provisioning steps of
// packer/default-steps.ts applied in a chroot: the same list, scripts and order a Packer build runs
// over SSH, so the two images cannot drift apart.
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defaultProvisioningSteps } from '../../packer/default-steps.js';
import type { ProvisioningStep } from '../../packer/provisioners.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { runCommand } from './run-command.js';

export interface RootfsOptions {
  readonly repoRoot: string;
  readonly version: string;
  readonly baseTarball: string;
  /** Emptied and filled. */
  readonly rootDir: string;
  readonly logFile: string;
  readonly onStep?: (description: string) => void;
}

const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The virtual file systems a package script or systemctl expects, mounted for the chroot's lifetime. */
async function withChrootMounts<T>(root: string, logFile: string, body: () => Promise<T>): Promise<T> {
  const mounts: string[] = [];
  const mount = async (args: string[], target: string): Promise<void> => {
    await runCommand('mount', [...args, join(root, target)], { logFile });
    mounts.push(join(root, target));
  };
  try {
    await mount(['-t', 'proc', 'proc'], 'proc');
    await mount(['-t', 'sysfs', 'sysfs'], 'sys');
    await mount(['--bind', '/dev'], 'dev');
    await mount(['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666', 'devpts'], 'dev/pts');
    await mount(['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs'], 'run');
    await mount(['-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs'], 'tmp');
    return await body();
  } finally {
    for (const m of mounts.reverse()) await runCommand('umount', ['--lazy', m], { logFile }).catch(() => undefined);
  }
}

function copyIntoGuest(repoRoot: string, root: string, step: Extract<ProvisioningStep, { kind: 'file' }>): void {
  const source = join(repoRoot, step.source);
  if (!existsSync(source)) throw new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, `provisioning: ${step.source} does not exist`);
  // Packer's file provisioner: a directory with a trailing / uploads its contents, without one the
  // directory itself into the destination directory.
  const isDir = statSync(source).isDirectory();
  const target = isDir && !step.source.endsWith('/') ? join(root, step.destination, basename(step.source)) : join(root, step.destination);
  mkdirSync(isDir ? target : join(target, '..'), { recursive: true });
  cpSync(source, target, { recursive: true });
}

export async function buildRootfs(o: RootfsOptions): Promise<void> {
  rmSync(o.rootDir, { recursive: true, force: true });
  mkdirSync(o.rootDir, { recursive: true });
  await runCommand('tar', ['--zstd', '-xpf', o.baseTarball, '-C', o.rootDir, '--numeric-owner', '--xattrs', '--xattrs-include=*'], { logFile: o.logFile });
  await withChrootMounts(o.rootDir, o.logFile, async () => {
    for (const [i, step] of defaultProvisioningSteps(o.version).entries()) {
      if (step.kind === 'file') {
        o.onStep?.(`upload ${step.source} -> ${step.destination}`);
        copyIntoGuest(o.repoRoot, o.rootDir, step);
        continue;
      }
      o.onStep?.(`run ${step.script}`);
      const guestScript = `/root/provision-${i}.sh`;
      cpSync(join(o.repoRoot, step.script), join(o.rootDir, guestScript));
      const env = Object.entries(step.env ?? {}).map(([k, v]) => `${k}=${v}`);
      try {
        await runCommand('chroot', [o.rootDir, '/usr/bin/env', '-i', `PATH=${CHROOT_PATH}`, 'LANG=C.UTF-8', ...env, '/bin/sh', guestScript], { logFile: o.logFile });
      } finally {
        rmSync(join(o.rootDir, guestScript), { force: true });
      }
    }
  });
}
