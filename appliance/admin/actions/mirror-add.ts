// Add a server to the mirror group: a single-use join token (valid 30 minutes) and the group's CA
// fingerprint to compare on the new server, and 6002 opened to the new server's address for that
// time, so it can reach this member to join (the firewall lets in only the group's servers).
// The token is a secret until used: it is shown, never recorded (the audit record names the address).
import { z } from 'zod';
import { parseAddressFor } from '../../../firewall/address.js';
import { splitAddress } from '../../../server/index.js';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { syncPeerFirewall } from '../../mirroring/peer-firewall.js';
import { addPendingPeer } from '../../mirroring/pending-peers.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import { addressText } from '../settings-edit.js';

export interface MirrorAddOutcome {
  token: string;
  caFingerprint: string;
  /** Where the new server connects: this member's mirror address. */
  memberAddress: string;
  expiresAt: string;
  /** The firewall's peers now. */
  peers: string[];
}

export const mirrorAdd = defineAction({
  name: 'mirror.add',
  title: 'Add Mirror Server',
  schema: z.object({ address: addressText }).strict(),
  async run(p, ctx) {
    const parsed = parseAddressFor(p.address, 'mirroring peer');
    if (!parsed.ok) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `address: ${parsed.reason}`);
    const address = parsed.value.text;
    const t = await asDataOwner(ctx.paths, 'mirror.token', {});
    if (splitAddress(t.address).host === address) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `address: ${address} is this server's own address; give the new server's`);
    addPendingPeer(ctx.paths.mirrorPending, address, Date.parse(t.expiresAt));
    const sync = await syncPeerFirewall(ctx.paths, ctx.settings);
    const result: MirrorAddOutcome = { token: t.token, caFingerprint: t.caFingerprint, memberAddress: t.address, expiresAt: t.expiresAt, peers: sync.peers };
    return { result, summary: `issued a join token for the server at ${address} (valid until ${t.expiresAt}); 6002 open to it until then`, objectId: address };
  },
});
