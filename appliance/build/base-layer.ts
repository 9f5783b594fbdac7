// Stage 1: the base layer — Debian 13 ("trixie", minimal variant) with the packages the appliance
// runs, its kernel trimmed to what a VM needs (base/customize.sh), as a zstd tar. It depends only on
// the inputs below, so it is cached under dist/cache by their hash: a change to the key server
// rebuilds the OVA from this tar without downloading anything.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './run-command.js';

/** Bump when the way the layer is made changes in a way the inputs below do not show. */
const LAYER_FORMAT = 1;

export const SUITE = 'trixie';

/** The packages the appliance runs; their dependencies come along, recommendations do not. */
export const BASE_PACKAGES = [
  'linux-image-amd64',
  'initramfs-tools',
  'zstd',
  'kmod',
  'udev',
  'systemd',
  'systemd-sysv',
  'e2fsprogs',
  'iproute2',
  'nftables',
  'nodejs',
  'openssh-server',
  'chrony',
  'open-vm-tools',
  // Hardening (provision/40-harden.sh): the OS audit trail, the key server's AppArmor confinement,
  // daily file-integrity checks, process accounting.
  'auditd',
  'apparmor',
  'aide',
  'acct',
  // Password quality for PAM (provision/50-admin-access.sh); a private temporary directory per login.
  'libpam-pwquality',
  'libpam-tmpdir',
  // Forwarding to the SIEM (provision/45-log-forwarding.sh).
  'rsyslog',
] as const;

/** Documentation, manual pages and translations are never unpacked (dpkg --path-exclude). */
const DPKG_OPTIONS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/lintian/*',
];

export interface BaseLayerOptions {
  readonly repoRoot: string;
  readonly cacheDir: string;
  readonly mirror: string;
  readonly logFile: string;
  /** Build it again even when cached. */
  readonly rebuild?: boolean;
}

export interface BaseLayer {
  readonly tarball: string;
  readonly cached: boolean;
}

function customizeScript(repoRoot: string): string {
  return join(repoRoot, 'appliance/build/base/customize.sh');
}

/** The cache key: everything that decides the layer's content. */
export function baseLayerKey(repoRoot: string, mirror: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ LAYER_FORMAT, SUITE, mirror, BASE_PACKAGES, DPKG_OPTIONS }));
  h.update(readFileSync(customizeScript(repoRoot)));
  return h.digest('hex').slice(0, 16);
}

export async function ensureBaseLayer(o: BaseLayerOptions): Promise<BaseLayer> {
  const key = baseLayerKey(o.repoRoot, o.mirror);
  const tarball = join(o.cacheDir, `base-${SUITE}-${key}.tar.zst`);
  if (existsSync(tarball) && !o.rebuild) return { tarball, cached: true };
  mkdirSync(o.cacheDir, { recursive: true });
  // mmdebstrap picks the compressor from the extension, so the partial file keeps it.
  const partial = join(o.cacheDir, `partial-${key}.tar.zst`);
  rmSync(partial, { force: true });
  await runCommand(
    'mmdebstrap',
    [
      '--mode=root',
      '--variant=minbase',
      `--include=${BASE_PACKAGES.join(',')}`,
      ...DPKG_OPTIONS.map((d) => `--dpkgopt=${d}`),
      '--aptopt=Acquire::Retries "3"',
      `--customize-hook=upload ${customizeScript(o.repoRoot)} /root/customize.sh`,
      '--customize-hook=chroot "$1" /bin/sh /root/customize.sh',
      '--customize-hook=rm -f "$1/root/customize.sh"',
      SUITE,
      partial,
      o.mirror,
    ],
    { logFile: o.logFile },
  );
  renameSync(partial, tarball);
  // Older layers (other inputs) are not used again: keep the cache to one.
  for (const f of readdirSync(o.cacheDir)) if (/^base-.*\.tar\.zst$/.test(f) && join(o.cacheDir, f) !== tarball) rmSync(join(o.cacheDir, f), { force: true });
  return { tarball, cached: false };
}
