// Every error code: declared once by the part that owns it, documented in its declaration (the
// `doc` the README's Errors note points to), used somewhere in the source, and knowing whether it
// is the user's fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreCodes, declaredCodes, KeyhavenError } from '../lib/errors.js';
import { XmlCodes } from '../lib/xml.js';
import { ApplianceCodes } from '../appliance/errors.js';
import { FirewallCodes } from '../firewall/errors.js';
import { OvaCodes } from '../ova/errors.js';
import { PackerCodes } from '../packer/errors.js';
import { Enum, KmipError, ServerCodes } from '../server/index.js';
import { KmipCodes } from '../server/kmip/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTS = { lib: CoreCodes, 'lib/xml': XmlCodes, 'server/kmip': KmipCodes, server: ServerCodes, firewall: FirewallCodes, ova: OvaCodes, packer: PackerCodes, appliance: ApplianceCodes };

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('each part declares its own codes, each code once, as KH_<NAME>', () => {
  const all = Object.values(PARTS).flatMap((codes) => Object.entries(codes));
  for (const [name, code] of all) assert.equal(code, `KH_${name}`);
  assert.equal(new Set(all.map(([, code]) => code)).size, all.length);
  assert.deepEqual(new Set(declaredCodes().map((s) => s.code)), new Set(all.map(([, code]) => code)));
});

test('every code is documented in its declaration and used in the source', () => {
  const text = ['lib', 'server', 'firewall', 'ova', 'packer', 'appliance'].flatMap((d) => sources(join(ROOT, d))).map((f) => readFileSync(f, 'utf8')).join('\n');
  const unused: string[] = [];
  for (const spec of declaredCodes()) {
    assert.ok(spec.doc.length >= 30 && /[.)]$/.test(spec.doc), `${spec.code} needs a sentence saying what it means`);
    const name = spec.code.slice('KH_'.length);
    if (!new RegExp(`\\b\\w*Codes\\.${name}\\b`).test(text)) unused.push(spec.code);
  }
  assert.deepEqual(unused, [], 'declared but never raised: remove them');
});

test("each code knows whether it is the user's fault", () => {
  for (const spec of declaredCodes()) assert.equal(typeof spec.userFault, 'boolean', spec.code);
  assert.equal(new KeyhavenError(ApplianceCodes.ADMIN_REQUEST_INVALID, 'x').userFault, true);
  assert.equal(new KeyhavenError(ApplianceCodes.ADMIN_ACTION_FAILED, 'x').userFault, false);
  assert.equal(new KeyhavenError(ServerCodes.PKI_SUBJECT_IN_USE, 'x').userFault, true);
  assert.equal(new KmipError(Enum.ResultReason.ItemNotFound, 'x').userFault, true);
  assert.equal(new KmipError(Enum.ResultReason.GeneralFailure, 'x').userFault, false);
});
