// The one XML reader of the repository, on saxes: the OVF environment at boot and our own OVF
// descriptor (ova/), and the OASIS KMIP test cases (test/conformance/). In the shared core so that
// the image side and the tests read XML the same way.
//
// saxes is strict (it reports every well-formedness error of XML 1.0 §2.1 and of "Namespaces in XML
// 1.0" §5–§6) and never expands a DTD; on top of it this module refuses what saxes would accept:
// - any DOCTYPE (so no entity is ever defined: no "billion laughs", no external entity, XXE);
// - an encoding other than UTF-8 in the XML declaration (the text is already decoded);
// - unpaired surrogates (saxes pairs a lone high surrogate with the next code unit, e.g. "<");
// - documents over MAX_XML_LENGTH, before parsing, and nesting or attribute counts over the limits.
// The first error ends reading: saxes would go on after one, we throw from its error handler.
// saxes reads in one pass, so reading stays linear in the document's length (an earlier reader of
// ours was quadratic: test/lib/xml.test.ts keeps the hostile documents that showed it).

import { SaxesParser, type SaxesTagNS } from 'saxes';
import { defineCodes, KeyhavenError } from './errors.js';

export const XmlCodes = defineCodes({
  XML_INVALID: {
    code: 'KH_XML_INVALID',
    userFault: true,
    doc: 'An XML document (OVF environment, OVF descriptor, KMIP test case) is not well-formed, has a DOCTYPE, or exceeds a size, depth or attribute limit; the message gives the line and column.',
  },
});

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
  /** Child elements and text; adjacent text, CDATA and references form one text child. */
  readonly children: readonly (XmlElement | XmlText)[];
  /** 1-based line of the start tag, for error messages. */
  readonly line: number;
}

/**
 * The largest document the reader accepts at all, in characters (UTF-16 code units). An OVF
 * environment is a few KiB, our OVF descriptor about 10 KiB, an OASIS test case at most 36 KiB:
 * 1 Mi leaves two orders of magnitude of room and still reads in well under a second.
 */
export const MAX_XML_LENGTH = 1024 * 1024;

export interface XmlReadLimits {
  /** Largest accepted document, in characters. Default and ceiling MAX_XML_LENGTH (1 Mi). */
  readonly maxLength?: number;
  /** Deepest accepted element nesting. Default 32. */
  readonly maxDepth?: number;
  /** Most attributes on one element. Default 64. */
  readonly maxAttributes?: number;
}

/** A document the reader refuses (code KH_XML_INVALID; the OVF environment reports KH_OVF_ENV_INVALID). */
export class XmlSyntaxError extends KeyhavenError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(XmlCodes.XML_INVALID, `${message} (line ${line}, column ${column})`);
    this.name = 'XmlSyntaxError';
    this.line = line;
    this.column = column;
  }
}

// saxes' message, made to say what to write instead where that is not obvious.
const HINTS: [RegExp, string][] = [
  [/^undefined entity/, 'only &lt; &gt; &amp; &apos; &quot; and character references are accepted; DTDs are not processed'],
  [/^disallowed character/, 'XML 1.0 §2.2; write &lt; and &amp; for "<" and "&"'],
];

// A lone surrogate anywhere (a pair is fine). Text decoded from UTF-8 never has one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface OpenElement {
  name: string;
  localName: string;
  namespace: string | null;
  attributes: XmlAttribute[];
  children: (XmlElement | XmlText)[];
  line: number;
}

/** Parses a complete document and returns its root element. Throws XmlSyntaxError. */
export function readXml(source: string, limits: XmlReadLimits = {}): XmlElement {
  const maxLength = Math.min(limits.maxLength ?? MAX_XML_LENGTH, MAX_XML_LENGTH);
  if (source.length > maxLength) {
    throw new XmlSyntaxError(`document is larger than ${maxLength} characters (it has ${source.length}): refused before parsing`, 1, 1);
  }
  const maxDepth = limits.maxDepth ?? 32;
  const maxAttributes = limits.maxAttributes ?? 64;
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) {
    const before = text.slice(0, surrogate.index);
    const line = before.split('\n').length;
    throw new XmlSyntaxError('unpaired surrogate in the document', line, surrogate.index - before.lastIndexOf('\n'));
  }

  // XML 1.0 only (§2.8: a 1.0 processor reads a "1.1" document as 1.0, with 1.0's character rules).
  const parser = new SaxesParser({ xmlns: true, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true });
  const stack: OpenElement[] = [];
  let closed: OpenElement | undefined; // the element closed last
  const fail = (message: string): never => {
    throw new XmlSyntaxError(message, parser.line, Math.max(1, parser.column));
  };
  parser.on('error', (e) => {
    // saxes prefixes "line:column: " and ends with a period.
    let message = e.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    if (closed && message === 'unexpected close tag') {
      // saxes has read the end tag and closed the element it expected (`closed`): name both.
      const end = text.slice(text.lastIndexOf('</', parser.position - 1), parser.position);
      message = `end tag ${end} does not match start tag <${closed.name}> at line ${closed.line}`;
    }
    const open = stack[stack.length - 1];
    if (open && message.startsWith('duplicate attribute')) message += ` on <${open.name}>`;
    // saxes has read the reference up to its ";": name it.
    if (message === 'undefined entity') message += ` ${text.slice(text.lastIndexOf('&', parser.position - 1), parser.position)}`;
    const hint = HINTS.find(([re]) => re.test(message))?.[1];
    fail(hint ? `${message} (${hint})` : message);
  });
  parser.on('doctype', () => fail('document type declarations (DOCTYPE) are refused: DTDs and entity definitions are never processed'));
  parser.on('xmldecl', (decl) => {
    if (decl.encoding !== undefined && !/^utf-?8$/i.test(decl.encoding)) fail(`unsupported encoding "${decl.encoding}" (only UTF-8 is accepted)`);
  });

  let root: XmlElement | undefined;
  let attributeCount = 0;
  const addText = (value: string): void => {
    const parent = stack[stack.length - 1];
    if (!parent || value === '') return; // white space outside the root (saxes refuses other text there)
    const last = parent.children[parent.children.length - 1];
    if (last?.kind === 'text') parent.children[parent.children.length - 1] = { kind: 'text', value: last.value + value };
    else parent.children.push({ kind: 'text', value });
  };
  parser.on('opentagstart', (tag) => {
    if (stack.length >= maxDepth) fail(`elements are nested deeper than ${maxDepth} levels`);
    attributeCount = 0;
    // saxes has read the name and the character after it; the start tag began on that line, or on
    // the line before when that character was a line end.
    const after = text.charCodeAt(parser.position - 1);
    const line = after === 0x0a || after === 0x0d ? parser.line - 1 : parser.line;
    stack.push({ name: tag.name, localName: '', namespace: null, attributes: [], children: [], line });
  });
  parser.on('attribute', () => {
    if (++attributeCount > maxAttributes) fail(`<${stack[stack.length - 1]?.name}> has more than ${maxAttributes} attributes`);
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    const open = stack[stack.length - 1]!;
    open.localName = tag.local;
    open.namespace = tag.uri || null;
    for (const a of Object.values(tag.attributes)) {
      if (a.name === 'xmlns' || a.prefix === 'xmlns') continue;
      open.attributes.push({ name: a.name, localName: a.local, namespace: a.uri || null, value: a.value });
    }
  });
  parser.on('closetag', () => {
    const open = (closed = stack.pop()!);
    const element: XmlElement = { kind: 'element', ...open };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
  });
  parser.on('text', addText);
  parser.on('cdata', addText);

  parser.write(text).close();
  return root ?? fail('expected the root element');
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
