// Shut the appliance down.
import type { MenuOption } from '../option.js';

export const shutdownOption: MenuOption = {
  label: 'Shut down',
  description: 'Power off the appliance; it stays off until started from vSphere',
  async run(ui) {
    if (!(await ui.confirm('Shut the appliance down? Clients cannot get keys until it is started again from vSphere.', false))) return;
    // The helper answers before the system goes down (system-shutdown.ts): the answer is the truth.
    await ui.call('system.shutdown');
    ui.print('\nThe appliance is shutting down: this session ends in a moment. Start it again from vSphere.\n');
  },
};
