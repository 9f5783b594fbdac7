// Reboot the appliance.
import type { MenuOption } from '../option.js';

export const rebootOption: MenuOption = {
  label: 'Reboot',
  description: 'Restart the appliance; this session ends',
  async run(ui) {
    if (!(await ui.confirm('Reboot the appliance now? Key service stops until it is back.', false))) return;
    // The helper answers before the system goes down (system-reboot.ts): the answer is the truth.
    await ui.call('system.reboot');
    ui.print('\nThe appliance is rebooting: this session ends in a moment. Reconnect once it is back (a minute or two).\n');
  },
};
