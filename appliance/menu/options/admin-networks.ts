// Admin networks: the source networks SSH (this menu) is reachable from. The helper asks for an
// explicit yes when they are very broad or leave out this session's address (confirm-change.ts).
import { callConfirming, confirmChange } from '../confirm-change.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import type { MenuOption } from '../option.js';

export const adminNetworksOption: MenuOption = {
  label: 'Admin networks',
  description: 'The networks (CIDR, e.g. 10.0.8.0/24) allowed to reach SSH; everything else is dropped',
  async run(ui) {
    const s = await currentSettings(ui);
    ui.print(`\nNow: ${showList(s.network.adminNetworks)} (SSH is ${s.network.ssh.enabled ? 'open' : 'closed'}).\nMake sure the network you are connecting from stays in the list, or this session is the last one.`);
    const text = await ui.input('Admin networks (CIDR or single addresses, comma-separated)', {
      default: s.network.adminNetworks.join(', '),
      validate: settingsCheck(s, (x, v) => ({ ...x, network: { ...x.network, adminNetworks: parseList(v) } })),
    });
    const networks = parseList(text);
    if (!(await confirmChange(ui, 'Admin networks (SSH):', s.network.adminNetworks, networks, 'Apply these admin networks now?'))) return;
    const r = await callConfirming(ui, 'admin-networks.set', { networks });
    if (r) done(ui, r.summary);
  },
};
