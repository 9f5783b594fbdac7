// The operations this server implements: one module each, the KMIP minor version that introduced
// the operation (KMIP 1.4 §4), and whether it changes stored objects.
import type { Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum } from '../kmip/tables.js';
import { operationMinor } from '../kmip/versions.js';
import type { OpContext } from './context.js';
import { activate } from './activate.js';
import { archive, recover } from './archive.js';
import { addAttribute } from './add-attribute.js';
import { check } from './check.js';
import { create } from './create.js';
import { createKeyPair } from './create-key-pair.js';
import { deleteAttribute } from './delete-attribute.js';
import { destroy } from './destroy.js';
import { discoverVersions } from './discover-versions.js';
import { get } from './get.js';
import { getAttributeList } from './get-attribute-list.js';
import { getAttributes } from './get-attributes.js';
import { getUsageAllocation } from './get-usage-allocation.js';
import { obtainLease } from './obtain-lease.js';
import { locate } from './locate.js';
import { modifyAttribute } from './modify-attribute.js';
import { query } from './query.js';
import { reKey } from './re-key.js';
import { register } from './register.js';
import { revoke } from './revoke.js';

export type OperationHandler = (payload: StructReader, ctx: OpContext) => Item[];

export interface OperationEntry {
  name: string;
  handler: OperationHandler;
  minor: number;
}

const Op = Enum.Operation;

const entries: [number, string, OperationHandler][] = [
  [Op.Create, 'Create', create],
  [Op.CreateKeyPair, 'Create Key Pair', createKeyPair],
  [Op.Register, 'Register', register],
  [Op.ReKey, 'Re-key', reKey],
  [Op.Locate, 'Locate', locate],
  [Op.Check, 'Check', check],
  [Op.Get, 'Get', get],
  [Op.GetAttributes, 'Get Attributes', getAttributes],
  [Op.GetAttributeList, 'Get Attribute List', getAttributeList],
  [Op.AddAttribute, 'Add Attribute', addAttribute],
  [Op.ModifyAttribute, 'Modify Attribute', modifyAttribute],
  [Op.DeleteAttribute, 'Delete Attribute', deleteAttribute],
  [Op.ObtainLease, 'Obtain Lease', obtainLease],
  [Op.GetUsageAllocation, 'Get Usage Allocation', getUsageAllocation],
  [Op.Activate, 'Activate', activate],
  [Op.Revoke, 'Revoke', revoke],
  [Op.Destroy, 'Destroy', destroy],
  [Op.Archive, 'Archive', archive],
  [Op.Recover, 'Recover', recover],
  [Op.Query, 'Query', query],
  [Op.DiscoverVersions, 'Discover Versions', discoverVersions],
];

export const OPERATIONS: ReadonlyMap<number, OperationEntry> = new Map(
  entries.map(([op, name, handler]) => [op, { name, handler, minor: operationMinor(op) }]),
);
