// Builds Keyhaven's OVF descriptor model from a few inputs, refusing those ESXi 6.7–8.x could not
// deploy. Render it with renderOvfDescriptor (./envelope.ts).
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { VAPP_PROPERTIES } from '../vapp-properties.js';
import {
  VMDK_STREAM_OPTIMIZED_FORMAT,
  type Firmware,
  type OvfDescriptor,
  type OvfOperatingSystem,
  type OvfTransport,
  type ScsiControllerType,
} from './model.js';

/**
 * VMware virtual hardware versions an ESXi in the supported range (6.7 to 8.x) can run, with the first
 * ESXi release that knows each. vmx-16 is a Workstation/Fusion-only version, so it is not listed.
 */
export const HARDWARE_VERSIONS: Readonly<Record<number, string>> = {
  14: 'ESXi 6.7',
  15: 'ESXi 6.7 U2',
  17: 'ESXi 7.0',
  18: 'ESXi 7.0 U1',
  19: 'ESXi 7.0 U2',
  20: 'ESXi 8.0',
  21: 'ESXi 8.0 U2',
};

/** vmx-15: the newest version ESXi 6.7 U2 accepts, so one OVA imports on 6.7 U2 through 8.x. */
export const DEFAULT_HARDWARE_VERSION = 15;

/**
 * Debian, 64-bit. ovf:id 96 is CIM_OperatingSystem OsType "Debian 64-Bit". The guest id is
 * debian10_64Guest because it is the newest Debian guest id that ESXi 6.7 knows (debian11_64Guest
 * arrived with vSphere 7.0, debian12_64Guest with 8.0); an unknown guest id makes older hosts refuse or
 * mangle the import. It only selects defaults and device support (VMXNET3, PVSCSI, EFI), which are the
 * same for the Debian release in the image.
 */
export const OPERATING_SYSTEM: OvfOperatingSystem = {
  cimOsType: 96,
  vmwOsType: 'debian10_64Guest',
  description: 'Debian GNU/Linux (64-bit)',
};

export const DEFAULT_NETWORK_NAME = 'VM Network';
export const MAX_CPUS = 128; // the vCPU limit of vmx-14/15
export const MIN_MEMORY_MIB = 1024;
export const MAX_MEMORY_MIB = 6128 * 1024; // 6128 GB, the memory limit of vmx-14/15
const MiB = 1024 * 1024;
/** VMFS's largest virtual disk, 62 TB. */
export const MAX_DISK_CAPACITY = 62 * 1024 * 1024 * MiB;

export interface OvfDescriptorInput {
  /** Product version, e.g. 0.1.0; also in the OVA's file name. */
  readonly version: string;
  readonly disk: {
    /** File name of the VMDK in the package, e.g. keyhaven-0.1.0-disk1.vmdk. */
    readonly fileName: string;
    /** Size of the VMDK file in bytes (References ovf:size). */
    readonly fileSize: number;
    /** Virtual size of the disk in bytes (DiskSection ovf:capacity). */
    readonly capacityBytes: number;
  };
  /** VMware hardware version as a number (15) or a VirtualSystemType string ("vmx-15"). Default 15. */
  readonly hardwareVersion?: number | string;
  /** Default 2. */
  readonly cpus?: number;
  /** Default 2048. */
  readonly memoryMiB?: number;
  /** Default lsilogic. */
  readonly scsiController?: ScsiControllerType;
  /** Must match the image's boot loader. Default efi. */
  readonly firmware?: Firmware;
  /** Default both: com.vmware.guestInfo and iso. */
  readonly transports?: readonly OvfTransport[];
  /** Default "VM Network" (the port group ESXi creates at install, so the wizard maps it by itself). */
  readonly networkName?: string;
  /** Default true. */
  readonly serialPort?: boolean;
}

const isWhole = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

function parseHardwareVersion(input: number | string | undefined, problems: string[]): number {
  if (input === undefined) return DEFAULT_HARDWARE_VERSION;
  const m = typeof input === 'number' ? [String(input), String(input)] : /^vmx-(\d{1,3})$/.exec(input);
  const version = m ? Number(m[1]) : NaN;
  const known = Object.keys(HARDWARE_VERSIONS).map(Number);
  const lowest = Math.min(...known);
  const list = known.map((v) => `vmx-${v} (${HARDWARE_VERSIONS[v]})`).join(', ');
  if (!Number.isInteger(version)) {
    problems.push(`hardwareVersion ${JSON.stringify(input)} is not a hardware version; expected a number or "vmx-NN", one of ${list}`);
  } else if (version < lowest) {
    problems.push(`hardwareVersion vmx-${version} is older than ESXi 6.7, the oldest supported host; expected vmx-${lowest} or newer: ${list}`);
  } else if (version === 16) {
    problems.push(`hardwareVersion vmx-16 exists only in VMware Workstation and Fusion, not on ESXi; expected one of ${list}`);
  } else if (HARDWARE_VERSIONS[version] === undefined) {
    problems.push(`hardwareVersion vmx-${version} is newer than ESXi 8.x knows; expected one of ${list}`);
  }
  return version;
}

