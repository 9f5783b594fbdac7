// NTP servers: where the appliance takes its time from (IP addresses; the firewall pins them).
import { confirmChange } from '../confirm-change.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import type { MenuOption } from '../option.js';

export const ntpOption: MenuOption = {
  label: 'NTP servers',
  description: 'The time servers (IP addresses) chrony synchronises with; certificates and audit times depend on them',
  async run(ui) {
    const s = await currentSettings(ui);
    ui.print(`\nNow: ${showList(s.network.ntpServers)}.`);
    const text = await ui.input('NTP servers (IP addresses, comma-separated; "none" for none)', {
      default: s.network.ntpServers.join(', '),
      validate: settingsCheck(s, (x, v) => ({ ...x, network: { ...x.network, ntpServers: parseList(v) } })),
    });
    const servers = parseList(text);
    if (!(await confirmChange(ui, 'NTP servers:', s.network.ntpServers, servers, 'Apply these NTP servers now?'))) return;
    const { summary } = await ui.call('ntp.set', { servers });
    done(ui, summary);
  },
};
