// The NTP servers chrony uses (and the firewall lets 123/udp out to).
import { z } from 'zod';
import { defineAction } from '../action.js';
import { addressList, editSettings, listText } from '../settings-edit.js';

export const ntpSet = defineAction({
  name: 'ntp.set',
  title: 'Set NTP Servers',
  schema: z.object({ servers: addressList }).strict(),
  async run(p, ctx) {
    const s = await editSettings(ctx, (s) => ({ ...s, network: { ...s.network, ntpServers: p.servers } }));
    return { result: s, summary: `NTP servers ${listText(s.network.ntpServers)}`, objectId: 'network.ntpServers' };
  },
});
