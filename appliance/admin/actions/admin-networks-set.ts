// The networks SSH (the admin menu) is reachable from. Two consequences need an explicit yes, sent
// as a flag so a crafted request cannot skip them: very broad networks (acceptBroad), and networks
// that leave out the SSH client making the change (acceptLockout; new connections then go silent).
import { z } from 'zod';
import { broadOpeningWarning, lockoutWarning, parseIpNetwork } from '../../../firewall/address.js';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { defineAction } from '../action.js';
import { addressList, checkSettings, editSettings, listText } from '../settings-edit.js';

export const adminNetworksSet = defineAction({
  name: 'admin-networks.set',
  title: 'Set Admin Networks',
  schema: z.object({ networks: addressList, acceptBroad: z.boolean().default(false), acceptLockout: z.boolean().default(false) }).strict(),
  async run(p, ctx) {
    const edit = (s: ReturnType<typeof ctx.settings.read>) => ({ ...s, network: { ...s.network, adminNetworks: p.networks } });
    // Invalid networks are refused first, with the schema's words; only valid ones get here.
    const next = checkSettings(edit(structuredClone(ctx.settings.read())));
    const nets = next.network.adminNetworks.map((n) => parseIpNetwork(n)).flatMap((r) => (r.ok ? [r.value] : []));
    const broad = broadOpeningWarning(nets, 'adminNetworks');
    if (broad && !p.acceptBroad) throw new KeyhavenError(ErrorCodes.ADMIN_CONFIRM_BROAD, `${broad}.`);
    const lockout = lockoutWarning(nets, ctx.actor.address);
    if (lockout && !p.acceptLockout) throw new KeyhavenError(ErrorCodes.ADMIN_CONFIRM_LOCKOUT, `${lockout}.`);
    const s = await editSettings(ctx, edit);
    const accepted = [broad && 'very broad networks accepted', lockout && `excludes the client ${ctx.actor.address}, accepted`].filter(Boolean).join('; ');
    return { result: s, summary: `admin networks ${listText(s.network.adminNetworks)}${accepted ? ` (${accepted})` : ''}`, objectId: 'network.adminNetworks' };
  },
});
