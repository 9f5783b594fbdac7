// Reboot the appliance.
import { done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const rebootOption: MenuOption = {
  label: 'Reboot',
  description: 'Restart the appliance; this session ends',
  async run(ui) {
    if (!(await ui.confirm('Reboot the appliance now? Key service stops until it is back.', false))) return;
    const { summary } = await ui.call('system.reboot');
    done(ui, summary);
  },
};
