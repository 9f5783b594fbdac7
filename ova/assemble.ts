// Assembles the Keyhaven OVA from a bootable raw disk image:
//   1. raw → streamOptimized VMDK (ova/vmdk.ts), checked with qemu-img info;
//   2. the OVF descriptor (ova/ovf/), with the VMDK's file size and virtual size;
//   3. the SHA-256 manifest of the descriptor and the disk (ova/manifest.ts);
//   4. the USTAR archive: .ovf, .mf, .vmdk (ova/ova-tar.ts) → outDir/keyhaven-<version>.ova.
// Prints nothing: the caller logs the stages (see `onStage`).
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { createManifest, sha256File, type ManifestEntry } from './manifest.js';
import { writeOva } from './ova-tar.js';
import { createOvfDescriptor, type OvfDescriptorInput } from './ovf/descriptor.js';
import { renderOvfDescriptor } from './ovf/envelope.js';
import { convertRawToStreamOptimizedVmdk, vmdkAdapterTypeFor } from './vmdk.js';

export type AssembleStage = 'vmdk' | 'descriptor' | 'manifest' | 'archive';

export interface AssembleOvaOptions {
  /** The bootable raw disk image (its size must be a whole number of MiB). */
  readonly rawDisk: string;
  /** Product version, e.g. 0.1.0: in the descriptor and the file names. */
  readonly version: string;
  /** Where keyhaven-<version>.ova is written (created if missing), e.g. dist. */
  readonly outDir: string;
  /** Default vmx-15 (ESXi 6.7 U2 and later). */
  readonly hardwareVersion?: number | string;
  readonly cpus?: number;
  readonly memoryMiB?: number;
  readonly scsiController?: OvfDescriptorInput['scsiController'];
  readonly firmware?: OvfDescriptorInput['firmware'];
  readonly transports?: OvfDescriptorInput['transports'];
  readonly networkName?: string;
  /**
   * Where the .ovf, .mf and .vmdk are written and kept. Default: a temporary directory inside outDir,
   * removed when done (the OVA holds them).
   */
  readonly workDir?: string;
  /** Modification time of the archive entries, for reproducible archives. Default: now. */
  readonly mtime?: Date;
  readonly qemuImg?: string;
  /** Called as each stage starts, for the caller's log. */
  readonly onStage?: (stage: AssembleStage) => void;
}

export interface AssembledFile {
  /** Name inside the OVA. */
  readonly name: string;
  /** Path on disk; for the parts only meaningful when workDir was given. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface AssembledOva {
  readonly ova: { readonly path: string; readonly size: number; readonly sha256: string };
  readonly ovf: AssembledFile;
  readonly manifest: AssembledFile & { readonly entries: readonly ManifestEntry[] };
  readonly vmdk: AssembledFile & { readonly virtualSize: number };
}

export const ovaFileNames = (version: string) => ({
  ova: `keyhaven-${version}.ova`,
  ovf: `keyhaven-${version}.ovf`,
  manifest: `keyhaven-${version}.mf`,
  vmdk: `keyhaven-${version}-disk1.vmdk`,
});

export async function assembleOva(options: AssembleOvaOptions): Promise<AssembledOva> {
  const stage = options.onStage ?? (() => undefined);
  const names = ovaFileNames(options.version);
  const descriptorInput = (fileSize: number, capacityBytes: number): OvfDescriptorInput => ({
    version: options.version,
    disk: { fileName: names.vmdk, fileSize, capacityBytes },
    ...(options.hardwareVersion !== undefined && { hardwareVersion: options.hardwareVersion }),
    ...(options.cpus !== undefined && { cpus: options.cpus }),
    ...(options.memoryMiB !== undefined && { memoryMiB: options.memoryMiB }),
    ...(options.scsiController !== undefined && { scsiController: options.scsiController }),
    ...(options.firmware !== undefined && { firmware: options.firmware }),
    ...(options.transports !== undefined && { transports: options.transports }),
    ...(options.networkName !== undefined && { networkName: options.networkName }),
  });

  // Refuse impossible inputs before the slow conversion: the raw size stands in for the capacity.
  const rawSize = await stat(options.rawDisk).then(
    (s) => s.size,
    (e: unknown) => {
      throw new KeyhavenError(ErrorCodes.OVA_INVALID, `raw disk ${options.rawDisk} cannot be read: ${(e as Error).message}`, { cause: e });
    },
  );
  const preview = createOvfDescriptor(descriptorInput(1, Math.ceil(rawSize / 512) * 512));

  await mkdir(options.outDir, { recursive: true });
  const temporary = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(options.outDir, `.keyhaven-${options.version}-`)));
  try {
    await mkdir(workDir, { recursive: true });
    stage('vmdk');
    const vmdk = await convertRawToStreamOptimizedVmdk({
      rawDisk: options.rawDisk,
      vmdkPath: join(workDir, names.vmdk),
      adapterType: vmdkAdapterTypeFor(preview.virtualSystem.hardware.scsiController),
      ...(options.qemuImg !== undefined && { qemuImg: options.qemuImg }),
    });

    stage('descriptor');
    const ovfPath = join(workDir, names.ovf);
    await writeFile(ovfPath, renderOvfDescriptor(createOvfDescriptor(descriptorInput(vmdk.fileSize, vmdk.virtualSize))), { mode: 0o644 });

    stage('manifest');
    const manifest = await createManifest([ovfPath, vmdk.path]);
    const manifestPath = join(workDir, names.manifest);
    await writeFile(manifestPath, manifest.text, { mode: 0o644 });

    stage('archive');
    const ovaPath = join(options.outDir, names.ova);
    await writeOva({
      outFile: ovaPath,
      entries: [{ path: ovfPath }, { path: manifestPath }, { path: vmdk.path }],
      ...(options.mtime !== undefined && { mtime: options.mtime }),
    });

    const digest = (name: string) => manifest.entries.find((e) => e.name === name)?.sha256 as string;
    const size = async (path: string) => (await stat(path)).size;
    return {
      ova: { path: ovaPath, size: await size(ovaPath), sha256: await sha256File(ovaPath) },
      ovf: { name: names.ovf, path: ovfPath, size: await size(ovfPath), sha256: digest(names.ovf) },
      manifest: { name: names.manifest, path: manifestPath, size: await size(manifestPath), sha256: await sha256File(manifestPath), entries: manifest.entries },
      vmdk: { name: names.vmdk, path: vmdk.path, size: vmdk.fileSize, sha256: digest(names.vmdk), virtualSize: vmdk.virtualSize },
    };
  } finally {
    if (temporary) await rm(workDir, { recursive: true, force: true });
  }
}
