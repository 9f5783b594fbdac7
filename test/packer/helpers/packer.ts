// Runs Debian's packer for the tests, in a throw-away working directory laid out like the repository:
// Packer resolves the template's relative paths against its working directory, and `packer validate`
// stats every provisioner script and non-generated file source, and reads the SSH key.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeBuildKey, type BuildKey } from '../../../packer/build-key.js';
import type { ProvisioningStep } from '../../../packer/provisioners.js';
import { REPO_ROOT } from '../../../packer/render-template.js';
import { DEFAULT_BUILD_KEY } from '../../../packer/variables.js';

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together (Packer prints errors on either). */
  readonly output: string;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      // No telemetry; no color codes in what the tests match.
      env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}

/** Why the packer tests cannot run here, or false when they can. */
export async function packerSkip(): Promise<string | false> {
  try {
    const r = await run('packer', ['version']);
    if (r.code !== 0) return `packer version failed: ${r.output.trim()}`;
    return false;
  } catch {
    return 'packer is not installed (apt-get install packer; test/install-deps.sh installs it)';
  }
}

/** `unshare -n` works here (root, or unprivileged user namespaces): packer can be run without network. */
export async function canUnshareNet(): Promise<boolean> {
  try {
    return (await run('unshare', ['-n', 'true'])).code === 0;
  } catch {
    return false;
  }
}

export interface Workdir {
  readonly dir: string;
  readonly template: string;
  readonly buildKey: BuildKey;
  cleanup(): Promise<void>;
}

/**
 * A directory with the template, a fresh build key at its default path and an empty stand-in for
 * every repository file the steps reference (the provisioning scripts are written with the image
 * pipeline; here only their existence matters to Packer).
 */
export async function workdir(templateText: string, steps: readonly ProvisioningStep[]): Promise<Workdir> {
  const dir = await mkdtemp(join(tmpdir(), 'kh-packer-'));
  const template = join(dir, 'keyhaven.pkr.json');
  await writeFile(template, templateText);
  for (const step of steps) {
    if (step.kind === 'file' && step.generated) continue;
    const path = step.kind === 'file' ? step.source : step.script;
    // A directory in the repository (appliance/systemd) gets a directory; anything else a file.
    const isDir = path.endsWith('/') || (await stat(join(REPO_ROOT, path)).then((s) => s.isDirectory(), () => false));
    if (isDir) {
      await mkdir(join(dir, path), { recursive: true });
      await writeFile(join(dir, path, 'stand-in.service'), '');
    } else {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    }
  }
  const buildKey = await writeBuildKey(join(dir, DEFAULT_BUILD_KEY));
  return { dir, template, buildKey, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const SHA256_ZERO = `sha256:${'0'.repeat(64)}`;
export const SHA256_ONE = `sha256:${'1'.repeat(64)}`;

/**
 * Stand-in vCenter values. Packer 1.6.6 redacts a sensitive value wherever it appears in its output
 * (even inside words), so the password is a string that cannot occur in a message by accident.
 */
export const VCENTER_VARS: Readonly<Record<string, string>> = {
  vcenter_server: 'vcenter.example.invalid',
  vcenter_username: 'packer-builder@vsphere.local',
  vcenter_password: 'stand-in-vcenter-password-7f3a',
  vcenter_datacenter: 'dc-1',
  vcenter_cluster: 'cluster-1',
  vcenter_datastore: 'datastore-1',
  vcenter_folder: 'keyhaven',
  vcenter_network: 'build-network',
  debian_iso_checksum: SHA256_ONE,
};

export const varArgs = (vars: Readonly<Record<string, string>>): string[] => Object.entries(vars).flatMap(([k, val]) => ['-var', `${k}=${val}`]);
