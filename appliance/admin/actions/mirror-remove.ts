// Remove a server from the mirror group, for good: its membership ends and its node certificate is
// revoked (the data worker, as the key server's account; the running key server tells the group,
// whose servers then refuse it). Once the key server lists it as removed, 6002 closes to it here.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { syncPeerFirewall } from '../../mirroring/peer-firewall.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

/** How long to wait for the running key server to list the removal (it writes its status every second). */
const LISTED_WITHIN_MS = 10_000;

export const mirrorRemove = defineAction({
  name: 'mirror.remove',
  title: 'Remove Mirror Server',
  schema: z.object({ node: z.string().max(64).regex(/^[A-Za-z0-9_-]+$/, 'must be a server id from the mirroring status') }).strict(),
  async run(p, ctx) {
    const r = await asDataOwner(ctx.paths, 'mirror.remove', { node: p.node });
    for (const deadline = Date.now() + LISTED_WITHIN_MS; Date.now() < deadline; await sleep(1000)) {
      const s = await asDataOwner(ctx.paths, 'mirror.status', {}).catch(() => null);
      if (!s?.running || s.peers.some((x) => x.node === p.node && x.removed)) break;
    }
    const sync = await syncPeerFirewall(ctx.paths, ctx.settings);
    const result = { node: p.node, revoked: r.revoked, peers: sync.peers };
    return { result, summary: `removed ${p.node} from the mirror group${r.revoked ? ' and revoked its node certificate' : ''}; 6002 open to ${sync.peers.join(', ') || 'no other server'}`, objectId: p.node };
  },
});
