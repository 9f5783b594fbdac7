// A small, strict, non-validating XML 1.0 reader with namespaces, for the few small documents the
// image side reads: the OVF environment at boot, and our own OVF descriptor in tests.
//
// Why not a general parser: xmlbuilder2's reader is lenient (it accepts mismatched end tags, duplicate
// attributes and undefined entities, and leaves prefixed attributes without a namespace), and the
// OVF environment arrives from outside the appliance. This reader refuses anything that is not
// well-formed (XML 1.0 §2.1) and never processes a DTD: a document with a DOCTYPE is refused outright,
// so there is no entity expansion ("billion laughs") and no external entity (XXE) to resolve. Only the
// five predefined entities (§4.6) and character references (§4.1) are recognised.
// Namespaces follow "Namespaces in XML 1.0" §5–§6 (prefix binding and scoping, unique expanded names).
//
// Reading is linear in the document's length: one pass, text and attribute values taken in runs,
// positions for messages kept by a cursor that only moves forward (an earlier version recounted the
// lines before every element: 75 s for 250 KiB of short lines). Documents over MAX_XML_LENGTH are
// refused before anything is parsed: an OVF environment is a few KiB (about 30 properties plus
// VMware's platform and network sections) and our OVF descriptor about 10 KiB, so 1 Mi characters
// leaves two orders of magnitude of room and still reads in well under a second.

import { ErrorCodes, KeyhavenError } from '../server/errors.js';

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  /** The qualified name as written, e.g. `oe:key`. */
  readonly name: string;
  readonly localName: string;
  /** Namespace URI; unprefixed attributes have none (Namespaces in XML §6.3). */
  readonly namespace: string | null;
  readonly value: string;
}

export interface XmlText {
  readonly kind: 'text';
  readonly value: string;
}

export interface XmlElement {
  readonly kind: 'element';
  readonly name: string;
  readonly localName: string;
  readonly namespace: string | null;
  /** Attributes in document order, namespace declarations (`xmlns`, `xmlns:p`) excluded. */
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly (XmlElement | XmlText)[];
  /** 1-based position of the start tag, for error messages. */
  readonly line: number;
  readonly column: number;
}

/** The largest document the reader accepts at all, in characters (UTF-16 code units). */
export const MAX_XML_LENGTH = 1024 * 1024;

export interface XmlReadLimits {
  /** Largest accepted document, in characters. Default and ceiling MAX_XML_LENGTH (1 Mi). */
  readonly maxLength?: number;
  /** Deepest accepted element nesting. Default 32. */
  readonly maxDepth?: number;
  /** Most attributes on one element. Default 64. */
  readonly maxAttributes?: number;
}

/** A document the reader refuses (code KH_OVA_INVALID; the OVF environment reports KH_OVF_ENV_INVALID). */
export class XmlSyntaxError extends KeyhavenError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(ErrorCodes.OVA_INVALID, `${message} (line ${line}, column ${column})`);
    this.name = 'XmlSyntaxError';
    this.line = line;
    this.column = column;
  }
}

// XML 1.0 §2.2 Char, §2.3 NameStartChar / NameChar (surrogate pairs are checked as code points).
const isXmlChar = (cp: number): boolean =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
const NAME_START = 'A-Za-z_:\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
const NCNAME_RE = new RegExp(`^[${NAME_START.replace(':', '')}][${NAME_CHAR.replace(':', '')}]*$`, 'u');

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

interface RawAttribute {
  name: string;
  value: string;
  line: number;
  column: number;
}

// Runs of plain characters: in content up to markup, a reference, a CR (§2.11) or a "]" (for "]]>");
// in an attribute value up to its quote, "<", a reference or white space to normalise (§3.3.3).
const TEXT_RUN = /[^<&\r\]]+/y;
const ATTRIBUTE_RUN: Record<'"' | "'", RegExp> = { '"': /[^"<&\t\n\r]+/y, "'": /[^'<&\t\n\r]+/y };

class Reader {
  private pos = 0;
  private depth = 0;
  // where(): the line number and line start up to `lineAt`, and the next line feed after it (-1:
  // none), all moved forward only, so that every character is looked at once.
  private lineAt = 0;
  private line = 1;
  private lineStart = 0;
  private nextLf = -2; // not looked for yet
  constructor(
    private readonly src: string,
    private readonly maxDepth: number,
    private readonly maxAttributes: number,
  ) {}

