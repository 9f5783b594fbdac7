// The syslog / SIEM destinations (rsyslog forwards to them over TCP 514: boot/log-forwarding.ts).
import { z } from 'zod';
import { defineAction } from '../action.js';
import { addressList, editSettings, listText } from '../settings-edit.js';

export const syslogSet = defineAction({
  name: 'syslog.set',
  title: 'Set Syslog Destinations',
  schema: z.object({ hosts: addressList }).strict(),
  async run(p, ctx) {
    const s = await editSettings(ctx, (s) => ({ ...s, network: { ...s.network, siemHosts: p.hosts } }));
    return { result: s, summary: `syslog destinations ${listText(s.network.siemHosts)}`, objectId: 'network.siemHosts' };
  },
});
