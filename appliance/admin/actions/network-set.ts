// Host name, interface address (DHCP or static) and DNS resolvers.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { addressList, addressText, editSettings, listText } from '../settings-edit.js';

export const networkSet = defineAction({
  name: 'network.set',
  title: 'Set Network Settings',
  schema: z
    .object({
      hostname: z.string().max(253),
      address: z.discriminatedUnion('mode', [
        z.object({ mode: z.literal('dhcp') }).strict(),
        z.object({ mode: z.literal('static'), address: addressText, prefix: z.number().int(), gateway: addressText }).strict(),
      ]),
      dnsServers: addressList,
    })
    .strict(),
  async run(p, ctx) {
    const s = await editSettings(ctx, (s) => ({ ...s, hostname: p.hostname, address: p.address, network: { ...s.network, dnsServers: p.dnsServers } }));
    const a = s.address;
    const where = a.mode === 'dhcp' ? 'DHCP' : `${a.address}/${a.prefix} via ${a.gateway}`;
    return { result: s, summary: `host ${s.hostname}, ${where}, DNS ${listText(s.network.dnsServers)}`, objectId: 'network' };
  },
});
