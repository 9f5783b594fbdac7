// Read-only: what signing a pasted CSR would produce — the subject and subjectAltNames the
// certificate would carry, those it would drop, the key and signature — and the valid certificate
// that already has that subject (a second one would own the same keys).
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { CsrPreviewResult } from '../data-worker.js';

export type CsrPreview = CsrPreviewResult;

export const pkiPreviewCsr = defineAction({
  name: 'pki.preview-csr',
  title: 'Preview CSR',
  schema: z.object({ csr: z.string().max(64 * 1024) }).strict(),
  async run(p, ctx) {
    const result = await asDataOwner(ctx.paths, 'pki.preview-csr', { csr: p.csr });
    return { result, summary: `previewed a CSR for ${result.subject}${result.existing ? `, in use by serial ${result.existing.serial}` : ''}` };
  },
});
