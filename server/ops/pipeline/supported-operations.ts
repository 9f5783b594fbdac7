// The operations this server implements, by KMIP name and code (KMIP 1.4 §4), and the version that
// introduced each. Data only: Query reports it and the registry runs it, neither imports the other.
import { Enum } from '../../kmip/tables.js';
import { operationMinor } from '../../kmip/versions.js';

const Op = Enum.Operation;

export const SUPPORTED_OPERATIONS = {
  'Create': Op.Create,
  'Create Key Pair': Op.CreateKeyPair,
  'Register': Op.Register,
  'Re-key': Op.ReKey,
  'Locate': Op.Locate,
  'Check': Op.Check,
  'Get': Op.Get,
  'Get Attributes': Op.GetAttributes,
  'Get Attribute List': Op.GetAttributeList,
  'Add Attribute': Op.AddAttribute,
  'Modify Attribute': Op.ModifyAttribute,
  'Delete Attribute': Op.DeleteAttribute,
  'Obtain Lease': Op.ObtainLease,
  'Get Usage Allocation': Op.GetUsageAllocation,
  'Activate': Op.Activate,
  'Revoke': Op.Revoke,
  'Destroy': Op.Destroy,
  'Archive': Op.Archive,
  'Recover': Op.Recover,
  'Query': Op.Query,
  'Discover Versions': Op.DiscoverVersions,
  'Encrypt': Op.Encrypt,
  'Decrypt': Op.Decrypt,
} as const;

export type OperationName = keyof typeof SUPPORTED_OPERATIONS;

/** [code, name, minor version that introduced it], in the order above (Query answers in it). */
export const SUPPORTED: readonly { code: number; name: OperationName; minor: number }[] = (
  Object.entries(SUPPORTED_OPERATIONS) as [OperationName, number][]
).map(([name, code]) => ({ code, name, minor: operationMinor(code) }));
