// The certificates the appliance CA issued, with their status (to choose one to revoke).
import { z } from 'zod';
import { listIssued, type CertificateStatus } from '../../../server/pki/index.js';
import { defineAction } from '../action.js';

export interface IssuedSummary {
  name: string;
  kind: 'server' | 'client';
  serial: string;
  subject: string;
  notAfter: string;
  status: CertificateStatus;
}

export const pkiList = defineAction({
  name: 'pki.list',
  title: 'List Certificates',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result: IssuedSummary[] = listIssued(ctx.paths.dataDir).map((c) => ({ name: c.name, kind: c.kind, serial: c.serial, subject: c.subject, notAfter: c.notAfter, status: c.status }));
    return { result, summary: `listed ${result.length} certificates` };
  },
});
