// The strict XML reader behind the OVF environment: well-formed documents in, everything else refused
// with a position, and no DTD processing at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeValue, childElements, readXml, textContent, XmlSyntaxError } from '../../ova/xml-reader.js';

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
    ['<a><b></a>', /does not match start tag <b>/],
    ['<a x="1" x="2"/>', /appears twice/],
    ['<a>&foo;</a>', /undefined entity &foo;/],
    ['<a>&amp</a>', /must start an entity or character reference/],
    ['<a x="<"/>', /"<" is not allowed in an attribute value/],
    ['<a x=1/>', /must be quoted/],
    ['<a/><b/>', /only one root element/],
    ['<a/>text', /text is not allowed after the root element/],
    ['<a>', /not closed/],
    ['', /expected the root element/],
    ['<a>]]></a>', /"]]>" is not allowed/],
    ['<a><!-- a -- b --></a>', /"--" is not allowed inside a comment/],
    ['<a>&#0;</a>', /not a legal XML character/],
    ['<a>\u0001</a>', /U\+0001 is not allowed/],
    ['<p:a/>', /prefix "p" is not declared/],
    ['<a p:x="1"/>', /attribute prefix "p" is not declared/],
    ['<a xmlns:p="urn:1" xmlns:q="urn:1" p:x="1" q:x="2"/>', /same namespace and name/],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><a/>', /only UTF-8/],
    ['<a/><?xml version="1.0"?>', /only allowed at the very start/],
  ];
  for (const [doc, message] of bad) {
    assert.throws(() => readXml(doc), (e: unknown) => e instanceof XmlSyntaxError && message.test(e.message) && /line \d+, column \d+/.test(e.message), doc);
  }
});

test('refuses any DOCTYPE, so entities are never defined or expanded', () => {
  const doc = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>';
  assert.throws(() => readXml(doc), /DOCTYPE\) are refused/);
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
