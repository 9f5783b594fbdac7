// What readXml made of a document, counted: the XML reader's tests run the reader on hostile documents
// in a child process (`node xml-stats.ts FILE`), so that a reader that is quadratic again is killed
// after a bound and the test fails, instead of blocking the test runner's thread for many minutes.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { readXml, type XmlElement } from '../../../lib/xml.js';

export interface XmlStats {
  elements: number;
  /** Attributes, namespace declarations excluded. */
  attributes: number;
  /** Characters of text content, all elements together. */
  textLength: number;
  maxDepth: number;
  /** The last element in document order, and its last attribute. */
  last: { name: string; namespace: string | null; attribute?: { name: string; namespace: string | null; value: string } };
  /** The first 40 characters of the text content. */
  textStart: string;
}

export function xmlStats(root: XmlElement): XmlStats {
  const stats: XmlStats = { elements: 0, attributes: 0, textLength: 0, maxDepth: 0, last: { name: '', namespace: null }, textStart: '' };
  // Iterative: a stack of [element, depth], children pushed in reverse to visit in document order.
  const stack: [XmlElement, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, depth] = stack.pop()!;
    stats.elements++;
    stats.attributes += e.attributes.length;
    stats.maxDepth = Math.max(stats.maxDepth, depth);
    const a = e.attributes[e.attributes.length - 1];
    stats.last = { name: e.name, namespace: e.namespace, ...(a ? { attribute: { name: a.name, namespace: a.namespace, value: a.value } } : {}) };
    for (let i = e.children.length - 1; i >= 0; i--) {
      const c = e.children[i]!;
      if (c.kind === 'element') stack.push([c, depth + 1]);
    }
    for (const c of e.children) {
      if (c.kind !== 'text') continue;
      stats.textLength += c.value.length;
      if (stats.textStart.length < 40) stats.textStart = (stats.textStart + c.value).slice(0, 40);
    }
  }
  return stats;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const doc = readFileSync(process.argv[2]!, 'utf8');
  const started = performance.now();
  const root = readXml(doc);
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, ...xmlStats(root) }));
}