  fail(message: string, at = this.pos): never {
    const { line, column } = this.where(at);
    throw new XmlSyntaxError(message, line, column);
  }

  /** 1-based line and column (in UTF-16 units) of offset `at`; amortised O(1) for increasing offsets. */
  private where(at = this.pos): { line: number; column: number } {
    if (at < this.lineAt) {
      // Only error messages look back; start over once.
      this.lineAt = 0;
      this.line = 1;
      this.lineStart = 0;
      this.nextLf = -2;
    }
    if (this.nextLf === -2) this.nextLf = this.src.indexOf('\n', this.lineAt);
    while (this.nextLf >= 0 && this.nextLf < at) {
      this.line++;
      this.lineStart = this.nextLf + 1;
      this.nextLf = this.src.indexOf('\n', this.lineStart);
    }
    this.lineAt = at;
    return { line: this.line, column: at - this.lineStart + 1 };
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  private expect(s: string, what: string): void {
    if (!this.startsWith(s)) this.fail(`expected ${what}`);
    this.pos += s.length;
  }

  private skipSpace(): boolean {
    const start = this.pos;
    for (;;) {
      const c = this.src.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x9 && c !== 0xd && c !== 0xa) break;
      this.pos++;
    }
    return this.pos > start;
  }

  private readName(what: string): string {
    NAME_RE.lastIndex = this.pos;
    const m = NAME_RE.exec(this.src);
    if (!m) this.fail(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }

  /** §4.1 / §4.6: `&name;` or `&#...;` at this.pos; returns the replacement text. */
  private readReference(): string {
    const start = this.pos;
    const end = this.src.slice(start, start + 14).indexOf(';') + start; // a reference is short: look no further
    if (end < start || end - start > 12) this.fail('"&" must start an entity or character reference ending in ";" (write &amp; for a literal ampersand)');
    const body = this.src.slice(start + 1, end);
    this.pos = end + 1;
    if (body.startsWith('#')) {
      const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(body);
      const cp = m ? (m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2] as string, 10)) : -1;
      if (!isXmlChar(cp)) this.fail(`character reference &${body}; is not a legal XML character`, start);
      return String.fromCodePoint(cp);
    }
    const replacement = PREDEFINED[body];
    if (replacement === undefined) {
      this.fail(`undefined entity &${body}; (only &lt; &gt; &amp; &apos; &quot; and character references are accepted; DTDs are not processed)`, start);
    }
    return replacement;
  }

  private readComment(): void {
    const start = this.pos;
    this.pos += 4; // <!--
    const end = this.src.indexOf('--', this.pos);
    if (end < 0) this.fail('unterminated comment', start);
    if (this.src[end + 2] !== '>') this.fail('"--" is not allowed inside a comment', end);
    this.pos = end + 3;
  }

  private readProcessingInstruction(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.readName('a processing-instruction target');
    if (target.toLowerCase() === 'xml') this.fail('an XML declaration is only allowed at the very start of the document', start);
    const end = this.src.indexOf('?>', this.pos);
    if (end < 0) this.fail('unterminated processing instruction', start);
    this.pos = end + 2;
  }

  /** Comments, PIs and white space between markup outside the root element (§2.8 Misc). */
  private skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--')) this.readComment();
      else if (this.startsWith('<?')) this.readProcessingInstruction();
      else return;
    }
  }

  private readXmlDeclaration(): void {
    if (!this.startsWith('<?xml') || !/[ \t\r\n]/.test(this.src[5] ?? '')) return;
    const end = this.src.indexOf('?>');
    if (end < 0) this.fail('unterminated XML declaration');
    const decl = this.src.slice(5, end);
    const m = /^\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\3)?(\s+standalone\s*=\s*(["'])(yes|no)\6)?\s*$/.exec(decl);
    if (!m) this.fail('malformed XML declaration');
    const encoding = m[4];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) this.fail(`unsupported encoding "${encoding}" (only UTF-8 is accepted)`);
    this.pos = end + 2;
  }

  document(): RawElement {
    this.readXmlDeclaration();
    this.skipMisc();
    if (this.startsWith('<!DOCTYPE') || this.startsWith('<!doctype')) {
      this.fail('document type declarations (DOCTYPE) are refused: DTDs and entity definitions are never processed');
    }
    if (!this.startsWith('<') || this.startsWith('</') || this.startsWith('<!')) this.fail('expected the root element');
    const root = this.element();
    this.skipMisc();
    if (this.pos < this.src.length) {
      this.fail(this.startsWith('<') ? 'only one root element is allowed' : 'text is not allowed after the root element');
    }
    return root;
  }

  private element(): RawElement {
    const start = this.pos;
    const { line, column } = this.where(start);
    if (++this.depth > this.maxDepth) this.fail(`elements are nested deeper than ${this.maxDepth} levels`);
    this.pos++; // <
    const name = this.readName('an element name');
    const attributes: RawAttribute[] = [];
    for (;;) {
      const spaced = this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        this.depth--;
        return { name, attributes, children: [], line, column };
      }
      if (this.startsWith('>')) {
        this.pos++;
        break;
      }
      if (!spaced) this.fail('expected white space, ">" or "/>" after the element name or attribute');
      const at = this.where();
      const attrName = this.readName('an attribute name');
      this.skipSpace();
      this.expect('=', `"=" after attribute ${attrName}`);
      this.skipSpace();
      const value = this.attributeValue();
      // At most maxAttributes to compare with, so this stays linear in the document.
      for (const a of attributes) if (a.name === attrName) this.fail(`attribute ${attrName} appears twice on <${name}>`, this.pos);
      if (attributes.length >= this.maxAttributes) this.fail(`<${name}> has more than ${this.maxAttributes} attributes`);
      attributes.push({ name: attrName, value, ...at });
    }
    const children: (RawElement | XmlText)[] = [];
    let text = '';
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`<${name}> is not closed`, start);
      const c = this.src[this.pos] as string;
      if (c === '<') {
        if (this.startsWith('</')) {
          this.pos += 2;
          const end = this.readName('an end-tag name');
          if (end !== name) this.fail(`end tag </${end}> does not match start tag <${name}> at line ${line}, column ${column}`);
          this.skipSpace();
          this.expect('>', `">" to close </${end}>`);
          if (text !== '') children.push({ kind: 'text', value: text });
          this.depth--;
          return { name, attributes, children, line, column };
        }
        if (this.startsWith('<!--')) this.readComment();
        else if (this.startsWith('<![CDATA[')) {
          const end = this.src.indexOf(']]>', this.pos + 9);
          if (end < 0) this.fail('unterminated CDATA section');
          text += this.src.slice(this.pos + 9, end);
          this.pos = end + 3;
        } else if (this.startsWith('<?')) this.readProcessingInstruction();
        else if (this.startsWith('<!')) this.fail('markup declarations are not allowed inside an element');
        else {
          if (text !== '') children.push({ kind: 'text', value: text });
          text = '';
          children.push(this.element());
        }
      } else if (c === '&') {
        text += this.readReference();
      } else if (c === '\r') {
        // Line ends are normalised to \n (§2.11).
        text += '\n';
        this.pos += this.src[this.pos + 1] === '\n' ? 2 : 1;
      } else if (c === ']') {
        if (this.startsWith(']]>')) this.fail('"]]>" is not allowed in text');
        text += c;
        this.pos++;
      } else {
        TEXT_RUN.lastIndex = this.pos;
        const run = TEXT_RUN.exec(this.src)![0];
        text += run;
        this.pos += run.length;
      }
    }
  }

  /** §2.3 AttValue with §3.3.3 normalisation (CDATA attributes: each white-space character → space). */
  private attributeValue(): string {
    const quote = this.src[this.pos];
    if (quote !== '"' && quote !== "'") this.fail('attribute values must be quoted');
    const run = ATTRIBUTE_RUN[quote];
    const start = this.pos;
    this.pos++;
    let value = '';
    for (;;) {
      run.lastIndex = this.pos;
      const plain = run.exec(this.src);
      if (plain) {
        value += plain[0];
        this.pos += plain[0].length;
      }
      if (this.pos >= this.src.length) this.fail('unterminated attribute value', start);
      const c = this.src[this.pos] as string;
      if (c === quote) {
        this.pos++;
        return value;
      }
      if (c === '<') this.fail('"<" is not allowed in an attribute value (write &lt;)');
      if (c === '&') {
        value += this.readReference();
        continue;
      }
      if (c === '\r' && this.src[this.pos + 1] === '\n') this.pos++;
      value += c === '\t' || c === '\n' || c === '\r' ? ' ' : c;
      this.pos++;
    }
  }
}

