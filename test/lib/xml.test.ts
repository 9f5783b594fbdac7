// The strict XML reader (lib/xml.ts) behind the OVF environment and the KMIP test cases: well-formed documents in, everything else refused
// with a position, and no DTD processing at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_OVF_ENVIRONMENT_BYTES, parseOvfEnvironment } from '../../ova/ovf-environment.js';
import { attributeValue, childElements, MAX_XML_LENGTH, readXml, textContent, XmlSyntaxError } from '../../lib/xml.js';
import type { XmlStats } from './helpers/xml-stats.js';

const NS = 'urn:example';

test('reads elements, namespaced attributes, references, CDATA and comments', () => {
  const root = readXml(
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><r xmlns="${NS}" xmlns:p="urn:p" p:a="1 &amp; &#x32; &#51; &lt;&gt;&apos;&quot;" b='x\ty'>` +
      `<p:c>t<![CDATA[<raw>&]]>u</p:c><d/></r><?pi after?>\n`,
  );
  assert.equal(root.localName, 'r');
  assert.equal(root.namespace, NS);
  assert.equal(attributeValue(root, 'urn:p', 'a'), `1 & 2 3 <>'"`);
  assert.equal(attributeValue(root, null, 'b'), 'x y', 'attribute white space is normalised (XML 1.0 §3.3.3)');
  const [c, d] = childElements(root);
  assert.equal(c?.namespace, 'urn:p');
  assert.equal(textContent(c!), 't<raw>&u');
  assert.equal(d?.namespace, NS, 'the default namespace is inherited');
});

test('refuses documents that are not well-formed, saying where', () => {
  const bad: [string, RegExp][] = [
    ['<a><b></a>', /end tag <\/a> does not match start tag <b> at line 1/],
    ['<a x="1" x="2"/>', /duplicate attribute: x on <a>/],
    ['<a>&foo;</a>', /undefined entity &foo; \(only .* DTDs are not processed\)/],
    ['<a>&amp</a>', /unclosed tag: a/],
    ['<a x="<"/>', /disallowed character \(.*write &lt;/],
    ['<a x=1/>', /unquoted attribute value/],
    ['<a/><b/>', /only one root/],
    ['<a/>text', /text data outside of root node/],
    ['<a>', /unclosed tag: a/],
    ['', /must contain a root element/],
    ['<a>]]></a>', /"]]>" is disallowed/],
    ['<a><!-- a -- b --></a>', /malformed comment/],
    ['<a>&#0;</a>', /malformed character entity/],
    ['<a>\u0001</a>', /disallowed character/],
    ['<p:a/>', /unbound namespace prefix: "p"/],
    ['<a p:x="1"/>', /unbound namespace prefix: "p"/],
    ['<a xmlns:p="urn:1" xmlns:q="urn:1" p:x="1" q:x="2"/>', /duplicate attribute: \{urn:1\}x/],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><a/>', /only UTF-8/],
    ['<a/><?xml version="1.0"?>', /must be at the start of the document/],
    ['<a>\ud800</a>', /unpaired surrogate/],
    ['<a xmlns:p=""/>', /undefine prefix/],
  ];
  for (const [doc, message] of bad) {
    assert.throws(() => readXml(doc), (e: unknown) => e instanceof XmlSyntaxError && message.test(e.message) && /line \d+, column \d+/.test(e.message), doc);
  }
});

test('refuses any DOCTYPE, so entities are never defined or expanded', () => {
  const doc = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>';
  assert.throws(() => readXml(doc), /DOCTYPE\) are refused/);
  // An external entity (XXE) is refused the same way, before anything would be fetched.
  assert.throws(() => readXml('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>'), /DOCTYPE\) are refused/);
});

test('enforces size, depth and attribute-count limits', () => {
  assert.throws(() => readXml(`<a>${'x'.repeat(100)}</a>`, { maxLength: 50 }), /larger than 50 characters/);
  assert.throws(() => readXml(`${'<a>'.repeat(10)}${'</a>'.repeat(10)}`, { maxDepth: 5 }), /deeper than 5 levels/);
  assert.throws(() => readXml(`<a ${Array.from({ length: 5 }, (_, i) => `a${i}="1"`).join(' ')}/>`, { maxAttributes: 4 }), /more than 4 attributes/);
});

