// Template-Attribute structures (KMIP 1.4 §2.1.8): the attributes a client supplies with Create,
// Register and Re-key, including those inherited from named Template objects (KMIP 1.4 §2.2.6,
// deprecated in 1.3 but still sent by 1.0–1.2 clients).
import { KmipError } from '../errors.js';
import { checkValue, parseAttribute, requireSpec, type Attribute } from '../kmip/attribute-codec.js';
import { decodeAttributes } from '../store/key-store.js';
import { invalidField, StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { Item } from '../kmip/item.js';
import type { OpContext } from './context.js';
import { withUsageCount } from './usage-limits.js';

/**
 * Reads a Template-Attribute. Attributes given explicitly override those of referenced templates
 * (KMIP 1.4 §2.1.8). Server-set attributes are refused, as are single-instance attributes given
 * twice and values of the wrong type.
 */
export function readTemplateAttribute(t: StructReader | undefined, ctx: OpContext, where: string): Attribute[] {
  if (!t) return [];
  const templateNames = t.all(Tag.Name, 0x01);
  const explicit = t.all(Tag.Attribute, 0x01).map((a) => parseAttribute(a, where));
  t.done();

  const fromTemplates: Attribute[] = [];
  for (const n of templateNames) {
    for (const a of templateAttributes(ctx, n)) fromTemplates.push(a);
  }
  // Explicit single-instance attributes replace the template's; multi-instance ones add to them
  // (template instances first). A template's own Name names the template, not the new object.
  const out: Attribute[] = [];
  const explicitSingle = new Set(explicit.filter((a) => !requireSpec(a.name).multi).map((a) => a.name));
  for (const a of fromTemplates) if (a.name !== 'Name' && !explicitSingle.has(a.name)) out.push(a);
  for (const a of explicit) {
    const spec = requireSpec(a.name);
    if (spec.setBy === 'server') throw invalidField(`"${a.name}" is set by the server and cannot be supplied in ${where}`);
    if (a.index !== undefined && a.index !== 0 && !spec.multi) {
      throw invalidField(`"${a.name}" has a single instance; Attribute Index ${a.index} is not allowed`);
    }
    checkValue(spec, a.name, a.value!);
    out.push({ name: a.name, index: 0, value: withUsageCount(a.name, a.value!) });
  }
  // Indices: 0, 1, … per name in the order given; single-instance names at most once.
  const seen = new Map<string, number>();
  for (const a of out) {
    const n = seen.get(a.name) ?? 0;
    if (n > 0 && !requireSpec(a.name).multi) {
      throw invalidField(`"${a.name}" may appear only once in ${where}`);
    }
    a.index = n;
    seen.set(a.name, n + 1);
  }
  return out;
}

/** The attributes held by the Template named by a Name structure (KMIP 1.0 §2.2.6). */
function templateAttributes(ctx: OpContext, nameItem: Item): Attribute[] {
  const r = StructReader.of(nameItem, 'template Name');
  const nameValue = r.required(Tag.NameValue, 0x07);
  r.required(Tag.NameType, 0x05);
  r.done();
  const nameAttrValue = { tag: Tag.AttributeValue, type: 0x01 as const, value: nameItem.type === 0x01 ? nameItem.value : [] };
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