interface RawElement {
  name: string;
  attributes: RawAttribute[];
  children: (RawElement | XmlText)[];
  line: number;
  column: number;
}

function nsFail(message: string, at: { line: number; column: number }): never {
  throw new XmlSyntaxError(message, at.line, at.column);
}

/** Prefix and local part of a QName (Namespaces in XML 1.0 §4). */
function splitQName(qname: string, at: { line: number; column: number }): [string, string] {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  if ((colon >= 0 && !NCNAME_RE.test(prefix)) || !NCNAME_RE.test(local)) nsFail(`"${qname}" is not a valid namespace-qualified name`, at);
  return [prefix, local];
}

// (No closures per element: this runs once for each element of the document.)
function resolveNamespaces(raw: RawElement, scope: ReadonlyMap<string, string>): XmlElement {
  let inner: Map<string, string> | undefined;
  let declarations = 0;
  for (const a of raw.attributes) {
    const prefix = a.name === 'xmlns' ? '' : a.name.startsWith('xmlns:') ? a.name.slice(6) : undefined;
    if (prefix === undefined) continue;
    declarations++;
    const uri = a.value;
    if (prefix === 'xmlns') nsFail('the xmlns prefix must not be declared', a);
    if (prefix === 'xml' ? uri !== XML_NAMESPACE : uri === XML_NAMESPACE || uri === XMLNS_NAMESPACE) {
      nsFail(`prefix "${prefix}" must not be bound to ${uri || 'an empty namespace'}`, a);
    }
    if (prefix !== '' && uri === '') nsFail(`prefix "${prefix}" must not be undeclared (Namespaces in XML 1.0 §5)`, a);
    inner ??= new Map(scope);
    inner.set(prefix, uri);
  }
  const ns = inner ?? scope;
  const [prefix, localName] = splitQName(raw.name, raw);
  const namespace = prefix === '' ? ns.get('') || null : (ns.get(prefix) ?? nsFail(`element prefix "${prefix}" is not declared`, raw));
  const attributes: XmlAttribute[] = [];
  // Expanded names must be unique (§6.3); a set only when there is more than one to compare.
  const seen = raw.attributes.length - declarations > 1 ? new Set<string>() : undefined;
  for (const a of raw.attributes) {
    if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
    const [p, local] = splitQName(a.name, a);
    const uri = p === '' ? null : (ns.get(p) ?? nsFail(`attribute prefix "${p}" is not declared`, a));
    if (seen) {
      const expanded = `${uri ?? ''} ${local}`;
      if (seen.has(expanded)) nsFail(`attribute ${a.name} repeats another attribute with the same namespace and name`, a);
      seen.add(expanded);
    }
    attributes.push({ name: a.name, localName: local, namespace: uri, value: a.value });
  }
  const children: (XmlElement | XmlText)[] = [];
  for (const c of raw.children) children.push('kind' in c ? c : resolveNamespaces(c, ns));
  return { kind: 'element', name: raw.name, localName, namespace, attributes, children, line: raw.line, column: raw.column };
}

