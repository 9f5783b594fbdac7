// The console banner (/etc/issue): the legal notice stays first after first boot rewrote the file,
// status lines follow, and nothing from the facts can inject an agetty escape.
import assert from 'node:assert/strict';
import test from 'node:test';
import { renderIssue } from '../../appliance/firstboot/banner.js';

const facts = { version: '1.2.3', hostname: 'kms01', keyServer: 'active', ssh: 'inactive', firstBootDone: true };

test('the legal notice comes first, then the status', () => {
  const text = renderIssue({ ...facts, legalNotice: 'Authorized access only.\nAll activity is monitored and logged.\n', caFingerprint: 'AA:BB' });
  const lines = text.split('\n');
  assert.equal(lines[0], 'Authorized access only.');
  assert.equal(lines[1], 'All activity is monitored and logged.');
  assert.ok(lines.indexOf('Keyhaven 1.2.3 - KMIP key manager for VMware vSphere') > 1);
  assert.match(text, /CA SHA-256 {3}AA:BB/);
  assert.match(text, /Log in as admin for the administration menu\./);
});

test('without a notice file the status stands alone; backslashes are literal, not agetty escapes', () => {
  const text = renderIssue({ ...facts, hostname: 'a\\4b', legalNotice: 'C:\\notice' });
  assert.match(text, /^C:\\\\notice\n/);
  assert.ok(text.includes('a\\\\4b'), 'escaped');
  assert.ok(renderIssue(facts).startsWith('Keyhaven 1.2.3'));
});
