// The settings part of the first-boot wizard: shows what the OVF environment gave and lets the
// administrator correct each field. Every answer is checked with the appliance settings schema, so
// the form refuses exactly what the appliance would refuse, with the same message.
import { confirm, input, select } from '@inquirer/prompts';
import { broadOpeningWarning, parseIpNetwork, splitList as list } from '../../firewall/address.js';
import { KeyhavenError } from '../errors.js';
import { parseApplianceSettings, type ApplianceSettings } from '../settings.js';
import type { PromptContext } from './prompt-context.js';

const show = (xs: readonly string[]): string => (xs.length ? xs.join(', ') : '(none)');

export function describeSettings(s: ApplianceSettings): string {
  const a = s.address;
  return [
    `  Host name        ${s.hostname}`,
    `  Address          ${a.mode === 'dhcp' ? 'DHCP' : `${a.address}/${a.prefix}, gateway ${a.gateway}`}`,
    `  DNS servers      ${show(s.network.dnsServers)}`,
    `  NTP servers      ${show(s.network.ntpServers)}`,
    `  SIEM (syslog)    ${show(s.network.siemHosts)}`,
    `  Admin networks   ${show(s.network.adminNetworks)}  (SSH is opened to these only)`,
  ].join('\n');
}

/**
 * A validator that applies one change to the settings and reports the schema's verdict. With `only`,
 * just the problems of those settings: the static address is asked field by field, and the gateway
 * (asked last) must not refuse the address before it was given.
 */
function checker(base: ApplianceSettings, change: (s: ApplianceSettings, value: string) => unknown, only?: readonly string[]) {
  return (value: string): string | true => {
    try {
      parseApplianceSettings(change(structuredClone(base), value), 'your answer');
      return true;
    } catch (err) {
      if (!(err instanceof KeyhavenError)) return (err as Error).message;
      const lines = err.message.replace(/^invalid appliance settings in your answer:\n/, '').trim().split('\n');
      const shown = only ? lines.filter((l) => only.some((f) => l.startsWith(`${f}:`))) : lines;
      return shown.length ? shown.join('\n') : true;
    }
  };
}

async function editSettings(current: ApplianceSettings, ctx: PromptContext): Promise<ApplianceSettings> {
  let s = structuredClone(current) as ApplianceSettings & Record<string, unknown>;
  const ask = async (message: string, def: string, change: (s: ApplianceSettings, v: string) => unknown): Promise<void> => {
    const v = await input({ message, default: def, validate: checker(s, change) }, ctx);
    s = parseApplianceSettings(change(structuredClone(s), v), 'your answer') as typeof s;
  };
  await ask('Host name (e.g. kms01.example.com)', s.hostname, (x, v) => ({ ...x, hostname: v.trim().toLowerCase() }));
  const mode = await select({ message: 'Address', choices: [{ name: 'DHCP', value: 'dhcp' }, { name: 'Static address', value: 'static' }], default: s.address.mode }, ctx);
  if (mode === 'dhcp') {
    s = parseApplianceSettings({ ...s, address: { mode: 'dhcp' } }, 'your answer') as typeof s;
  } else {
    const prev = s.address.mode === 'static' ? s.address : { address: '', prefix: 24, gateway: '' };
    let address = prev.address;
    let prefix = prev.prefix;
    const staticWith = (x: ApplianceSettings, part: Record<string, unknown>) => ({ ...x, address: { mode: 'static', address, prefix, gateway: '192.0.2.1', ...part } });
    address = (await input({ message: 'IP address', default: prev.address, validate: checker(s, (x, v) => staticWith(x, { address: v.trim() }), ['address.address']) }, ctx)).trim();
    prefix = Number(
      await input({ message: 'Prefix length (e.g. 24)', default: String(prev.prefix), validate: checker(s, (x, v) => staticWith(x, { prefix: /^\d+$/.test(v.trim()) ? Number(v) : v }), ['address.prefix', 'address.address']) }, ctx),
    );
    await ask('Gateway', prev.gateway, (x, v) => ({ ...x, address: { mode: 'static', address, prefix, gateway: v.trim() } }));
  }
  await ask('DNS servers (IP addresses, comma-separated; empty for none)', s.network.dnsServers.join(', '), (x, v) => ({ ...x, network: { ...x.network, dnsServers: list(v) } }));
  await ask('NTP servers (IP addresses, comma-separated)', s.network.ntpServers.join(', '), (x, v) => ({ ...x, network: { ...x.network, ntpServers: list(v) } }));
  await ask('SIEM / syslog hosts (IP addresses; port 514)', s.network.siemHosts.join(', '), (x, v) => ({ ...x, network: { ...x.network, siemHosts: list(v) } }));
  // Very broad admin networks need an explicit yes (the world itself is refused by the schema).
  for (let def = s.network.adminNetworks.join(', '); ; ) {
    await ask('Admin networks allowed to SSH (CIDR, comma-separated; empty keeps SSH closed)', def, (x, v) => ({ ...x, network: { ...x.network, adminNetworks: list(v) } }));
    const warning = broadWarning(s);
    if (!warning) break;
    ctx.output.write(`\nWARNING: ${warning}.\n`);
    if (await confirm({ message: 'Open SSH to these networks anyway?', default: false }, ctx)) break;
    def = s.network.adminNetworks.join(', ');
  }
  return s;
}

/** The warning for admin networks broad enough to need a yes, if they are. */
function broadWarning(s: ApplianceSettings): string | undefined {
  const nets = s.network.adminNetworks.map((n) => parseIpNetwork(n)).flatMap((p) => (p.ok ? [p.value] : []));
  return broadOpeningWarning(nets, 'adminNetworks');
}

/** Shows the settings until the administrator confirms them. */
export async function confirmSettings(initial: ApplianceSettings, ctx: PromptContext): Promise<ApplianceSettings> {
  let s = initial;
  for (;;) {
    ctx.output.write(`\nSettings (from the vApp properties of this VM):\n${describeSettings(s)}\n\n`);
    const warning = broadWarning(s);
    if (warning) ctx.output.write(`WARNING: ${warning}.\n\n`);
    if (await confirm({ message: 'Are these settings correct?', default: !warning }, ctx)) return s;
    s = await editSettings(s, ctx);
  }
}
