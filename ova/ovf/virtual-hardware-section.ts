// VirtualHardwareSection (DSP0243 1.0 §8): the System (CIM_VirtualSystemSettingData) and one Item
// (CIM_ResourceAllocationSettingData) per device. Item elements are written in the order the CIM
// RASD schema defines them (alphabetical), which the OVF XSD's xs:sequence requires.
//
// ResourceType values (CIM_ResourceAllocationSettingData.ResourceType): 3 processor, 4 memory,
// 5 IDE controller, 6 parallel SCSI HBA, 10 Ethernet adapter, 15 CD drive, 17 disk drive, 21 serial port.
// ResourceSubType values are VMware's: lsilogic / VirtualSCSI (pvscsi), VmxNet3,
// vmware.cdrom.remotepassthrough, vmware.serialport.device.
//
// ovf:transport on this section lists how vSphere passes the OVF environment (VMware's reading of
// DSP0243 §11.2): "com.vmware.guestInfo" (VMware Tools) and "iso" (a CD-ROM with ovf-env.xml, which
// needs a CD drive in the VM: one is added on IDE 1 when the iso transport is requested).
import type { OvfVirtualHardware, ScsiControllerType, XmlNode } from './model.js';

export const ResourceType = {
  processor: 3,
  memory: 4,
  ideController: 5,
  scsiController: 6,
  ethernetAdapter: 10,
  cdDrive: 15,
  diskDrive: 17,
  serialPort: 21,
} as const;

/** RASD properties in schema order (CIM_ResourceAllocationSettingData, as used by OVF 1.0). */
const RASD_ORDER = [
  'Address',
  'AddressOnParent',
  'AllocationUnits',
  'AutomaticAllocation',
  'AutomaticDeallocation',
  'Caption',
  'Connection',
  'ConsumerVisibility',
  'Description',
  'ElementName',
  'HostResource',
  'InstanceID',
  'Limit',
  'MappingBehavior',
  'OtherResourceType',
  'Parent',
  'PoolID',
  'Reservation',
  'ResourceSubType',
  'ResourceType',
  'VirtualQuantity',
  'Weight',
] as const;

export type RasdProperty = (typeof RASD_ORDER)[number];

/** A VMware extension setting, `<vmw:Config ovf:required="false" vmw:key=".." vmw:value=".."/>`. */
export interface VmwConfig {
  readonly key: string;
  readonly value: string;
}

export interface HardwareItem {
  /** ovf:required="false": the consumer may leave the device out when it cannot provide it. */
  readonly optional?: boolean;
  readonly rasd: Partial<Record<RasdProperty, string>>;
  readonly config?: readonly VmwConfig[];
}

/** OVF ResourceSubType of each SCSI controller type. */
export const SCSI_RESOURCE_SUBTYPE: Record<ScsiControllerType, string> = { lsilogic: 'lsilogic', pvscsi: 'VirtualSCSI' };

/** The hardware Items, in InstanceID order. Exported so tests can check the model as well as the XML. */
export function hardwareItems(hw: OvfVirtualHardware): HardwareItem[] {
  const items: HardwareItem[] = [];
  let next = 1;
  const id = () => String(next++);
  items.push({
    rasd: {
      AllocationUnits: 'hertz * 10^6',
      Description: 'Number of virtual CPUs',
      ElementName: `${hw.cpus} virtual CPU(s)`,
      InstanceID: id(),
      ResourceType: String(ResourceType.processor),
      VirtualQuantity: String(hw.cpus),
    },
  });
  items.push({
    rasd: {
      AllocationUnits: 'byte * 2^20',
      Description: 'Memory size',
      ElementName: `${hw.memoryMiB} MB of memory`,
      InstanceID: id(),
      ResourceType: String(ResourceType.memory),
      VirtualQuantity: String(hw.memoryMiB),
    },
  });
  const scsiId = id();
  items.push({
    rasd: {
      Address: '0',
      Description: 'SCSI controller',
      ElementName: 'SCSI controller 0',
      InstanceID: scsiId,
      ResourceSubType: SCSI_RESOURCE_SUBTYPE[hw.scsiController],
      ResourceType: String(ResourceType.scsiController),
    },
  });
  items.push({
    rasd: {
      AddressOnParent: '0',
      ElementName: 'Hard disk 1',
      HostResource: `ovf:/disk/${hw.diskId}`,
      InstanceID: id(),
      Parent: scsiId,
      ResourceType: String(ResourceType.diskDrive),
    },
  });
  items.push({
    rasd: {
      AddressOnParent: '7',
      AutomaticAllocation: 'true',
      Connection: hw.networkName,
      Description: `VMXNET3 ethernet adapter on "${hw.networkName}"`,
      ElementName: 'Network adapter 1',
      InstanceID: id(),
      ResourceSubType: 'VmxNet3',
      ResourceType: String(ResourceType.ethernetAdapter),
    },
  });
  if (hw.transports.includes('iso')) {
    const ideId = id();
    items.push({
      rasd: {
        Address: '1',
        Description: 'IDE controller',
        ElementName: 'IDE controller 1',
        InstanceID: ideId,
        ResourceType: String(ResourceType.ideController),
      },
    });
    items.push({
      optional: true,
      rasd: {
        AddressOnParent: '0',
        AutomaticAllocation: 'false',
        Description: 'CD drive for the OVF environment (iso transport)',
        ElementName: 'CD/DVD drive 1',
        InstanceID: id(),
        Parent: ideId,
        ResourceSubType: 'vmware.cdrom.remotepassthrough',
        ResourceType: String(ResourceType.cdDrive),
      },
      config: [{ key: 'backing.exclusive', value: 'false' }],
    });
  }
  if (hw.serialPort) {
    items.push({
      optional: true,
      rasd: {
        AutomaticAllocation: 'false',
        Description: 'Serial port for a console log',
        ElementName: 'Serial port 1',
        InstanceID: id(),
        ResourceSubType: 'vmware.serialport.device',
        ResourceType: String(ResourceType.serialPort),
      },
      config: [{ key: 'yieldOnPoll', value: 'true' }],
    });
  }
  return items;
}

export function renderVirtualHardwareSection(system: XmlNode, hw: OvfVirtualHardware, systemId: string): void {
  const section = system.ele('VirtualHardwareSection', { 'ovf:transport': hw.transports.join(' ') });
  section.ele('Info').txt('Virtual hardware requirements');
  const vssd = section.ele('System');
  vssd.ele('vssd:ElementName').txt('Virtual Hardware Family');
  vssd.ele('vssd:InstanceID').txt('0');
  vssd.ele('vssd:VirtualSystemIdentifier').txt(systemId);
  vssd.ele('vssd:VirtualSystemType').txt(`vmx-${String(hw.hardwareVersion).padStart(2, '0')}`);
  for (const item of hardwareItems(hw)) {
    const element = section.ele('Item', item.optional ? { 'ovf:required': 'false' } : {});
    for (const name of RASD_ORDER) {
      const value = item.rasd[name];
      if (value !== undefined) element.ele(`rasd:${name}`).txt(value);
    }
    for (const c of item.config ?? []) element.ele('vmw:Config', { 'ovf:required': 'false', 'vmw:key': c.key, 'vmw:value': c.value });
  }
  section.ele('vmw:Config', { 'ovf:required': 'false', 'vmw:key': 'firmware', 'vmw:value': hw.firmware });
}
