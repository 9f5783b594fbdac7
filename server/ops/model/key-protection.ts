// Sensitive, Always Sensitive, Extractable and Never Extractable (KMIP 1.4 §3.48–§3.51): what the
// server promises about releasing an object's key material, enforced rather than merely stored.
//
// - Sensitive (§3.48): the value is never returned by Get unless wrapped under another key.
// - Extractable (§3.50): when False the value is never returned by Get, wrapped or not.
// - Always Sensitive / Never Extractable (§3.49, §3.51): set by the server when the object is made,
//   and true only while the promise has held since then.
// A promise can be strengthened but never withdrawn (as PKCS#11 treats CKA_SENSITIVE and
// CKA_EXTRACTABLE): Sensitive does not go back to False, Extractable not back to True. Otherwise a
// client holding the object could undo what Always Sensitive / Never Extractable vouch for.
import { KmipError } from '../../errors.js';
import type { Attribute } from '../../kmip/attribute-codec.js';
import type { Item } from '../../kmip/item.js';
import { ItemType } from '../../kmip/item.js';
import { Enum } from '../../kmip/tables.js';
import { resultReasonFor, type ProtocolVersion } from '../../kmip/versions.js';
import type { StoredObject } from '../../store/key-store.js';
import { attrValue, av } from './object-model.js';

const OT = Enum.ObjectType;

/** Objects whose value is secret: the ones these attributes protect. */
const SECRET_TYPES: ReadonlySet<number> = new Set([OT.SymmetricKey, OT.PrivateKey, OT.SplitKey, OT.SecretData]);

const flag = (o: { attributes: Attribute[] }, name: string): boolean | undefined => {
  const v = attrValue(o, name);
  return v?.type === ItemType.Boolean ? v.value : undefined;
};

/** §3.48: absent means False. */
export const isSensitive = (o: { attributes: Attribute[] }): boolean => flag(o, 'Sensitive') === true;
/** §3.50: absent means True. */
export const isExtractable = (o: { attributes: Attribute[] }): boolean => flag(o, 'Extractable') !== false;

/** The server-maintained records for a new object (§3.49, §3.51), from its initial attributes. */
export function protectionRecords(objectType: number, o: { attributes: Attribute[] }): { name: string; value: Item }[] {
  if (!SECRET_TYPES.has(objectType)) return [];
  return [
    { name: 'Always Sensitive', value: av.bool(isSensitive(o)) },
    { name: 'Never Extractable', value: av.bool(!isExtractable(o)) },
  ];
}

/**
 * Refuses a change that would withdraw a promise: Sensitive True → False, Extractable False → True.
 * `next` is the value the attribute would have after the change (undefined: deleted).
 */
export function checkProtectionChange(o: { attributes: Attribute[] }, name: string, next: Item | undefined): void {
  const value = next?.type === ItemType.Boolean ? next.value : undefined;
  if (name === 'Sensitive' && isSensitive(o) && value !== true) {
    throw new KmipError(Enum.ResultReason.PermissionDenied, 'Sensitive cannot be set back to False: the key would become retrievable in the clear');
  }
  if (name === 'Extractable' && !isExtractable(o) && value !== false) {
    throw new KmipError(Enum.ResultReason.PermissionDenied, 'Extractable cannot be set back to True once False: the key was promised never to leave the server');
  }
}

/** The 1.4 reason where the client's version has it; Permission Denied before 1.4. */
const reasonIn = (reason: number, version: ProtocolVersion): number =>
  resultReasonFor(reason, version) === reason ? reason : Enum.ResultReason.PermissionDenied;

/** Whether Get may return the value of `o`: refuses what Extractable and Sensitive forbid. */
export function checkRelease(o: StoredObject, wrapped: boolean, version: ProtocolVersion): void {
  if (!isExtractable(o)) {
    throw new KmipError(reasonIn(Enum.ResultReason.NotExtractable, version), `object ${o.uid} is not extractable: its key material never leaves the server`);
  }
  if (isSensitive(o) && !wrapped) {
    throw new KmipError(
      reasonIn(Enum.ResultReason.Sensitive, version),
      `object ${o.uid} is Sensitive: it is returned only wrapped under another key (send a Key Wrapping Specification)`,
    );
  }
}
