// Stage 4: the bootable raw disk — an MBR partition table with one ext4 partition (label keyhaven)
// made from the root file system directory (mkfs.ext4 -d, no loop devices needed), and GRUB for BIOS
// written into the MBR and the gap before the partition. The build host's GRUB (grub-pc-bin) makes
// the core image, so its modules are copied into /boot/grub alongside: the two must match.
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { renderGrubConfig, ROOT_LABEL } from './grub-config.js';
import { runCommand } from './run-command.js';

const GRUB_PLATFORM_DIR = '/usr/lib/grub/i386-pc';
const MIB = 1024 * 1024;
/** The partition starts at 1 MiB; GRUB's core image lives in the sectors before it. */
const PARTITION_OFFSET = MIB;
/** boot.img code area: the rest of sector 0 is the partition table (MBR layout). */
const MBR_CODE_BYTES = 440;

export interface DiskImageOptions {
  readonly rootDir: string;
  readonly output: string;
  readonly sizeGiB: number;
  readonly version: string;
  readonly workDir: string;
  readonly logFile: string;
}

/** The kernel and initrd the distribution's symlinks point at (/vmlinuz, /initrd.img). */
function bootFiles(rootDir: string): { kernel: string; initrd: string } {
  const resolve = (link: string): string => {
    const target = readlinkSync(join(rootDir, link));
    return target.startsWith('/') ? target : `/${target}`;
  };
  return { kernel: resolve('vmlinuz'), initrd: resolve('initrd.img') };
}

async function superuserHash(logFile: string): Promise<string> {
  // Nobody learns this password: it exists only so that GRUB refuses edits and its command line.
  const password = randomBytes(32).toString('base64');
  const out = await runCommand('grub-mkpasswd-pbkdf2', [], { input: `${password}\n${password}\n`, captureStdout: true, logFile });
  const hash = /grub\.pbkdf2\.sha512\.\S+/.exec(out)?.[0];
  if (!hash) throw new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, 'grub-mkpasswd-pbkdf2 printed no hash');
  return hash;
}

async function installGrubFiles(o: DiskImageOptions): Promise<void> {
  const grubDir = join(o.rootDir, 'boot/grub');
  rmSync(grubDir, { recursive: true, force: true });
  mkdirSync(join(grubDir, 'i386-pc'), { recursive: true });
  for (const f of readdirSync(GRUB_PLATFORM_DIR)) {
    if (f.endsWith('.mod') || f.endsWith('.lst')) copyFileSync(join(GRUB_PLATFORM_DIR, f), join(grubDir, 'i386-pc', f));
  }
  const { kernel, initrd } = bootFiles(o.rootDir);
  const cfg = renderGrubConfig({ superuserHash: await superuserHash(o.logFile), kernel, initrd, version: o.version });
  writeFileSync(join(grubDir, 'grub.cfg'), cfg, { mode: 0o600 });
}

function writeAt(file: string, data: Buffer, position: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, data, 0, data.length, position);
  } finally {
    closeSync(fd);
  }
}

export async function buildDiskImage(o: DiskImageOptions): Promise<void> {
  if (!Number.isInteger(o.sizeGiB) || o.sizeGiB < 2 || o.sizeGiB > 2048) {
    throw new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, `disk size ${o.sizeGiB} GiB: use a whole number from 2 to 2048`);
  }
  await installGrubFiles(o);
  rmSync(o.output, { force: true });
  const size = o.sizeGiB * 1024 * MIB;
  // A sparse file: the unwritten blocks cost nothing here nor in the streamOptimized VMDK.
  writeFileSync(o.output, '');
  await runCommand('truncate', ['-s', String(size), o.output]);
  await runCommand('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', o.output], {
    input: `label: dos\nstart=${PARTITION_OFFSET / 512}, type=83, bootable\n`,
    logFile: o.logFile,
  });
  const partitionMiB = (size - PARTITION_OFFSET) / MIB;
  await runCommand(
    'mkfs.ext4',
    ['-q', '-F', '-L', ROOT_LABEL, '-E', `offset=${PARTITION_OFFSET}`, '-d', o.rootDir, '-m', '1', o.output, `${partitionMiB}M`],
    { logFile: o.logFile },
  );
  // GRUB core image: finds /boot/grub on the first partition (ext4 through GRUB's ext2 module).
  const core = join(o.workDir, 'core.img');
  await runCommand('grub-mkimage', ['-O', 'i386-pc', '-o', core, '-p', '(hd0,msdos1)/boot/grub', 'biosdisk', 'part_msdos', 'ext2'], { logFile: o.logFile });
  const coreImage = readFileSync(core);
  if (coreImage.length > PARTITION_OFFSET - 512) throw new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, `GRUB core image is ${coreImage.length} bytes: larger than the gap before the partition`);
  const bootImage = readFileSync(join(GRUB_PLATFORM_DIR, 'boot.img'));
  // boot.img loads sector 1 (its default kernel sector), which holds diskboot.img, the start of the
  // core image, whose block list covers the sectors after it.
  writeAt(o.output, bootImage.subarray(0, MBR_CODE_BYTES), 0);
  writeAt(o.output, coreImage, 512);
  if (statSync(o.output).size !== size) throw new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, `disk image ${o.output} changed size while writing the boot loader`);
}