test('reports the line and column of the problem', () => {
  try {
    readXml('<a>\n  <b>\n</a>');
    assert.fail('should have thrown');
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError);
    assert.equal(e.line, 3);
  }
});

// ---------------------------------------------------------------------------------------------
// Hostile sizes and shapes. The reader must do work proportional to the document (it used to
// recount the lines before every element: 75 s for 250 KiB of short lines, hours for 1 MiB) and
// refuse anything over MAX_XML_LENGTH before parsing. What is asserted is the work done — every
// element, attribute and character accounted for, the larger documents refused — and the time is
// printed, benchmark style, not asserted. Each document is read in a child process that is killed
// after READ_BOUND_MS, only so that a reader gone quadratic fails the test instead of blocking it.

const READ_BOUND_MS = 120_000;
const XML_STATS = fileURLToPath(new URL('./helpers/xml-stats.ts', import.meta.url));

/** readXml(doc) in a child process: what it read, and how long it took. */
function readInChild(doc: string): XmlStats & { ms: number } {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-xml-'));
  try {
    const file = join(dir, 'doc.xml');
    writeFileSync(file, doc);
    const tsx = (process.env['NODE_OPTIONS'] ?? '').includes('tsx') ? [] : ['--import', 'tsx'];
    const r = spawnSync(process.execPath, [...tsx, XML_STATS, file], { encoding: 'utf8', timeout: READ_BOUND_MS, maxBuffer: 1024 * 1024 });
    assert.equal(r.signal, null, `reading ${(doc.length / 1024).toFixed(0)} KiB did not finish within ${READ_BOUND_MS / 1000} s: the reader is no longer linear`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as XmlStats & { ms: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Repeats unit(i) between head and tail until the document has at least `size` characters. */
function fill(size: number, head: string, unit: (i: number) => string, tail: string): { doc: string; units: number } {
  const parts: string[] = [];
  let n = head.length + tail.length;
  while (n < size) {
    const u = unit(parts.length);
    parts.push(u);
    n += u.length;
  }
  return { doc: head + parts.join('') + tail, units: parts.length };
}

const HOSTILE_SIZE = MAX_XML_LENGTH - 4096; // just under the bound, whatever the unit length
type Expected = Partial<Omit<XmlStats, 'last'>> & { last?: XmlStats['last'] };
const hostile: Record<string, { make: (size: number) => { doc: string; units: number }; expect: (units: number) => Expected }> = {
  'many short lines of elements': {
    make: (size) => fill(size, '<r>\n', () => '<a\n/>\n', '</r>'),
    expect: (units) => ({ elements: 1 + units, attributes: 0, textLength: 1 + units, maxDepth: 2 }),
  },
  'deep nesting, to the depth limit, repeated': {
    make: (size) => fill(size, '<r>', () => `${'<d>'.repeat(31)}x${'</d>'.repeat(31)}`, '</r>'),
    expect: (units) => ({ elements: 1 + 31 * units, attributes: 0, textLength: units, maxDepth: 32 }),
  },
  'many attributes, at the attribute limit': {
    make: (size) => fill(size, '<r xmlns:p="urn:p">', (i) => `<a ${Array.from({ length: 64 }, (_, j) => `${j % 2 ? 'p:' : ''}a${j}="${i}&amp;"`).join('\n')}/>`, '</r>'),
    expect: (units) => ({
      elements: 1 + units,
      attributes: 64 * units,
      textLength: 0,
      maxDepth: 2,
      last: { name: 'a', namespace: null, attribute: { name: 'p:a63', namespace: 'urn:p', value: `${units - 1}&` } },
    }),
  },
  'one long text with references and CRLF line ends': {
    make: (size) => fill(size, '<r>', () => 'text &amp; &#x41; &lt;more&gt; ]\r\n', '</r>'),
    expect: (units) => ({ elements: 1, textLength: 'text & A <more> ]\n'.length * units, textStart: 'text & A <more> ]\ntext & A <more> ]\ntext' }),
  },
  'many namespace declarations': {
    make: (size) => fill(size, '<r>', (i) => `<p${i % 50}:e xmlns:p${i % 50}="urn:${i}" p${i % 50}:v="${i}"/>\n`, '</r>'),
    expect: (units) => ({
      elements: 1 + units,
      attributes: units,
      maxDepth: 2,
      last: { name: `p${(units - 1) % 50}:e`, namespace: `urn:${units - 1}`, attribute: { name: `p${(units - 1) % 50}:v`, namespace: `urn:${units - 1}`, value: `${units - 1}` } },
    }),
  },
};

for (const [shape, { make, expect }] of Object.entries(hostile)) {
  test(`a ~1 MiB hostile document (${shape}) is read in one pass; over the bound it is refused`, (t) => {
    const { doc, units } = make(HOSTILE_SIZE);
    assert.ok(doc.length <= MAX_XML_LENGTH && doc.length > MAX_XML_LENGTH - 8192, `${doc.length} characters`);
    const { ms, ...stats } = readInChild(doc);
    const expected = expect(units);
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, stats[k as keyof XmlStats]])), expected);
    t.diagnostic(`bench: read ${(doc.length / 1024).toFixed(0)} KiB (${shape}) in ${ms.toFixed(0)} ms`);

    // One character over the bound (white space after the root element, which is otherwise allowed), or
    // twice the bound, is refused before parsing, whatever the limits say.
    for (const over of [doc + ' '.repeat(MAX_XML_LENGTH + 1 - doc.length), doc + ' '.repeat(2 * MAX_XML_LENGTH - doc.length)]) {
      const t0 = performance.now();
      assert.throws(
        () => readXml(over, { maxLength: 16 * MAX_XML_LENGTH }),
        (e: unknown) =>
          e instanceof XmlSyntaxError && e.code === 'KH_XML_INVALID' && new RegExp(`larger than ${MAX_XML_LENGTH} characters \\(it has ${over.length}\\): refused before parsing`).test(e.message),
      );
      t.diagnostic(`bench: refused ${(over.length / 1024).toFixed(0)} KiB in ${(performance.now() - t0).toFixed(1)} ms`);
    }
  });
}

