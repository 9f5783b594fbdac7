// The OVF descriptor: a golden file, well-formedness (our reader and xmllint), the envelope/1
// namespace, the sections ESXi reads, and refusal of impossible inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, KeyhavenError } from '../../ova/errors.js';
import { createOvfDescriptor, type OvfDescriptorInput } from '../../ova/ovf/descriptor.js';
import { renderOvfDescriptor } from '../../ova/ovf/envelope.js';
import { OVF_NAMESPACE, RASD_NAMESPACE, VMDK_STREAM_OPTIMIZED_FORMAT, VMW_NAMESPACE, VSSD_NAMESPACE } from '../../ova/ovf/model.js';
import { VAPP_PROPERTIES, VAPP_PROPERTY_KEYS } from '../../ova/vapp-properties.js';
import { attributeValue, childElements, readXml, textContent, type XmlElement } from '../../lib/xml.js';
import { missingTool, run, withTempDir } from './helpers/tools.js';
import { assertGolden } from '../support/golden.js';

const GOLDEN = fileURLToPath(new URL('./golden/keyhaven.ovf', import.meta.url));
const GiB = 1024 ** 3;
const INPUT: OvfDescriptorInput = { version: '1.0.0', disk: { fileName: 'keyhaven-1.0.0-disk1.vmdk', fileSize: 412_345_678, capacityBytes: 8 * GiB } };

const render = (input: Partial<OvfDescriptorInput> = {}) => renderOvfDescriptor(createOvfDescriptor({ ...INPUT, ...input }));
const parse = (input: Partial<OvfDescriptorInput> = {}) => readXml(render(input));
const ovf = (e: XmlElement, name: string) => attributeValue(e, OVF_NAMESPACE, name);
const one = (parent: XmlElement, ns: string, name: string): XmlElement => {
  const found = childElements(parent, ns, name);
  assert.equal(found.length, 1, `one <${name}> in <${parent.localName}>`);
  return found[0] as XmlElement;
};
const rasd = (item: XmlElement, name: string) => {
  const e = childElements(item, RASD_NAMESPACE, name)[0];
  return e ? textContent(e) : undefined;
};
const hardware = (root: XmlElement) => one(one(root, OVF_NAMESPACE, 'VirtualSystem'), OVF_NAMESPACE, 'VirtualHardwareSection');
const items = (root: XmlElement) => childElements(hardware(root), OVF_NAMESPACE, 'Item');
const itemOfType = (root: XmlElement, type: number) => {
  const found = items(root).filter((i) => rasd(i, 'ResourceType') === String(type));
  assert.equal(found.length, 1, `one Item of ResourceType ${type}`);
  return found[0] as XmlElement;
};

test('renders golden/keyhaven.ovf (regenerate with UPDATE_GOLDEN=1 and review the diff)', async () => {
  const text = render();
  await assertGolden(GOLDEN, text);
  assert.equal(render(), text, 'rendering is deterministic');
});

test('is well-formed XML with the OVF 1.0 envelope namespace', () => {
  const text = render();
  assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"'));
  const root = readXml(text);
  assert.equal(root.localName, 'Envelope');
  assert.equal(root.namespace, 'http://schemas.dmtf.org/ovf/envelope/1');
  assert.deepEqual(
    childElements(root).map((e) => e.localName),
    ['References', 'DiskSection', 'NetworkSection', 'VirtualSystem'],
  );
  for (const e of childElements(root)) assert.equal(e.namespace, OVF_NAMESPACE);
  assert.ok(text.includes(`xmlns:rasd="${RASD_NAMESPACE}"`) && text.includes(`xmlns:vssd="${VSSD_NAMESPACE}"`) && text.includes(`xmlns:vmw="${VMW_NAMESPACE}"`));
});

const noXmllint = await missingTool('xmllint', 'libxml2-utils');
test('xmllint --noout accepts it (well-formedness; no OVF XSD is available offline to validate against)', { skip: noXmllint }, async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'keyhaven.ovf');
    await writeFile(file, render());
    const r = await run('xmllint', ['--noout', '--nonet', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});

