// The appliance disk as a streamOptimized VMDK, the disk format OVF packages for vSphere carry
// (VMware Virtual Disk Format 1.1, "Stream-Optimized Compressed Sparse Extents"). qemu-img (Debian
// package qemu-utils, 7.2 on Debian 12) converts the raw image:
//
//   qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic,compat6 in.raw out.vmdk
//
// compat6 writes ddb.virtualHWVersion = "6" (VMDK version 6, readable by every ESXi). adapter_type sets
// ddb.adapterType; qemu-img knows ide, buslogic, lsilogic and legacyESX. VMware itself writes
// "lsilogic" for disks on LSI Logic and on PVSCSI controllers alike (the value only selects the disk
// geometry), so both of our controllers map to lsilogic.
// The result is checked with `qemu-img info --output=json`: format vmdk, create-type streamOptimized,
// and the virtual size of the raw image.
import { execFile } from 'node:child_process';
import { rename, rm, stat } from 'node:fs/promises';
import { ErrorCodes, KeyhavenError } from './errors.js';
import type { ScsiControllerType } from './ovf/model.js';

export type VmdkAdapterType = 'ide' | 'buslogic' | 'lsilogic' | 'legacyESX';

/** The VMDK adapter type (ddb.adapterType) for a disk on the given OVF SCSI controller. */
export function vmdkAdapterTypeFor(controller: ScsiControllerType): VmdkAdapterType {
  switch (controller) {
    case 'lsilogic':
    case 'pvscsi':
      return 'lsilogic';
  }
}

export interface QemuImgInfo {
  /** Detected or stated image format, e.g. raw, vmdk. */
  readonly format: string;
  readonly virtualSize: number;
  /** Bytes allocated on the host file system, when qemu-img reports it. */
  readonly actualSize: number | undefined;
  /** VMDK only: format-specific create-type (streamOptimized, monolithicSparse…). */
  readonly createType: string | undefined;
  /** VMDK only: true when every extent is compressed, as streamOptimized extents are. */
  readonly compressed: boolean | undefined;
  /** The parsed JSON as qemu-img printed it. */
  readonly json: unknown;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new KeyhavenError(
            ErrorCodes.OVA_TOOL_FAILED,
            missing
              ? `${file} was not found; install the Debian package qemu-utils`
              : `${file} ${args.join(' ')} failed (exit ${String(error.code ?? error.signal)}): ${stderr.trim() || error.message}`,
            { cause: error },
          ),
        );
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

/** `qemu-img --version` → "7.2.22", or undefined when qemu-img cannot be run. */
export async function qemuImgVersion(qemuImg = 'qemu-img'): Promise<string | undefined> {
  try {
    const { stdout } = await run(qemuImg, ['--version']);
    return /version (\d+\.\d+(?:\.\d+)?)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/** Runs `qemu-img info --output=json` (format probed unless given) and picks out what we check. */
export async function qemuImgInfo(path: string, options: { format?: string; qemuImg?: string } = {}): Promise<QemuImgInfo> {
  const args = ['info', '--output=json', ...(options.format ? ['-f', options.format] : []), path];
  const { stdout } = await run(options.qemuImg ?? 'qemu-img', args);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(stdout) as Record<string, unknown>;
  } catch (e) {
    throw new KeyhavenError(ErrorCodes.OVA_TOOL_FAILED, `qemu-img info ${path} printed something that is not JSON`, { cause: e });
  }
  const specific = json['format-specific'] as { type?: string; data?: Record<string, unknown> } | undefined;
  const data = specific?.type === 'vmdk' ? specific.data : undefined;
  const extents = data?.['extents'] as { compressed?: boolean }[] | undefined;
  return {
    format: String(json['format']),
    virtualSize: Number(json['virtual-size']),
    actualSize: typeof json['actual-size'] === 'number' ? json['actual-size'] : undefined,
    createType: typeof data?.['create-type'] === 'string' ? data['create-type'] : undefined,
    compressed: extents ? extents.every((e) => e.compressed === true) : undefined,
    json,
  };
}

export interface StreamOptimizedVmdk {
  readonly path: string;
  /** Size of the VMDK file in bytes: the OVF References ovf:size. */
  readonly fileSize: number;
  /** Virtual size of the disk in bytes: the OVF DiskSection ovf:capacity. */
  readonly virtualSize: number;
  readonly info: QemuImgInfo;
}

export interface ConvertToVmdkOptions {
  readonly rawDisk: string;
  readonly vmdkPath: string;
  /** Default lsilogic (see vmdkAdapterTypeFor). */
  readonly adapterType?: VmdkAdapterType;
  /** Default `qemu-img` from PATH. */
  readonly qemuImg?: string;
}

/**
 * Converts a raw disk image to a streamOptimized VMDK and checks the result with qemu-img info.
 * The output is written next to vmdkPath and renamed into place only when it checks out.
 * Throws KeyhavenError: KH_OVA_INVALID for a bad input or result, KH_OVA_TOOL_FAILED when qemu-img fails.
 */
export async function convertRawToStreamOptimizedVmdk(options: ConvertToVmdkOptions): Promise<StreamOptimizedVmdk> {
  const { rawDisk, vmdkPath } = options;
  const qemuImg = options.qemuImg ?? 'qemu-img';
  const adapterType = options.adapterType ?? 'lsilogic';
  const rawStat = await stat(rawDisk).catch((e: unknown) => {
    throw new KeyhavenError(ErrorCodes.OVA_INVALID, `raw disk ${rawDisk} cannot be read: ${(e as Error).message}`, { cause: e });
  });
  if (!rawStat.isFile()) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `raw disk ${rawDisk} is not a regular file`);
  if (rawStat.size === 0) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `raw disk ${rawDisk} is empty`);
  // `-f raw` would convert a qcow2 or VMDK byte for byte into a disk that cannot boot: refuse those.
  const probed = await qemuImgInfo(rawDisk, { qemuImg });
  if (probed.format !== 'raw') {
    throw new KeyhavenError(ErrorCodes.OVA_INVALID, `raw disk ${rawDisk} is a ${probed.format} image, not a raw one; convert it to raw first or pass the raw image`);
  }
  const partial = `${vmdkPath}.partial`;
  try {
    await rm(partial, { force: true });
    await run(qemuImg, ['convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=streamOptimized,adapter_type=${adapterType},compat6`, rawDisk, partial]);
    const info = await qemuImgInfo(partial, { format: 'vmdk', qemuImg });
    const expectedSize = Math.ceil(rawStat.size / 512) * 512;
    if (info.format !== 'vmdk' || info.createType !== 'streamOptimized') {
      throw new KeyhavenError(ErrorCodes.OVA_INVALID, `qemu-img wrote a ${info.format} image of create-type ${String(info.createType)}; expected vmdk, streamOptimized`);
    }
    if (info.virtualSize !== expectedSize) {
      throw new KeyhavenError(ErrorCodes.OVA_INVALID, `the VMDK's virtual size is ${info.virtualSize} bytes; expected ${expectedSize}, the raw image's size`);
    }
    await rename(partial, vmdkPath);
    const { size } = await stat(vmdkPath);
    return { path: vmdkPath, fileSize: size, virtualSize: info.virtualSize, info };
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}
