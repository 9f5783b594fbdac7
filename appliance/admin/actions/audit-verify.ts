// Recomputes both hash chains (key server log and administration log) and their sealed heads.
import { z } from 'zod';
import type { VerifyResult } from '../../../server/index.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export interface AuditVerification {
  keyServer: VerifyResult | { error: string };
  admin: VerifyResult;
}

const describe = (r: VerifyResult | { error: string }): string => ('error' in r ? `unreadable (${r.error})` : r.ok ? `intact, ${r.records} records` : `TAMPERED at record ${r.seq}: ${r.problem}`);

export const auditVerify = defineAction({
  name: 'audit.verify',
  title: 'Verify Audit Logs',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    let keyServer: AuditVerification['keyServer'];
    try {
      keyServer = await asDataOwner(ctx.paths, 'store.audit-verify', {});
    } catch (err) {
      keyServer = { error: (err as Error).message };
    }
    const result: AuditVerification = { keyServer, admin: ctx.audit.verify() };
    return { result, summary: `key server log ${describe(keyServer)}; administration log ${describe(result.admin)}` };
  },
});
