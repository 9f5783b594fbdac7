// Template-Attribute structures (KMIP 1.4 §2.1.8): the attributes a client supplies with Create,
// Register and Re-key, including those inherited from named Template objects (KMIP 1.4 §2.2.6,
// deprecated in 1.3 but still sent by 1.0–1.2 clients).
import { KmipError } from '../../errors.js';
import { checkValue, parseAttribute, requireSpec, type Attribute } from '../../kmip/attribute-codec.js';
import { decodeAttributes } from '../../store/key-store.js';
import { invalidField, StructReader } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ItemType, type Item } from '../../kmip/item.js';
import type { OpContext } from '../pipeline/context.js';
import { withUsageCount } from './usage-limits.js';

/** A Template-Attribute as read from a request: explicit attributes checked, templates by name. */
export interface TemplateAttributeRequest {
  /** Name structures of the Templates it refers to (KMIP 1.0 §2.2.6), resolved when acting. */
  templates: { item: Item; nameValue: string }[];
  /** Explicit attributes, each checked for its type and for who may set it; index 0 for now. */
  explicit: Attribute[];
  where: string;
}

/**
 * Reads a Template-Attribute (KMIP 1.4 §2.1.8). Server-set attributes are refused, as are values of
 * the wrong type and indices on single-instance attributes. Reads no stored object.
 */
export function parseTemplateAttribute(t: StructReader | undefined, where: string): TemplateAttributeRequest {
  if (!t) return { templates: [], explicit: [], where };
  const templateNames = t.allStructures(Tag.Name);
  const given = t.allStructures(Tag.Attribute).map((a) => parseAttribute(a, where));
  t.done();
  const templates = templateNames.map((item) => {
    const r = StructReader.of(item, 'template Name');
    const nameValue = r.text(Tag.NameValue);
    r.enumeration(Tag.NameType);
    r.done();
    return { item, nameValue };
  });
  const explicit: Attribute[] = [];
  for (const a of given) {
    const spec = requireSpec(a.name);
    if (spec.setBy === 'server') throw invalidField(`"${a.name}" is set by the server and cannot be supplied in ${where}`);
    if (a.index !== undefined && a.index !== 0 && !spec.multi) {
      throw invalidField(`"${a.name}" has a single instance; Attribute Index ${a.index} is not allowed`);
    }
    checkValue(spec, a.name, a.value!);
    explicit.push({ name: a.name, index: 0, value: withUsageCount(a.name, a.value!) });
  }
  return { templates, explicit, where };
}

/**
 * The attributes a Template-Attribute gives: those of the referenced templates, overridden by the
 * explicit ones (KMIP 1.4 §2.1.8), indexed 0, 1, … per name. Returns fresh objects each call.
 */
export function resolveTemplateAttribute(t: TemplateAttributeRequest, ctx: OpContext): Attribute[] {
  const fromTemplates: Attribute[] = [];
  for (const n of t.templates) {
    for (const a of templateAttributes(ctx, n.item, n.nameValue)) fromTemplates.push(a);
  }
  // Explicit single-instance attributes replace the template's; multi-instance ones add to them
  // (template instances first). A template's own Name names the template, not the new object.
  const out: Attribute[] = [];
  const explicitSingle = new Set(t.explicit.filter((a) => !requireSpec(a.name).multi).map((a) => a.name));
  for (const a of fromTemplates) if (a.name !== 'Name' && !explicitSingle.has(a.name)) out.push(a);
  for (const a of t.explicit) out.push({ ...a });
  // Indices: 0, 1, … per name in the order given; single-instance names at most once.
  const seen = new Map<string, number>();
  for (const a of out) {
    const n = seen.get(a.name) ?? 0;
    if (n > 0 && !requireSpec(a.name).multi) {
      throw invalidField(`"${a.name}" may appear only once in ${t.where}`);
    }
    a.index = n;
    seen.set(a.name, n + 1);
  }
  return out;
}

/** The attributes held by the Template named by a Name structure (KMIP 1.0 §2.2.6). */
function templateAttributes(ctx: OpContext, nameItem: Item, nameValue: string): Attribute[] {
  const nameAttrValue = { tag: Tag.AttributeValue, type: ItemType.Structure, value: nameItem.type === ItemType.Structure ? nameItem.value : [] };
  // Only the caller's own objects: another identity's same-named templates must neither be used nor
  // crowd the caller's out of the lookup.
  const seqs = ctx.store.findByAttribute(ctx.identity, 'Name', nameAttrValue, Number.MAX_SAFE_INTEGER, 16);
  for (const seq of seqs) {
    const o = ctx.store.loadBySeq(seq);
    if (!o || o.objectType !== Enum.ObjectType.Template || o.owner !== ctx.identity) continue;
    const found = ctx.store.loadWithMaterial(o.uid);
    if (!found?.material) continue;
    return decodeTemplate(found.material);
  }
  throw new KmipError(Enum.ResultReason.ItemNotFound, `no Template named "${nameValue}"`);
}

/** A stored Template's value: its attributes in the store's canonical encoding (register.ts). */
export const decodeTemplate = decodeAttributes;
