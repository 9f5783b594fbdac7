// KMIP 1.4 §4.25 Query: what this server supports. Answers the Query Functions it implements, in
// the response field order of KMIP 1.4 §4.25; others are ignored, as the spec allows.
import { enumeration, structure, textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import { enumValueMinor } from '../kmip/versions.js';
import type { OpContext } from './context.js';
import { OPERATIONS } from './registry.js';
import { OBJECT_TAG } from './register.js';

const Q = Enum.QueryFunction;

/** Vendor extension tag carrying the product and version inside Server Information. */
const SERVER_VERSION_TAG = 0x540001;

export function query(p: StructReader, ctx: OpContext): Item[] {
  const functions = new Set(p.all(Tag.QueryFunction, 0x05).map((f) => f.value));
  p.done();
  const minor = ctx.version.minor;
  const out: Item[] = [];
  if (functions.has(Q.QueryOperations)) {
    for (const [op, entry] of OPERATIONS) if (entry.minor <= minor) out.push(enumeration(Tag.Operation, op));
  }
  if (functions.has(Q.QueryObjects)) {
    for (const type of OBJECT_TAG.keys()) {
      if (enumValueMinor('ObjectType', type) <= minor) out.push(enumeration(Tag.ObjectType, type));
    }
  }
  if (functions.has(Q.QueryServerInformation)) {
    out.push(textString(Tag.VendorIdentification, ctx.server.vendor));
    out.push(structure(Tag.ServerInformation, [textString(SERVER_VERSION_TAG, `${ctx.server.product} ${ctx.server.version}`)]));
  }
  // Application Namespaces, Extension List/Map and the 1.2+/1.3+ functions: none to report.
  return out;
}
