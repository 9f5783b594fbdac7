// Opens or closes SSH (to the admin networks), key management (6001) or web management (3886, each
// to its own networks). Opening SSH also starts sshd; closing it stops the listener (sessions that
// are open, including the caller's, carry on).
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import type { ApplianceSettings } from '../../settings.js';
import { defineAction } from '../action.js';
import { ACCESS_SERVICES, PORT_SERVICE } from '../menu-shared.js';
import { addressList, checkSettings, editSettings, listText } from '../settings-edit.js';

export const accessSet = defineAction({
  name: 'access.set',
  title: 'Open or Close Port',
  schema: z.discriminatedUnion('service', [
    z.object({ service: z.literal('ssh'), enabled: z.boolean() }).strict(),
    z.object({ service: z.enum(['keyManagement', 'webManagement']), enabled: z.boolean(), networks: addressList }).strict(),
  ]),
  async run(p, ctx) {
    const edit = (s: ApplianceSettings): ApplianceSettings => {
      const network = structuredClone(s.network);
      if (p.service === 'ssh') network.ssh.enabled = p.enabled;
      else network[p.service] = { enabled: p.enabled, networks: p.networks };
      return { ...s, network };
    };
    if (p.service !== 'ssh' && p.enabled && !PORT_SERVICE[p.service].running) {
      // Networks given are judged first (a bad one is worth knowing about), then the port.
      if (p.networks.length > 0) checkSettings(edit(structuredClone(ctx.settings.read())));
      const svc = PORT_SERVICE[p.service];
      throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `no service on port ${svc.port} yet: ${svc.what} does not run in this version, so the port stays closed`);
    }
    const s = await editSettings(ctx, edit);
    if (p.service === 'ssh') await ctx.system.run('/usr/bin/systemctl', [p.enabled ? 'enable' : 'disable', '--now', 'ssh.service']);
    const from = p.service === 'ssh' ? s.network.adminNetworks : s.network[p.service].networks;
    const summary = `${ACCESS_SERVICES[p.service]} ${p.enabled ? `open to ${listText(from)}` : 'closed'}`;
    return { result: s, summary, objectId: `network.${p.service}` };
  },
});
