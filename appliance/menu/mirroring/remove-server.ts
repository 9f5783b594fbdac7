// Mirroring → Remove a server: choose a member, confirm; it is removed for good and its node
// certificate revoked (every server of the group then refuses it).
import type { MirrorStatusOutcome } from '../../admin/actions/mirror-status.js';
import { done } from '../forms.js';
import type { Ui } from '../ui.js';

export async function removeServer(ui: Ui): Promise<void> {
  const { result: status } = await ui.call<MirrorStatusOutcome>('mirror.status');
  const members = status?.peers.filter((p) => !p.removed) ?? [];
  if (members.length === 0) return ui.print('\nThere is no other server in the group to remove.\n');
  const node = await ui.select(
    'Remove which server?',
    members.map((p) => ({ name: `${p.node} at ${p.address} (${p.connected ? 'connected' : 'not connected'})`, value: p.node })),
  );
  const chosen = members.find((p) => p.node === node)!;
  ui.print(`\nRemoving ${node} (${chosen.address}) is final: it never rejoins, its certificate is revoked and every server of\nthe group refuses it. Remove it from vCenter's key provider too. A removed server keeps the keys it holds.`);
  if (!(await ui.confirm(`Remove ${node} at ${chosen.address} from the group?`, false))) return;
  const { summary } = await ui.call('mirror.remove', { node });
  done(ui, summary);
}
