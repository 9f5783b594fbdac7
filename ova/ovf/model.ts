// The typed model of Keyhaven's OVF 1.0 descriptor (DMTF DSP0243 1.0.0). ova/ovf/descriptor.ts builds
// it from validated inputs; one module per section renders it (ova/ovf/*-section.ts, references.ts),
// and envelope.ts puts the sections together.
import type { create } from 'xmlbuilder2';
import type { VappPropertyDefinition } from '../vapp-properties.js';

/** An xmlbuilder2 node (the package does not export the XMLBuilder type from its entry point). */
export type XmlNode = ReturnType<typeof create>;

/** DSP0243 1.0 §5: the envelope namespace (also bound to the ovf: prefix for attributes). */
export const OVF_NAMESPACE = 'http://schemas.dmtf.org/ovf/envelope/1';
/** CIM_ResourceAllocationSettingData: the rasd: elements of hardware Items (DSP0243 §8.3). */
export const RASD_NAMESPACE = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData';
/** CIM_VirtualSystemSettingData: the vssd: elements of the System element. */
export const VSSD_NAMESPACE = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData';
/** VMware's OVF extensions (vmw:osType, vmw:Config). */
export const VMW_NAMESPACE = 'http://www.vmware.com/schema/ovf';

/** ovf:format of a streamOptimized VMDK (VMware Virtual Disk Format 1.1, "Stream-Optimized Compressed Sparse Extents"). */
export const VMDK_STREAM_OPTIMIZED_FORMAT = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** An entry of the References section (DSP0243 §7.1). */
export interface OvfFileReference {
  readonly id: string;
  readonly href: string;
  /** Size in bytes of the file in the package. */
  readonly size: number;
}

/** A virtual disk of the DiskSection (DSP0243 §9.1). */
export interface OvfDisk {
  readonly diskId: string;
  readonly fileRef: string;
  /** Capacity in bytes (rendered with ovf:capacityAllocationUnits="byte"). */
  readonly capacityBytes: number;
  readonly format: string;
}

/** A logical network of the NetworkSection (DSP0243 §9.2). */
export interface OvfNetwork {
  readonly name: string;
  readonly description: string;
}

/** OperatingSystemSection (DSP0243 §9.9): a CIM_OperatingSystem OsType and VMware's guest id. */
export interface OvfOperatingSystem {
  /** CIM_OperatingSystem.OsType value (e.g. 96 = "Debian 64-Bit"). */
  readonly cimOsType: number;
  /** vim.vm.GuestOsDescriptor.GuestOsIdentifier (e.g. debian10_64Guest). */
  readonly vmwOsType: string;
  readonly description: string;
}

/** SCSI controllers ESXi offers, by OVF ResourceSubType: LSI Logic Parallel, or VMware Paravirtual. */
export type ScsiControllerType = 'lsilogic' | 'pvscsi';

export type Firmware = 'bios' | 'efi';

/** How vSphere hands the OVF environment to the guest (VMware: VmConfigSpec.ovfEnvironmentTransport). */
export type OvfTransport = 'com.vmware.guestInfo' | 'iso';

export interface OvfVirtualHardware {
  /** VMware virtual hardware version: 15 → vssd:VirtualSystemType "vmx-15". */
  readonly hardwareVersion: number;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly scsiController: ScsiControllerType;
  readonly firmware: Firmware;
  readonly transports: readonly OvfTransport[];
  /** The NetworkSection network the VMXNET3 adapter connects to. */
  readonly networkName: string;
  /** The DiskSection disk attached to the SCSI controller at unit 0. */
  readonly diskId: string;
  /** A serial port (no backing until the administrator assigns one). */
  readonly serialPort: boolean;
}

export interface OvfProduct {
  readonly info: string;
  readonly product: string;
  readonly vendor: string;
  readonly version: string;
  readonly fullVersion: string;
  readonly properties: readonly VappPropertyDefinition[];
}

export interface OvfVirtualSystem {
  readonly id: string;
  readonly info: string;
  /** Default VM name in the deploy wizard. */
  readonly name: string;
  readonly annotation: string;
  readonly operatingSystem: OvfOperatingSystem;
  readonly hardware: OvfVirtualHardware;
  readonly product: OvfProduct;
}

export interface OvfDescriptor {
  readonly references: readonly OvfFileReference[];
  readonly disks: readonly OvfDisk[];
  readonly networks: readonly OvfNetwork[];
  readonly virtualSystem: OvfVirtualSystem;
}