/** Parses a complete document and returns its root element. Throws XmlSyntaxError. */
export function readXml(source: string, limits: XmlReadLimits = {}): XmlElement {
  const maxLength = Math.min(limits.maxLength ?? MAX_XML_LENGTH, MAX_XML_LENGTH);
  if (source.length > maxLength) {
    throw new XmlSyntaxError(`document is larger than ${maxLength} characters (it has ${source.length}): refused before parsing`, 1, 1);
  }
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const reader = new Reader(text, limits.maxDepth ?? 32, limits.maxAttributes ?? 64);
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    else if (cp >= 0xd800 && cp <= 0xdfff) reader.fail('unpaired surrogate in the document', i);
    if (!isXmlChar(cp)) reader.fail(`character U+${cp.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, i);
  }
  const root = reader.document();
  return resolveNamespaces(root, new Map([['xml', XML_NAMESPACE]]));
}

/** Child elements, optionally only those with the given namespace and local name. */
export function childElements(parent: XmlElement, namespace?: string | null, localName?: string): XmlElement[] {
  return parent.children.filter(
    (c): c is XmlElement =>
      c.kind === 'element' && (namespace === undefined || c.namespace === namespace) && (localName === undefined || c.localName === localName),
  );
}

/** The value of the attribute with this namespace (null: unprefixed) and local name. */
export function attributeValue(element: XmlElement, namespace: string | null, localName: string): string | undefined {
  return element.attributes.find((a) => a.namespace === namespace && a.localName === localName)?.value;
}

/** Concatenated text content of an element and its descendants. */
export function textContent(element: XmlElement): string {
  return element.children.map((c) => (c.kind === 'text' ? c.value : textContent(c))).join('');
}
