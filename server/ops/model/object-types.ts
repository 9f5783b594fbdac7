// The managed object types this server stores, and the tag of each one's value structure
// (KMIP 1.4 §2.2). Register reads the value by it; Query reports the types.
import { Enum, Tag } from '../../kmip/tables.js';

const OT = Enum.ObjectType;

export const OBJECT_TAG: ReadonlyMap<number, number> = new Map([
  [OT.Certificate, Tag.Certificate],
  [OT.SymmetricKey, Tag.SymmetricKey],
  [OT.PublicKey, Tag.PublicKey],
  [OT.PrivateKey, Tag.PrivateKey],
  [OT.SplitKey, Tag.SplitKey],
  [OT.Template, Tag.Template],
  [OT.SecretData, Tag.SecretData],
  [OT.OpaqueObject, Tag.OpaqueObject],
  [OT.PGPKey, Tag.PGPKey],
]);
