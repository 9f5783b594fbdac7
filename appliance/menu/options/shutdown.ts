// Shut the appliance down.
import { done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const shutdownOption: MenuOption = {
  label: 'Shut down',
  description: 'Power off the appliance; it stays off until started from vSphere',
  async run(ui) {
    if (!(await ui.confirm('Shut the appliance down? Clients cannot get keys until it is started again from vSphere.', false))) return;
    const { summary } = await ui.call('system.shutdown');
    done(ui, summary);
  },
};
