// What each KMIP 1.x protocol version defines, so a response never carries a field, enumeration
// value or attribute the client's version does not know (KMIP 1.4 §6.1: the server responds in the
// protocol version of the request).
import { Enum, ENUM_OF_TAG, type EnumId } from './tables.js';
import type { Item } from './item.js';

export interface ProtocolVersion { major: number; minor: number }

/** Versions this server speaks, highest first (the order Discover Versions reports, KMIP 1.4 §4.26). */
export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = [
  { major: 1, minor: 4 },
  { major: 1, minor: 3 },
  { major: 1, minor: 2 },
  { major: 1, minor: 1 },
  { major: 1, minor: 0 },
];

export const isSupported = (v: ProtocolVersion) => v.major === 1 && v.minor >= 0 && v.minor <= 4;

/**
 * Tags were allocated in order, each version appending to the previous one's range
 * (KMIP 1.0 §9.1.3.1 … KMIP 1.4 §9.1.3.1). The value is the first tag a minor version added.
 */
const FIRST_TAG_OF_MINOR = [0x420001, 0x4200a2, 0x4200b8, 0x4200d4, 0x4200f8];

export function tagMinor(tag: number): number {
  if (tag >>> 16 === 0x54) return 0; // extensions exist in every version
  for (let m = FIRST_TAG_OF_MINOR.length - 1; m > 0; m--) if (tag >= FIRST_TAG_OF_MINOR[m]!) return m;
  return 0;
}

/** Enumeration values added after 1.0, per enumeration: value -> minor version that added it. */
const ENUM_VALUE_MINOR: Partial<Record<EnumId, ReadonlyMap<number, number>>> = {
  Operation: rangeMap([[0x1d, 0x1e, 1], [0x1f, 0x29, 2], [0x2a, 0x2b, 4]]),
  ObjectType: rangeMap([[0x09, 0x09, 2]]),
  QueryFunction: rangeMap([[0x05, 0x06, 1], [0x07, 0x07, 2], [0x08, 0x0c, 3]]),
  ResultReason: rangeMap([[0x12, 0x12, 1], [0x13, 0x15, 2], [0x16, 0x18, 4]]),
  CredentialType: rangeMap([[0x02, 0x02, 1], [0x03, 0x03, 2]]),
  CryptographicAlgorithm: rangeMap([[0x1a, 0x1a, 2], [0x1b, 0x1b, 3], [0x1c, 0x28, 4]]),
  BlockCipherMode: rangeMap([[0x12, 0x12, 4]]),
  HashingAlgorithm: rangeMap([[0x0c, 0x0d, 2], [0x0e, 0x11, 4]]),
  KeyFormatType: rangeMap([[0x14, 0x15, 3], [0x16, 0x16, 4]]),
  KeyRoleType: rangeMap([[0x16, 0x18, 4]]),
  LinkType: rangeMap([[0x108, 0x10b, 2], [0x10c, 0x10d, 4]]),
  DerivationMethod: rangeMap([[0x08, 0x08, 4]]),
  SplitKeyMethod: rangeMap([[0x04, 0x04, 2]]),
  DigitalSignatureAlgorithm: rangeMap([[0x01, 0x10, 1], [0x11, 0x13, 4]]),
  RecommendedCurve: rangeMap([[0x10, 0x44, 2]]),
};

function rangeMap(ranges: [number, number, number][]): Map<number, number> {
  const m = new Map<number, number>();
  for (const [from, to, minor] of ranges) for (let v = from; v <= to; v++) m.set(v, minor);
  return m;
}

/** Minor version that introduced a value of an enumeration (1.0 unless listed). */
export function enumValueMinor(enumId: EnumId, value: number): number {
  return ENUM_VALUE_MINOR[enumId]?.get(value) ?? 0;
}

export const operationMinor = (op: number) => enumValueMinor('Operation', op);

/** Result Reason to report in a version that lacks the precise one (KMIP 1.4 §9.1.3.2.29). */
export function resultReasonFor(reason: number, v: ProtocolVersion): number {
  return enumValueMinor('ResultReason', reason) <= v.minor ? reason : Enum.ResultReason.GeneralFailure;
}

/** The newest minor version any tag or enumeration value above comes from. */
const NEWEST_MINOR = Math.max(
  FIRST_TAG_OF_MINOR.length - 1,
  ...Object.values(ENUM_VALUE_MINOR).flatMap((m) => [...m.values()]),
);

/**
 * Finds the first item of a (response) tree that the version does not define: a tag added later,
 * or an enumeration value added later. Returns undefined when the whole tree is valid.
 */
export function firstUndefinedIn(item: Item, v: ProtocolVersion): string | undefined {
  // Every response and custom attribute value passes here: in the newest version (most clients)
  // everything is defined, so the tree need not be walked.
  if (v.minor >= NEWEST_MINOR) return undefined;
  return firstUndefined(item, v.minor);
}

function firstUndefined(item: Item, minor: number): string | undefined {
  if (tagMinor(item.tag) > minor) return `tag 0x${item.tag.toString(16)} is not defined in KMIP 1.${minor}`;
  if (item.type === 0x05) {
    const e = ENUM_OF_TAG.get(item.tag);
    if (e && enumValueMinor(e, item.value) > minor) {
      return `${e} value 0x${item.value.toString(16)} is not defined in KMIP 1.${minor}`;
    }
  }
  if (item.type === 0x01) {
    for (const c of item.value) {
      const r = firstUndefined(c, minor);
      if (r) return r;
    }
  }
  return undefined;
}
