// KMIP 1.4 §4.25 Query: what this server supports. Answers the Query Functions it implements, in
// the response field order of KMIP 1.4 §4.25; others are ignored, as the spec allows.
import { enumeration, integer, ItemType, structure, textString, type Item } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { enumValueMinor } from '../../kmip/versions.js';
import { OBJECT_TAG } from '../model/object-types.js';
import { operation } from '../pipeline/operation.js';
import { SUPPORTED } from '../pipeline/supported-operations.js';

const Q = Enum.QueryFunction;

/** Vendor extension tag carrying the product and version inside Server Information. */
const SERVER_VERSION_TAG = 0x540001;

/** The vendor extensions this server uses (KMIP 1.4 §4.25 Query Extension List / Map). */
const EXTENSIONS = [{ name: 'Keyhaven Server Version', tag: SERVER_VERSION_TAG, type: ItemType.TextString }];

export interface QueryRequest {
  functions: ReadonlySet<number>;
}

export const query = operation<QueryRequest>({
  parse(p) {
    const functions = new Set(p.allEnumerations(Tag.QueryFunction));
    p.done();
    return { functions };
  },
  run({ functions }, ctx) {
    const minor = ctx.version.minor;
    const out: Item[] = [];
    if (functions.has(Q.QueryOperations)) {
      for (const op of SUPPORTED) if (op.minor <= minor && (!ctx.served || ctx.served.has(op.code))) out.push(enumeration(Tag.Operation, op.code));
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
  },
});
