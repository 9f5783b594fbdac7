// Opening and closing SSH and the optional ports: key management (6001) and web management (3886),
// each only to the networks given.
import { ACCESS_SERVICES, PORT_SERVICE } from '../../admin/menu-shared.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import { unchanged } from '../confirm-change.js';
import type { MenuOption } from '../option.js';

export const portsOption: MenuOption = {
  label: 'Open or close SSH and optional ports',
  description: 'SSH (to the admin networks), key management 6001 and web management 3886 (each to networks you name)',
  async run(ui) {
    const s = await currentSettings(ui);
    const state = (on: boolean, nets: readonly string[]) => (on ? `open to ${showList(nets)}` : 'closed');
    // Says what listens: a port opened with nothing behind it would look like a working service.
    const optional = (k: keyof typeof PORT_SERVICE) => `${ACCESS_SERVICES[k]} — ${state(s.network[k].enabled, s.network[k].networks)}${PORT_SERVICE[k].running ? '' : '; no service on this port yet'}`;
    const service = await ui.select('Which port?', [
      { name: `${ACCESS_SERVICES.ssh} — ${state(s.network.ssh.enabled, s.network.adminNetworks)}`, value: 'ssh' as const },
      { name: optional('keyManagement'), value: 'keyManagement' as const },
      { name: optional('webManagement'), value: 'webManagement' as const },
    ]);
    const current = service === 'ssh' ? s.network.ssh.enabled : s.network[service].enabled;
    const enabled = await ui.select(
      'Open or close it?',
      [
        { name: 'Open', value: true },
        { name: 'Close', value: false },
      ],
      { default: current }, // Enter keeps the current state
    );
    // Enter through the questions keeps what is configured: nothing is applied (a closed port stays closed).
    if (enabled === current && (service === 'ssh' || !enabled)) return unchanged(ui, `${ACCESS_SERVICES[service]} ${enabled ? 'open' : 'closed'}`);
    if (service === 'ssh') {
      if (!enabled && !(await ui.confirm('Closing SSH ends remote administration: only the console can open it again. Close it?', false))) return;
      const { summary } = await ui.call('access.set', { service, enabled });
      return done(ui, summary);
    }
    let networks: string[] = [];
    // No service yet: the helper refuses and records it, before any network is asked for.
    if (enabled && !PORT_SERVICE[service].running) networks = s.network[service].networks;
    else if (enabled) {
      const text = await ui.input('Allowed source networks (CIDR, comma-separated)', {
        default: s.network[service].networks.join(', '),
        validate: settingsCheck(s, (x, v) => ({ ...x, network: { ...x.network, [service]: { enabled: true, networks: parseList(v) } } })),
      });
      networks = parseList(text);
      if (current && networks.join(',') === s.network[service].networks.join(',')) return unchanged(ui, optional(service));
    }
    const { summary } = await ui.call('access.set', { service, enabled, networks });
    done(ui, summary);
  },
};
