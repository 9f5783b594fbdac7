// PackerTemplate -> the text of a `*.pkr.json` file (Packer's HCL2 JSON syntax, which Packer 1.6.6
// reads by the file extension). The output is deterministic so it can be a golden file: top-level
// blocks in a fixed order (packer, variable, source, build), variables and sources and provisioners
// in model order, every configuration object's keys sorted, two-space indentation, trailing newline.
//
// Everything is validated first (validateTemplate), so a broken model fails here with a message that
// names the field, not later inside Packer.
import {
  isExpr,
  isTemplate,
  sourceId,
  type Expr,
  type PackerTemplate,
  type Template,
  type Value,
  type Variable,
} from './model.js';
import { assertDuration, assertIdentifier, assertNonEmpty, assertPrintable, invalid } from './validate.js';

type Json = string | number | boolean | Json[] | { [key: string]: Json };

// HCL template escapes (HCL native syntax spec, "Template Literals"): `$${` is a literal `${` and
// `%%{` a literal `%{`. Packer 1.6.6 applies them to JSON strings too (checked with shell-local).
// (Replacement functions, not strings: in a replacement string `$$` itself means one `$`.)
const escapeLiteral = (s: string): string => s.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');

const VAR_REF = /\bvar\.([A-Za-z_][A-Za-z0-9_-]*)/g;

/** Collects every `var.x` an expression mentions. */
function varRefs(e: Expr): string[] {
  return [...e.hcl.matchAll(VAR_REF)].map((m) => m[1] as string);
}

interface Ctx {
  readonly declared: ReadonlySet<string>;
  readonly used: Set<string>;
}

function checkExpr(where: string, e: Expr, ctx: Ctx): void {
  assertNonEmpty(where, e.hcl);
  assertPrintable(where, e.hcl);
  for (const name of varRefs(e)) {
    if (!ctx.declared.has(name)) throw invalid(where, `refers to var.${name}, which the template does not declare`);
    ctx.used.add(name);
  }
}

function checkLiteral(where: string, s: string, goTemplate: boolean): void {
  assertPrintable(where, s);
  if (!goTemplate && /\{\{|\}\}/.test(s)) {
    throw invalid(where, `${JSON.stringify(s)} contains {{ or }}, which Packer would evaluate as a Go template; use goTpl if that is intended`);
  }
}

function renderText(where: string, t: string | Expr | Template, ctx: Ctx): string {
  if (typeof t === 'string') {
    checkLiteral(where, t, false);
    return escapeLiteral(t);
  }
  if (isExpr(t)) {
    checkExpr(where, t, ctx);
    return `\${${t.hcl}}`;
  }
  if (t.parts.length === 0) throw invalid(where, 'an empty template');
  return t.parts
    .map((p) => {
      if (typeof p === 'string') {
        checkLiteral(where, p, t.goTemplate);
        return escapeLiteral(p);
      }
      checkExpr(where, p, ctx);
      return `\${${p.hcl}}`;
    })
    .join('');
}

// Fields whose name says they hold a duration (Packer parses them with Go's time.ParseDuration).
const DURATION_KEY = /(^|_)(timeout|wait)$/;

function renderValue(where: string, value: Value, ctx: Ctx, key?: string): Json {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(where, `${value} is not a finite number`);
    return value;
  }
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && key !== undefined && DURATION_KEY.test(key)) assertDuration(where, value);
  if (typeof value === 'string' || isExpr(value) || isTemplate(value)) return renderText(where, value, ctx);
  if (Array.isArray(value)) return (value as readonly Value[]).map((x, i) => renderValue(`${where}[${i}]`, x, ctx));
  const out: { [key: string]: Json } = {};
  const obj = value as { readonly [key: string]: Value | undefined };
  for (const k of Object.keys(obj).sort()) {
    const x = obj[k];
    if (x !== undefined) out[k] = renderValue(`${where}.${k}`, x, ctx, k);
  }
  return out;
}

