// KMIP 1.4 §4.25 Query: what this server supports. Answers the Query Functions it implements, in
// the response field order of KMIP 1.4 §4.25; others are ignored, as the spec allows.
import { enumeration, integer, structure, textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import { enumValueMinor } from '../kmip/versions.js';
import type { OpContext } from './context.js';
import { OPERATIONS } from './registry.js';
import { OBJECT_TAG } from './register.js';

const Q = Enum.QueryFunction;

/** Vendor extension tag carrying the product and version inside Server Information. */
const SERVER_VERSION_TAG = 0x540001;

/** The vendor extensions this server uses (KMIP 1.4 §4.25 Query Extension List / Map). */
const EXTENSIONS = [{ name: 'Keyhaven Server Version', tag: SERVER_VERSION_TAG, type: 0x07 }];

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
  if (minor >= 1 && (functions.has(Q.QueryExtensionList) || functions.has(Q.QueryExtensionMap))) {
    const map = functions.has(Q.QueryExtensionMap);
    for (const e of EXTENSIONS) {
      const fields: Item[] = [textString(Tag.ExtensionName, e.name)];
      if (map) fields.push(integer(Tag.ExtensionTag, e.tag), integer(Tag.ExtensionType, e.type));
      out.push(structure(Tag.ExtensionInformation, fields));
    }
  }
  // Application Namespaces and the 1.2+/1.3+ functions: nothing to report.
  return out;
}
