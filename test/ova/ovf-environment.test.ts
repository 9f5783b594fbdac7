// The OVF environment as vSphere delivers it (guestInfo and iso transports), and refusal of anything
// malformed, duplicated, unknown or carrying a DTD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../../ova/errors.js';
import { parseOvfEnvironment, readOvfEnvironment } from '../../ova/ovf-environment.js';
import { propertiesToSettings } from '../../ova/vapp-properties.js';
import { withTempDir } from './helpers/tools.js';

const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url));
const OE = 'xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"';
const env = (properties: string) => `<?xml version="1.0" encoding="UTF-8"?><Environment ${OE}><PropertySection>${properties}</PropertySection></Environment>`;

function refuses(document: string | Uint8Array, message: RegExp): void {
  assert.throws(
    () => parseOvfEnvironment(document),
    (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.OVF_ENV_INVALID && message.test(e.message) && e.message.startsWith('OVF environment: '),
    String(document).slice(0, 200),
  );
}

test('guestInfo transport document (vCenter, static IPv4) → properties → settings', async () => {
  const values = parseOvfEnvironment(await fixture('ovf-env-guestinfo.xml'));
  assert.deepEqual(values, {
    'keyhaven.admin_networks': '10.20.0.0/24, 2001:db8:20::/64',
    'keyhaven.dns': '10.10.0.53,10.10.1.53',
    'keyhaven.gateway': '10.10.0.1',
    'keyhaven.hostname': 'kms01.corp.example',
    'keyhaven.ip': '10.10.0.25',
    'keyhaven.ntp': '10.10.0.123',
    'keyhaven.prefix': '24',
    'keyhaven.syslog': '10.30.0.5:1514, [2001:db8:30::5]',
  });
  assert.deepEqual(propertiesToSettings(values), {
    hostname: 'kms01.corp.example',
    network: { mode: 'static', address: '10.10.0.25', prefix: 24, gateway: '10.10.0.1' },
    dns: ['10.10.0.53', '10.10.1.53'],
    ntp: ['10.10.0.123'],
    syslog: [
      { host: '10.30.0.5', port: 1514 },
      { host: '2001:db8:30::5', port: 514 },
    ],
    adminNetworks: ['10.20.0.0/24', '2001:db8:20::/64'],
  });
});

test('iso transport document (standalone ESXi, DHCP) → properties → settings', async () => {
  const values = parseOvfEnvironment(await fixture('ovf-env-iso.xml'));
  assert.equal(values['keyhaven.ip'], '');
  assert.deepEqual(propertiesToSettings(values), {
    hostname: 'keyhaven-lab',
    network: { mode: 'dhcp' },
    dns: [],
    ntp: ['192.0.2.123', '192.0.2.124'],
    syslog: [{ host: '192.0.2.10', port: 514 }],
    adminNetworks: [],
  });
});

test('CRLF line ends, character references and a subset of the properties (the rest take defaults)', async () => {
  const values = parseOvfEnvironment((await fixture('ovf-env-ipv6-crlf.xml')).toString('utf8'));
  assert.deepEqual(values, { 'keyhaven.hostname': 'kms-02', 'keyhaven.ip': '2001:db8:10::25', 'keyhaven.prefix': '64', 'keyhaven.gateway': 'fe80::1' });
  assert.deepEqual(propertiesToSettings(values).network, { mode: 'static', address: '2001:db8:10::25', prefix: 64, gateway: 'fe80::1' });
});

test('values keep XML-escaped characters and empty values', () => {
  const values = parseOvfEnvironment(env('<Property oe:key="keyhaven.hostname" oe:value="a&amp;b &lt;c&gt; &quot;d&quot;"/><Property oe:key="keyhaven.dns" oe:value=""/>'));
  assert.deepEqual(values, { 'keyhaven.hostname': 'a&b <c> "d"', 'keyhaven.dns': '' });
});

test('an environment without PropertySection has no values; Entity sections of sibling VMs are ignored', () => {
  assert.deepEqual(parseOvfEnvironment(`<Environment ${OE}/>`), {});
  const withEntity = `<Environment ${OE}><PropertySection><Property oe:key="keyhaven.ip" oe:value=""/></PropertySection>` +
    `<Entity oe:id="other"><PropertySection><Property oe:key="other.key" oe:value="1"/></PropertySection></Entity></Environment>`;
  assert.deepEqual(parseOvfEnvironment(withEntity), { 'keyhaven.ip': '' });
});

test('refuses DTDs: no entity expansion (billion laughs) and no external entities (XXE)', async () => {
  refuses(await fixture('ovf-env-billion-laughs.xml'), /DOCTYPE\) are refused/);
  refuses(await fixture('ovf-env-xxe.xml'), /DOCTYPE\) are refused/);
});