function renderVariable(variable: Variable, ctx: Ctx): { [key: string]: Json } {
  const where = `variable ${variable.name}`;
  assertNonEmpty(`${where}.description`, variable.description);
  const out: { [key: string]: Json } = { type: variable.type, description: renderText(`${where}.description`, variable.description, ctx) };
  if (variable.default !== undefined) {
    const actual = typeof variable.default === 'boolean' ? 'bool' : typeof variable.default;
    if (actual !== variable.type) throw invalid(`${where}.default`, `is a ${actual}, but the variable's type is ${variable.type}`);
    out.default = typeof variable.default === 'string' ? renderText(`${where}.default`, variable.default, ctx) : variable.default;
  }
  if (variable.sensitive) {
    if (variable.type !== 'string') throw invalid(`${where}.sensitive`, 'only string variables are marked sensitive');
    out.sensitive = true;
  }
  if (variable.validation) {
    const { condition, errorMessage } = variable.validation;
    // A validation block may only refer to its own variable (HCL variable validation rules).
    const refs = varRefs(condition);
    if (refs.length === 0 || refs.some((r) => r !== variable.name)) {
      throw invalid(`${where}.validation.condition`, `must refer to var.${variable.name} and no other variable`);
    }
    // Packer's own rule: the message is a sentence starting with a capital and ending with a period.
    if (!/^[A-Z].*\.$/.test(errorMessage)) throw invalid(`${where}.validation.error_message`, 'must be a full sentence ending with "."');
    out.validation = [
      { condition: renderText(`${where}.validation.condition`, condition, ctx), error_message: renderText(`${where}.validation.error_message`, errorMessage, ctx) },
    ];
  }
  return out;
}

/** Checks the template as a whole and renders it; throws KeyhavenError(PACKER_INVALID) on any problem. */
export function renderTemplate(template: PackerTemplate): string {
  if (!/^(?:[<>=~!]=?|~>)?\s*\d+\.\d+(?:\.\d+)?(?:\s*,\s*(?:[<>=~!]=?|~>)?\s*\d+\.\d+(?:\.\d+)?)*$/.test(template.requiredVersion)) {
    throw invalid('packer.required_version', `${JSON.stringify(template.requiredVersion)} is not a version constraint like ">= 1.6.6"`);
  }
  const declared = new Set<string>();
  for (const variable of template.variables) {
    assertIdentifier('variable', variable.name);
    if (declared.has(variable.name)) throw invalid(`variable ${variable.name}`, 'is declared twice');
    declared.add(variable.name);
  }
  const ctx: Ctx = { declared, used: new Set() };

  const variable: { [key: string]: Json } = {};
  for (const x of template.variables) variable[x.name] = renderVariable(x, ctx);
  // validation conditions refer to their own variable; that alone does not make it used.
  ctx.used.clear();

  if (template.sources.length === 0) throw invalid('source', 'the template has no source');
  const source: { [type: string]: { [name: string]: Json } } = {};
  const ids = new Set<string>();
  for (const s of template.sources) {
    assertIdentifier(`source ${s.type}`, s.name);
    const id = sourceId(s);
    if (ids.has(id)) throw invalid(`source ${id}`, 'is declared twice');
    ids.add(id);
    (source[s.type] ??= {})[s.name] = renderValue(`source ${id}`, s.config as unknown as Value, ctx);
  }

  const { build } = template;
  if (build.sources.length === 0) throw invalid('build.sources', 'the build uses no source');
  for (const id of build.sources) if (!ids.has(id)) throw invalid('build.sources', `${JSON.stringify(id)} is not a declared source (${[...ids].join(', ')})`);
  for (const id of ids) if (!build.sources.includes(id)) throw invalid('build.sources', `source ${id} is declared but not built`);
  if (build.provisioners.length === 0) throw invalid('build.provisioner', 'the build has no provisioner');

  const provisioner = build.provisioners.map((p, i) => ({ [p.type]: renderValue(`build.provisioner[${i}] (${p.type})`, p.config as unknown as Value, ctx) }));
  const postProcessor = build.postProcessors.map((p, i) => ({
    [p.type]: renderValue(`build.post-processor[${i}] (${p.type})`, p.config as unknown as Value, ctx),
  }));

  const unused = [...declared].filter((n) => !ctx.used.has(n));
  if (unused.length > 0) throw invalid('variable', `declared but never used: ${unused.join(', ')}`);

  const buildJson: { [key: string]: Json } = { sources: [...build.sources], provisioner };
  if (postProcessor.length > 0) buildJson['post-processor'] = postProcessor;

  const doc: { [key: string]: Json } = {
    packer: { required_version: template.requiredVersion },
    variable,
    source,
    build: buildJson,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