/** Builds the descriptor model. Throws KeyhavenError(KH_OVA_INVALID) listing every impossible input. */
export function createOvfDescriptor(input: OvfDescriptorInput): OvfDescriptor {
  const problems: string[] = [];
  const version = input.version;
  if (typeof version !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/.test(version)) {
    problems.push(`version ${JSON.stringify(version)} is not a product version; expected 1 to 64 letters, digits, ".", "+", "_" or "-", starting with a letter or digit (e.g. 0.1.0)`);
  }
  const { fileName, fileSize, capacityBytes } = input.disk;
  if (typeof fileName !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._+-]*\.vmdk$/.test(fileName) || fileName.length > 100) {
    problems.push(`disk.fileName ${JSON.stringify(fileName)} is not a plain file name ending in .vmdk of at most 100 characters (letters, digits, ".", "_", "+", "-")`);
  }
  if (!isWhole(fileSize) || fileSize <= 0) problems.push(`disk.fileSize ${fileSize} is not a positive whole number of bytes`);
  if (!isWhole(capacityBytes) || capacityBytes <= 0) {
    problems.push(`disk.capacityBytes ${capacityBytes} is not a positive whole number of bytes`);
  } else if (capacityBytes % MiB !== 0) {
    problems.push(`disk.capacityBytes ${capacityBytes} is not a whole number of MiB; grow the raw image to a MiB boundary (e.g. truncate -s ${Math.ceil(capacityBytes / MiB)}M)`);
  } else if (capacityBytes > MAX_DISK_CAPACITY) {
    problems.push(`disk.capacityBytes ${capacityBytes} is larger than the 62 TB a VMFS virtual disk can hold`);
  }
  const hardwareVersion = parseHardwareVersion(input.hardwareVersion, problems);
  const cpus = input.cpus ?? 2;
  if (!isWhole(cpus) || cpus < 1 || cpus > MAX_CPUS) problems.push(`cpus ${cpus} is not possible; expected a whole number from 1 to ${MAX_CPUS}`);
  const memoryMiB = input.memoryMiB ?? 2048;
  if (!isWhole(memoryMiB) || memoryMiB < MIN_MEMORY_MIB || memoryMiB > MAX_MEMORY_MIB) {
    problems.push(`memoryMiB ${memoryMiB} is not possible; expected a whole number of MiB from ${MIN_MEMORY_MIB} (what Keyhaven needs) to ${MAX_MEMORY_MIB}`);
  } else if (memoryMiB % 4 !== 0) {
    problems.push(`memoryMiB ${memoryMiB} is not a multiple of 4 MiB, which ESXi requires; use ${Math.ceil(memoryMiB / 4) * 4}`);
  }
  const scsiController = input.scsiController ?? 'lsilogic';
  if (scsiController !== 'lsilogic' && scsiController !== 'pvscsi') problems.push(`scsiController ${JSON.stringify(scsiController)} is not one of lsilogic, pvscsi`);
  const firmware = input.firmware ?? 'efi';
  if (firmware !== 'bios' && firmware !== 'efi') problems.push(`firmware ${JSON.stringify(firmware)} is not one of bios, efi`);
  const transports = input.transports ?? ['com.vmware.guestInfo', 'iso'];
  if (transports.length === 0 || transports.some((t) => t !== 'com.vmware.guestInfo' && t !== 'iso') || new Set(transports).size !== transports.length) {
    problems.push(`transports ${JSON.stringify(transports)} must be one or both of "com.vmware.guestInfo", "iso", each once`);
  }
  const networkName = input.networkName ?? DEFAULT_NETWORK_NAME;
  if (typeof networkName !== 'string' || networkName.trim() === '' || networkName.length > 80 || /[\u0000-\u001f]/.test(networkName)) {
    problems.push(`networkName ${JSON.stringify(networkName)} must be 1 to 80 printable characters`);
  }
  if (problems.length > 0) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `OVF descriptor: ${problems.join('\n')}`);

  return {
    references: [{ id: 'file1', href: fileName, size: fileSize }],
    disks: [{ diskId: 'vmdisk1', fileRef: 'file1', capacityBytes, format: VMDK_STREAM_OPTIMIZED_FORMAT }],
    networks: [{ name: networkName, description: 'The network of the Keyhaven appliance: KMIP clients, administration, syslog, NTP' }],
    virtualSystem: {
      id: 'keyhaven',
      info: 'Keyhaven KMIP key manager appliance',
      name: 'keyhaven',
      annotation: `Keyhaven ${version}: a KMIP key manager for vSphere. Set the vApp properties at deployment; finish the setup on the console at first boot.`,
      operatingSystem: OPERATING_SYSTEM,
      hardware: {
        hardwareVersion,
        cpus,
        memoryMiB,
        scsiController,
        firmware,
        transports,
        networkName,
        diskId: 'vmdisk1',
        serialPort: input.serialPort ?? true,
      },
      product: {
        info: 'Keyhaven settings applied at first boot',
        product: 'Keyhaven',
        vendor: 'Keyhaven',
        version,
        fullVersion: version,
        properties: VAPP_PROPERTIES,
      },
    },
  };
}