test('References and DiskSection: file size, capacity in bytes, streamOptimized format', () => {
  const root = parse();
  const file = one(one(root, OVF_NAMESPACE, 'References'), OVF_NAMESPACE, 'File');
  assert.equal(ovf(file, 'href'), 'keyhaven-1.0.0-disk1.vmdk');
  assert.equal(ovf(file, 'size'), '412345678');
  const disk = one(one(root, OVF_NAMESPACE, 'DiskSection'), OVF_NAMESPACE, 'Disk');
  assert.equal(ovf(disk, 'capacity'), String(8 * GiB));
  assert.equal(ovf(disk, 'capacityAllocationUnits'), 'byte');
  assert.equal(ovf(disk, 'fileRef'), ovf(file, 'id'));
  assert.equal(ovf(disk, 'format'), VMDK_STREAM_OPTIMIZED_FORMAT);
  assert.equal(VMDK_STREAM_OPTIMIZED_FORMAT, 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized');
});

test('OperatingSystemSection: CIM 96 (Debian 64-bit) with a guest id ESXi 6.7 knows', () => {
  const os = one(one(parse(), OVF_NAMESPACE, 'VirtualSystem'), OVF_NAMESPACE, 'OperatingSystemSection');
  assert.equal(ovf(os, 'id'), '96');
  assert.equal(attributeValue(os, VMW_NAMESPACE, 'osType'), 'debian10_64Guest');
});

test('VirtualHardwareSection: vmx-15, 2 vCPU, 2 GiB, SCSI controller with the disk, VMXNET3, serial port, CD for iso', () => {
  const root = parse();
  const hw = hardware(root);
  assert.equal(ovf(hw, 'transport'), 'com.vmware.guestInfo iso');
  const system = one(hw, OVF_NAMESPACE, 'System');
  assert.equal(textContent(one(system, VSSD_NAMESPACE, 'VirtualSystemType')), 'vmx-15');

  const cpu = itemOfType(root, 3);
  assert.equal(rasd(cpu, 'VirtualQuantity'), '2');
  const memory = itemOfType(root, 4);
  assert.equal(rasd(memory, 'VirtualQuantity'), '2048');
  assert.equal(rasd(memory, 'AllocationUnits'), 'byte * 2^20');
  const scsi = itemOfType(root, 6);
  assert.equal(rasd(scsi, 'ResourceSubType'), 'lsilogic');
  const disk = itemOfType(root, 17);
  assert.equal(rasd(disk, 'Parent'), rasd(scsi, 'InstanceID'), 'the disk is attached to the SCSI controller');
  assert.equal(rasd(disk, 'AddressOnParent'), '0');
  const diskId = ovf(one(one(root, OVF_NAMESPACE, 'DiskSection'), OVF_NAMESPACE, 'Disk'), 'diskId');
  assert.equal(rasd(disk, 'HostResource'), `ovf:/disk/${diskId}`);
  const nic = itemOfType(root, 10);
  assert.equal(rasd(nic, 'ResourceSubType'), 'VmxNet3');
  const network = one(one(root, OVF_NAMESPACE, 'NetworkSection'), OVF_NAMESPACE, 'Network');
  assert.equal(rasd(nic, 'Connection'), ovf(network, 'name'));
  assert.equal(ovf(network, 'name'), 'VM Network');
  const serial = itemOfType(root, 21);
  assert.equal(rasd(serial, 'ResourceSubType'), 'vmware.serialport.device');
  assert.equal(ovf(serial, 'required'), 'false');
  const cd = itemOfType(root, 15);
  assert.equal(rasd(cd, 'Parent'), rasd(itemOfType(root, 5), 'InstanceID'), 'the CD drive for the iso transport sits on the IDE controller');

  const ids = items(root).map((i) => rasd(i, 'InstanceID'));
  assert.equal(new Set(ids).size, ids.length, 'InstanceIDs are unique');
  for (const item of items(root)) {
    const names = childElements(item, RASD_NAMESPACE).map((e) => e.localName);
    assert.deepEqual(names, [...names].sort(), 'rasd elements in schema (alphabetical) order');
  }
  const firmware = childElements(hw, VMW_NAMESPACE, 'Config').find((c) => attributeValue(c, VMW_NAMESPACE, 'key') === 'firmware');
  assert.equal(firmware && attributeValue(firmware, VMW_NAMESPACE, 'value'), 'efi');
});

test('hardware options: pvscsi, BIOS, other sizes and versions, guestInfo only, no serial port', () => {
  const root = parse({ scsiController: 'pvscsi', firmware: 'bios', cpus: 4, memoryMiB: 4096, hardwareVersion: 'vmx-19', transports: ['com.vmware.guestInfo'], serialPort: false });
  assert.equal(rasd(itemOfType(root, 6), 'ResourceSubType'), 'VirtualSCSI');
  assert.equal(rasd(itemOfType(root, 3), 'VirtualQuantity'), '4');
  assert.equal(rasd(itemOfType(root, 4), 'VirtualQuantity'), '4096');
  assert.equal(ovf(hardware(root), 'transport'), 'com.vmware.guestInfo');
  assert.equal(textContent(one(one(hardware(root), OVF_NAMESPACE, 'System'), VSSD_NAMESPACE, 'VirtualSystemType')), 'vmx-19');
  const types = items(root).map((i) => rasd(i, 'ResourceType'));
  assert.ok(!types.includes('15') && !types.includes('5') && !types.includes('21'));
  assert.match(render({ firmware: 'bios' }), /vmw:key="firmware" vmw:value="bios"/);
  assert.match(render({ hardwareVersion: 21 }), /<vssd:VirtualSystemType>vmx-21</);
  assert.match(render({ hardwareVersion: 14 }), /<vssd:VirtualSystemType>vmx-14</);
});

test('ProductSection: product, version and every vApp property, user-configurable, in categories', () => {
  const root = parse();
  const product = one(one(root, OVF_NAMESPACE, 'VirtualSystem'), OVF_NAMESPACE, 'ProductSection');
  assert.equal(ovf(product, 'required'), 'false');
  assert.equal(textContent(one(product, OVF_NAMESPACE, 'Product')), 'Keyhaven');
  assert.equal(textContent(one(product, OVF_NAMESPACE, 'Vendor')), 'Keyhaven');
  assert.equal(textContent(one(product, OVF_NAMESPACE, 'Version')), '1.0.0');
  const properties = childElements(product, OVF_NAMESPACE, 'Property');
  assert.deepEqual(
    properties.map((p) => ovf(p, 'key')),
    [...VAPP_PROPERTY_KEYS],
  );
  for (const [i, p] of properties.entries()) {
    const def = VAPP_PROPERTIES[i]!;
    assert.equal(ovf(p, 'userConfigurable'), 'true', def.key);
    assert.equal(ovf(p, 'type'), def.type);
    assert.equal(ovf(p, 'value'), def.defaultValue);
    assert.equal(textContent(one(p, OVF_NAMESPACE, 'Label')), def.label);
    assert.equal(textContent(one(p, OVF_NAMESPACE, 'Description')), def.description);
  }
  // Each Category comes before the first property of its group.
  const order = childElements(product).map((e) => (e.localName === 'Category' ? `#${textContent(e)}` : e.localName === 'Property' ? ovf(e, 'key') : undefined)).filter(Boolean);
  assert.deepEqual(order.filter((x) => x!.startsWith('#')), ['#Network', '#Services', '#Administration']);
  assert.equal(order[order.indexOf('#Services') + 1], 'keyhaven.ntp');
  assert.equal(order[order.indexOf('#Administration') + 1], 'keyhaven.admin_networks');
});

test('refuses impossible inputs, naming each', () => {
  const refused = (input: Partial<OvfDescriptorInput>, message: RegExp) =>
    assert.throws(
      () => createOvfDescriptor({ ...INPUT, ...input }),
      (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.OVA_INVALID && message.test(e.message),
      JSON.stringify(input),
    );
  refused({ cpus: 0 }, /cpus 0 is not possible; expected a whole number from 1 to 128/);
  refused({ cpus: 1.5 }, /cpus 1\.5 is not possible/);
  refused({ cpus: 129 }, /cpus 129/);
  refused({ memoryMiB: 2050 }, /memoryMiB 2050 is not a multiple of 4 MiB.*use 2052/);
  refused({ memoryMiB: 512 }, /memoryMiB 512 is not possible.*from 1024/);
  refused({ hardwareVersion: 'vmx-9' }, /vmx-9 is older than ESXi 6\.7.*expected vmx-14 or newer/);
  refused({ hardwareVersion: 13 }, /vmx-13 is older than ESXi 6\.7/);
  refused({ hardwareVersion: 16 }, /vmx-16 exists only in VMware Workstation and Fusion/);
  refused({ hardwareVersion: 'vmx-22' }, /vmx-22 is newer than ESXi 8\.x knows/);
  refused({ hardwareVersion: 'fifteen' }, /"fifteen" is not a hardware version/);
  refused({ version: '1.0 beta' }, /version "1\.0 beta" is not a product version/);
  refused({ version: '' }, /version "" is not a product version/);
  refused({ disk: { ...INPUT.disk, fileName: '../disk.vmdk' } }, /disk\.fileName "\.\.\/disk\.vmdk" is not a plain file name/);
  refused({ disk: { ...INPUT.disk, fileName: 'disk.img' } }, /ending in \.vmdk/);
  refused({ disk: { ...INPUT.disk, fileSize: 0 } }, /disk\.fileSize 0 is not a positive whole number/);
  refused({ disk: { ...INPUT.disk, capacityBytes: 8 * GiB + 512 } }, /not a whole number of MiB; grow the raw image.*truncate -s 8193M/);
  refused({ disk: { ...INPUT.disk, capacityBytes: -1 } }, /disk\.capacityBytes -1/);
  refused({ transports: [] }, /transports \[\] must be one or both/);
  refused({ transports: ['iso', 'iso'] }, /each once/);
  refused({ networkName: ' ' }, /networkName/);
  // Every problem at once.
  assert.throws(() => createOvfDescriptor({ ...INPUT, cpus: 0, memoryMiB: 3 }), (e: Error) => e.message.split('\n').length === 2);
});
