// Restart the key server; clients reconnect by themselves.
import { done } from '../forms.js';
import type { MenuOption } from '../option.js';

export const restartKeyServerOption: MenuOption = {
  label: 'Restart the key server',
  description: 'Stops and starts the KMIP service; connected clients reconnect',
  async run(ui) {
    if (!(await ui.confirm('Restart the key server now?', false))) return;
    const { summary } = await ui.call('keyserver.restart');
    done(ui, summary);
  },
};