test('a 250 KiB OVF environment padded with short lines is read in one pass', (t) => {
  const env = 'http://schemas.dmtf.org/ovf/environment/1';
  const { doc, units } = fill(
    MAX_OVF_ENVIRONMENT_BYTES - 1024,
    `<?xml version="1.0" encoding="UTF-8"?>\n<Environment xmlns="${env}" xmlns:oe="${env}" xmlns:ve="http://www.vmware.com/schema/ovfenv" oe:id="">\n` +
      `<PropertySection>\n<Property oe:key="keyhaven.hostname" oe:value="kms01"/>\n</PropertySection>\n<ve:EthernetAdapterSection>\n`,
    (i) => `<ve:Adapter\n ve:unitNumber="${i}"\n/>\n`,
    '</ve:EthernetAdapterSection>\n</Environment>\n',
  );
  assert.ok(doc.length > 250 * 1024 && doc.length < MAX_OVF_ENVIRONMENT_BYTES);
  const started = performance.now();
  assert.deepEqual(parseOvfEnvironment(Buffer.from(doc)), { 'keyhaven.hostname': 'kms01' });
  t.diagnostic(`bench: parsed a ${(doc.length / 1024).toFixed(0)} KiB OVF environment (${units} adapters) in ${(performance.now() - started).toFixed(0)} ms`);
});

test('positions in messages stay right deep into a large document', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `<a n="${i}"/>`);
  lines[15_000] = '<a n="x" n="y"/>';
  try {
    readXml(`<r>\n${lines.join('\n')}\n</r>`);
    assert.fail('should have thrown');
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError);
    assert.equal(e.line, 15_002);
    assert.match(e.message, /duplicate attribute: n on <a> \(line 15002, column 16\)/);
  }
});
