// The operations this server runs: one module each under operations/, keyed by the names of
// supported-operations.ts (the compiler insists that every supported operation has its module).
import type { Item } from '../../kmip/item.js';
import type { StructReader } from '../../kmip/reader.js';
import type { OpContext } from './context.js';
import type { Operation } from './operation.js';
import { SUPPORTED, type OperationName } from './supported-operations.js';
import { activate } from '../operations/activate.js';
import { addAttribute } from '../operations/add-attribute.js';
import { archive } from '../operations/archive.js';
import { check } from '../operations/check.js';
import { create } from '../operations/create.js';
import { createKeyPair } from '../operations/create-key-pair.js';
import { decrypt } from '../operations/decrypt.js';
import { deleteAttribute } from '../operations/delete-attribute.js';
import { destroy } from '../operations/destroy.js';
import { discoverVersions } from '../operations/discover-versions.js';
import { encrypt } from '../operations/encrypt.js';
import { get } from '../operations/get.js';
import { getAttributeList } from '../operations/get-attribute-list.js';
import { getAttributes } from '../operations/get-attributes.js';
import { getUsageAllocation } from '../operations/get-usage-allocation.js';
import { locate } from '../operations/locate.js';
import { modifyAttribute } from '../operations/modify-attribute.js';
import { obtainLease } from '../operations/obtain-lease.js';
import { query } from '../operations/query.js';
import { reKey } from '../operations/re-key.js';
import { recover } from '../operations/recover.js';
import { register } from '../operations/register.js';
import { revoke } from '../operations/revoke.js';

export type OperationHandler = (payload: StructReader, ctx: OpContext) => Item[];

export interface OperationEntry {
  name: OperationName;
  /** Parses the payload, then runs the operation. */
  handler: OperationHandler;
  minor: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own request type
const MODULES: { [N in OperationName]: Operation<any> } = {
  'Create': create,
  'Create Key Pair': createKeyPair,
  'Register': register,
  'Re-key': reKey,
  'Locate': locate,
  'Check': check,
  'Get': get,
  'Get Attributes': getAttributes,
  'Get Attribute List': getAttributeList,
  'Add Attribute': addAttribute,
  'Modify Attribute': modifyAttribute,
  'Delete Attribute': deleteAttribute,
  'Obtain Lease': obtainLease,
  'Get Usage Allocation': getUsageAllocation,
  'Activate': activate,
  'Revoke': revoke,
  'Destroy': destroy,
  'Archive': archive,
  'Recover': recover,
  'Query': query,
  'Encrypt': encrypt,
  'Decrypt': decrypt,
  'Discover Versions': discoverVersions,
};

export const OPERATIONS: ReadonlyMap<number, OperationEntry> = new Map(
  SUPPORTED.map(({ code, name, minor }) => {
    const op = MODULES[name];
    return [code, { name, minor, handler: (p: StructReader, ctx: OpContext) => op.run(op.parse(p, ctx), ctx) }];
  }),
);
