// Read-only: the subject a client certificate of this name would carry, and the valid certificate
// that already has the name or the subject — a second one would own (read, use) the same keys, so
// the menu says so and asks before it issues with `reissue`.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type ClientPreview = WorkerResult<'pki.preview-client'>;
export type CertificateInUse = NonNullable<ClientPreview['existing']>;

/** The audit record's words for a re-issue: which certificates the new one shares its identity with. */
export function reissueNote(replaced: readonly { serial: string; notAfter: string }[]): string {
  return replaced.length ? ` (re-issue of ${replaced.map((c) => `serial ${c.serial}, valid until ${c.notAfter}`).join('; ')}, which stays valid until revoked)` : '';
}

export const pkiPreviewClient = defineAction({
  name: 'pki.preview-client',
  title: 'Preview Client Certificate',
  schema: z.object({ name: z.string().max(64) }).strict(),
  async run(p, ctx) {
    const result = await asDataOwner(ctx.paths, 'pki.preview-client', { name: p.name });
    return { result, summary: `previewed a client certificate for ${result.subject}${result.existing ? `, in use by serial ${result.existing.serial}` : ''}` };
  },
});
