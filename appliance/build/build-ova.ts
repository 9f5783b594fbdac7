// `npm run ova`: Debian 13 packages -> root file system -> bootable disk -> dist/keyhaven-<version>.ova.
// Stages: base layer (cached), key server bundle, root file system (provisioning steps in a chroot),
// disk image, then the OVA (streamOptimized VMDK, OVF descriptor, manifest, tar). Run as root.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assembleOva } from '../../ova/assemble.js';
import { KeyhavenError } from '../errors.js';
import { ensureBaseLayer } from './base-layer.js';
import { buildDiskImage } from './disk-image.js';
import { buildRootfs } from './rootfs.js';
import { buildServerBundle } from './server-bundle.js';
import { StageTimer } from './stage-timer.js';

const USAGE = `usage: npm run ova -- [options]      (as root; first: bash appliance/install-build-deps.sh)

  --out DIR               where keyhaven-<version>.ova goes (default dist)
  --disk-gib N            virtual disk size (default 8; only used blocks are stored in the OVA)
  --hardware-version N    vmx-N in the descriptor (default 15: ESXi 6.7 U2 and later)
  --mirror URL            Debian archive (default http://deb.debian.org/debian)
  --rebuild-base          build the cached base layer again (new Debian package versions)
  --keep-work             keep the work directory (root file system, raw disk) for inspection
  --work DIR              work directory (default dist/work); concurrent builds need their own
`;

export interface BuildOvaOptions {
  readonly repoRoot: string;
  readonly outDir: string;
  readonly diskGiB: number;
  readonly hardwareVersion: number;
  readonly mirror: string;
  readonly rebuildBase: boolean;
  readonly keepWork: boolean;
  /** Scratch space (root file system, raw disk, log); default dist/work. One build at a time per directory. */
  readonly workDir?: string;
  readonly log: (line: string) => void;
}

export interface BuildOvaResult {
  readonly ova: string;
  readonly size: number;
  readonly sha256: string;
  readonly seconds: number;
  readonly stages: { name: string; seconds: number }[];
}

export async function buildOva(o: BuildOvaOptions): Promise<BuildOvaResult> {
  const version = (JSON.parse(readFileSync(join(o.repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const dist = join(o.repoRoot, 'dist');
  const cacheDir = join(dist, 'cache');
  const workDir = o.workDir ?? join(dist, 'work');
  mkdirSync(workDir, { recursive: true });
  const logFile = join(workDir, 'build.log');
  writeFileSync(logFile, '');
  const t = new StageTimer(o.log);
  o.log(`Keyhaven ${version}: building the OVA (log: ${logFile})`);

  t.start('base layer', `Debian 13 from ${o.mirror}`);
  const base = await ensureBaseLayer({ repoRoot: o.repoRoot, cacheDir, mirror: o.mirror, logFile, rebuild: o.rebuildBase });
  t.note(`${base.cached ? 'cached' : 'built'}: ${base.tarball}`);

  t.start('key server');
  const bundle = await buildServerBundle({ repoRoot: o.repoRoot, version, workDir, cacheDir, logFile });
  t.note(`${bundle.tarball} (production modules ${bundle.modulesCached ? 'cached' : 'installed'})`);

  t.start('root file system');
  const rootDir = join(workDir, 'rootfs');
  await buildRootfs({ repoRoot: o.repoRoot, version, baseTarball: base.tarball, rootDir, logFile, onStep: (s) => t.note(s) });

  t.start('disk image', `${o.diskGiB} GiB, BIOS boot`);
  const rawDisk = join(workDir, 'disk.raw');
  await buildDiskImage({ rootDir, output: rawDisk, sizeGiB: o.diskGiB, version, workDir, logFile });

  const result = await assembleOva({
    rawDisk,
    version,
    outDir: o.outDir,
    hardwareVersion: o.hardwareVersion,
    scsiController: 'pvscsi',
    firmware: 'bios',
    onStage: (s) => t.start(s === 'vmdk' ? 'streamOptimized VMDK' : s === 'descriptor' ? 'OVF descriptor' : s === 'manifest' ? 'manifest' : 'OVA archive'),
  });
  t.end();
  if (!o.keepWork) {
    rmSync(rootDir, { recursive: true, force: true });
    rmSync(rawDisk, { force: true });
    rmSync(join(workDir, 'server'), { recursive: true, force: true });
    rmSync(join(workDir, 'core.img'), { force: true });
  }
  const seconds = t.totalSeconds();
  o.log(`OVA: ${result.ova.path}`);
  o.log(`size: ${(result.ova.size / 1024 / 1024).toFixed(1)} MiB (${result.ova.size} bytes; disk ${(result.vmdk.size / 1024 / 1024).toFixed(1)} MiB of ${o.diskGiB} GiB)`);
  o.log(`SHA-256: ${result.ova.sha256}`);
  o.log(`total: ${seconds.toFixed(1)} s (${t.durations.map((d) => `${d.name} ${d.seconds.toFixed(1)} s`).join(', ')})`);
  return { ova: result.ova.path, size: result.ova.size, sha256: result.ova.sha256, seconds, stages: t.durations };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'disk-gib': { type: 'string', default: '8' },
        'hardware-version': { type: 'string', default: '15' },
        mirror: { type: 'string', default: process.env.KEYHAVEN_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian' },
        'rebuild-base': { type: 'boolean', default: false },
        'keep-work': { type: 'boolean', default: false },
        work: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run ova must run as root (mmdebstrap, chroot and mount need it).\n');
    return 2;
  }
  const diskGiB = Number(values['disk-gib']);
  const hardwareVersion = Number(values['hardware-version']);
  if (!Number.isInteger(hardwareVersion) || hardwareVersion < 10 || hardwareVersion > 21) {
    process.stderr.write(`--hardware-version ${values['hardware-version']}: use a number from 10 to 21 (15 = ESXi 6.7 U2)\n`);
    return 2;
  }
  if (!/^https?:\/\/[^\s]+$/.test(values.mirror)) {
    process.stderr.write(`--mirror ${values.mirror}: give an http(s) URL of a Debian archive\n`);
    return 2;
  }
  const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  try {
    await buildOva({
      repoRoot,
      outDir: resolve(values.out ?? join(repoRoot, 'dist')),
      diskGiB,
      hardwareVersion,
      mirror: values.mirror,
      rebuildBase: values['rebuild-base'],
      keepWork: values['keep-work'],
      ...(values.work ? { workDir: resolve(values.work) } : {}),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`build failed${err instanceof KeyhavenError ? ` [${err.code}]` : ''}: ${e instanceof KeyhavenError ? e.message : e.stack ?? e.message}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
