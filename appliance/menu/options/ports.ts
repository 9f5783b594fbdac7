// Opening and closing SSH and the optional ports: key management (6001) and web management (3886),
// each only to the networks given.
import { ACCESS_SERVICES } from '../../admin/actions/access-set.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import type { MenuOption } from '../option.js';

export const portsOption: MenuOption = {
  label: 'Open or close SSH and optional ports',
  description: 'SSH (to the admin networks), key management 6001 and web management 3886 (each to networks you name)',
  async run(ui) {
    const s = await currentSettings(ui);
    const state = (on: boolean, nets: readonly string[]) => (on ? `open to ${showList(nets)}` : 'closed');
    const service = await ui.select('Which port?', [
      { name: `${ACCESS_SERVICES.ssh} — ${state(s.network.ssh.enabled, s.network.adminNetworks)}`, value: 'ssh' as const },
      { name: `${ACCESS_SERVICES.keyManagement} — ${state(s.network.keyManagement.enabled, s.network.keyManagement.networks)}`, value: 'keyManagement' as const },
      { name: `${ACCESS_SERVICES.webManagement} — ${state(s.network.webManagement.enabled, s.network.webManagement.networks)}`, value: 'webManagement' as const },
    ]);
    const enabled = await ui.select('Open or close it?', [
      { name: 'Open', value: true },
      { name: 'Close', value: false },
    ]);
    if (service === 'ssh') {
      if (!enabled && !(await ui.confirm('Closing SSH ends remote administration: only the console can open it again. Close it?', false))) return;
      const { summary } = await ui.call('access.set', { service, enabled });
      return done(ui, summary);
    }
    let networks: string[] = [];
    if (enabled) {
      const text = await ui.input('Allowed source networks (CIDR, comma-separated)', {
        default: s.network[service].networks.join(', '),
        validate: settingsCheck(s, (x, v) => ({ ...x, network: { ...x.network, [service]: { enabled: true, networks: parseList(v) } } })),
      });
      networks = parseList(text);
    }
    const { summary } = await ui.call('access.set', { service, enabled, networks });
    done(ui, summary);
  },
};
