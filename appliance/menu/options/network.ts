// Network settings: host name, DHCP or a static address, DNS resolvers.
import type { ApplianceSettings } from '../../settings.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import { unchanged } from '../confirm-change.js';
import type { MenuOption } from '../option.js';

/** The settings this form edits, in words (also how "nothing changed" is told). */
const shown = (x: ApplianceSettings) => `host ${x.hostname}, ${x.address.mode === 'dhcp' ? 'DHCP' : `${x.address.address}/${x.address.prefix} via ${x.address.gateway}`}, DNS ${showList(x.network.dnsServers)}`;

export const networkOption: MenuOption = {
  label: 'Network settings',
  description: 'Host name, address (DHCP or static address, prefix and gateway) and DNS servers',
  async run(ui) {
    const s = await currentSettings(ui);
    const a = s.address;
    ui.print(`\nNow: ${shown(s)}.\nChanging the address can end this SSH session: reconnect to the new address.\n`);
    let next: ApplianceSettings = structuredClone(s);
    next.hostname = await ui.input('Host name', { default: s.hostname, validate: settingsCheck(next, (x, v) => ({ ...x, hostname: v.trim() })) });
    next.hostname = next.hostname.trim();
    const mode = await ui.select(
      'Address',
      [
        { name: 'DHCP', value: 'dhcp' as const },
        { name: 'Static address', value: 'static' as const },
      ],
      { default: a.mode }, // Enter keeps what is configured
    );
    if (mode === 'dhcp') next.address = { mode: 'dhcp' };
    else {
      const old = a.mode === 'static' ? a : undefined;
      const probe = (x: ApplianceSettings, patch: Partial<{ address: string; prefix: number; gateway: string }>): ApplianceSettings => ({
        ...x,
        address: { mode: 'static', address: '192.0.2.1', prefix: 24, gateway: '192.0.2.254', ...(x.address.mode === 'static' ? x.address : {}), ...patch },
      });
      const address = (await ui.input('IP address', { ...(old ? { default: old.address } : {}), validate: settingsCheck(next, (x, v) => probe(x, { address: v.trim() }), undefined, ['address.address']) })).trim();
      next = probe(next, { address });
      const prefixText = await ui.input('Prefix length (e.g. 24)', {
        ...(old ? { default: String(old.prefix) } : {}),
        validate: settingsCheck(
          next,
          (x, v) => probe(x, { prefix: Number(v) }),
          (v) => (/^\d{1,3}$/.test(v.trim()) ? true : 'address.prefix: give a number such as 24 (IPv4) or 64 (IPv6)'),
          ['address.prefix', 'address.address'],
        ),
      });
      next = probe(next, { prefix: Number(prefixText) });
      const gateway = (await ui.input('Gateway', { ...(old ? { default: old.gateway } : {}), validate: settingsCheck(next, (x, v) => probe(x, { gateway: v.trim() })) })).trim();
      next = probe(next, { gateway });
    }
    const dns = await ui.input('DNS servers (IP addresses, comma-separated; "none" for none)', {
      default: s.network.dnsServers.join(', '),
      validate: settingsCheck(next, (x, v) => ({ ...x, network: { ...x.network, dnsServers: parseList(v) } })),
    });
    next.network.dnsServers = parseList(dns);
    if (shown(next) === shown(s)) return unchanged(ui, shown(s));
    if (!(await ui.confirm('Apply these network settings now?', true))) return;
    const { summary } = await ui.call('network.set', { hostname: next.hostname, address: next.address, dnsServers: next.network.dnsServers });
    done(ui, summary);
  },
};
