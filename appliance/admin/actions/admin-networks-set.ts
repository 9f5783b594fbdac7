// The networks SSH (the admin menu) is reachable from.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { addressList, editSettings, listText } from '../settings-edit.js';

export const adminNetworksSet = defineAction({
  name: 'admin-networks.set',
  title: 'Set Admin Networks',
  schema: z.object({ networks: addressList }).strict(),
  async run(p, ctx) {
    const s = await editSettings(ctx, (s) => ({ ...s, network: { ...s.network, adminNetworks: p.networks } }));
    return { result: s, summary: `admin networks ${listText(s.network.adminNetworks)}`, objectId: 'network.adminNetworks' };
  },
});