test('refuses malformed XML and bad encodings', () => {
  refuses('<Environment', /not well-formed XML/);
  refuses(env('<Property oe:key="keyhaven.ip" oe:value="1"></PropertySection>'), /not well-formed XML: end tag <\/PropertySection> does not match/);
  refuses(env('<Property oe:key="keyhaven.ip" oe:value="&nbsp;"/>'), /undefined entity &nbsp;/);
  refuses(env('<Property oe:key="keyhaven.ip" oe:value="a" oe:value="b"/>'), /duplicate attribute: \{http:\/\/schemas\.dmtf\.org\/ovf\/environment\/1\}value on <Property>/);
  refuses(new Uint8Array([0x3c, 0x61, 0xff, 0x3e]), /not valid UTF-8/);
  refuses('x'.repeat(300 * 1024), /larger than/);
});

test('refuses a document that is not an OVF environment', () => {
  refuses('<Environment><PropertySection/></Environment>', /root element is <Environment> without a namespace; expected <Environment xmlns="http:\/\/schemas\.dmtf\.org\/ovf\/environment\/1">/);
  refuses('<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>', /root element is <Envelope> in namespace http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/1/);
});

test('refuses bad Property elements, duplicate keys and unknown keys, naming them', () => {
  refuses(env('<Property key="keyhaven.ip" oe:value=""/>'), /has no oe:key attribute \(an unprefixed one is there/);
  refuses(env('<Property oe:key="keyhaven.ip"/>'), /has no oe:value attribute/);
  refuses(env('<Value oe:key="keyhaven.ip" oe:value=""/>'), /<Value> \(line 1\) is not allowed in PropertySection/);
  refuses(env('<Property oe:key="keyhaven.ip" oe:value="10.0.0.5"/><Property oe:key="keyhaven.ip" oe:value="10.0.0.6"/>'), /property keyhaven\.ip is given more than once/);
  refuses(env('<Property oe:key="keyhaven.password" oe:value="x"/>'), /unknown property "keyhaven\.password"; the known properties are keyhaven\.hostname/);
  refuses(env('<Property oe:key="__proto__" oe:value="x"/>'), /unknown property "__proto__"/);
});

test('readOvfEnvironment: guestInfo through vmtoolsd first, then the iso file, else nothing', async () => {
  const document = (await fixture('ovf-env-guestinfo.xml')).toString('utf8');
  const calls: string[][] = [];
  const viaTools = await readOvfEnvironment({
    run: async (file, args) => {
      calls.push([file, ...args]);
      return { code: 0, stdout: document };
    },
  });
  assert.deepEqual(calls, [['vmtoolsd', '--cmd', 'info-get guestinfo.ovfEnv']]);
  assert.equal(viaTools?.transport, 'com.vmware.guestInfo');
  assert.equal(viaTools?.document, document);

  await withTempDir(async (dir) => {
    const iso = join(dir, 'ovf-env.xml');
    await writeFile(iso, await fixture('ovf-env-iso.xml'));
    const noTools = async () => ({ code: 1, stdout: '' });
    const viaIso = await readOvfEnvironment({ run: noTools, isoFiles: [join(dir, 'missing.xml'), iso] });
    assert.equal(viaIso?.transport, 'iso');
    assert.equal(viaIso?.origin, iso);
    assert.equal(parseOvfEnvironment(viaIso!.document)['keyhaven.hostname'], 'Keyhaven-Lab');
    assert.equal(await readOvfEnvironment({ run: noTools, isoFiles: [join(dir, 'missing.xml')] }), undefined);
    await writeFile(iso, Buffer.from([0x3c, 0xff]));
    await assert.rejects(readOvfEnvironment({ run: noTools, isoFiles: [iso] }), /not valid UTF-8/);
  });
});

test('readOvfEnvironment without VMware Tools installed finds nothing rather than failing', async () => {
  assert.equal(await readOvfEnvironment({ vmtoolsd: '/nonexistent/vmtoolsd' }), undefined);
});
