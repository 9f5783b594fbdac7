// The most recent records of both audit logs: the key server's (KMIP operations) and the appliance
// administration log (this helper's requests).
import { z } from 'zod';
import type { AuditRecord } from '../../../server/index.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export interface AuditTail {
  keyServer: AuditRecord[] | { error: string };
  admin: AuditRecord[];
}

export const auditTail = defineAction({
  name: 'audit.tail',
  title: 'View Audit Records',
  schema: z.object({ count: z.number().int().min(1).max(500) }).strict(),
  async run(p, ctx) {
    let keyServer: AuditTail['keyServer'];
    try {
      keyServer = await asDataOwner(ctx.paths, 'store.audit-tail', { count: p.count });
    } catch (err) {
      keyServer = { error: (err as Error).message };
    }
    const result: AuditTail = { keyServer, admin: ctx.audit.tail(p.count) };
    return { result, summary: `viewed the last ${p.count} audit records` };
  },
});
