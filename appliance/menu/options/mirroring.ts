// Mirroring: add a server to this appliance's mirror group, remove one, or see how each peer is doing.
import { addServer } from '../mirroring/add-server.js';
import { removeServer } from '../mirroring/remove-server.js';
import { mirrorStatusText } from '../mirroring/status-text.js';
import type { MirrorStatusOutcome } from '../../admin/actions/mirror-status.js';
import type { MenuOption } from '../option.js';

export const mirroringOption: MenuOption = {
  label: 'Mirroring',
  description: 'Key mirroring with other Keyhaven servers: add a server, remove one, status of each peer',
  async run(ui) {
    const what = await ui.select('Mirroring', [
      { name: 'Mirroring status', value: 'status' as const },
      { name: 'Add a server', value: 'add' as const },
      { name: 'Remove a server', value: 'remove' as const },
      { name: 'Back to the menu', value: 'back' as const },
    ]);
    if (what === 'status') {
      const { result } = await ui.call<MirrorStatusOutcome>('mirror.status');
      return ui.print(`\n${mirrorStatusText(result)}\n`);
    }
    if (what === 'add') return addServer(ui);
    if (what === 'remove') return removeServer(ui);
  },
};
