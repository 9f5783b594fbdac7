// Verify both audit logs' hash chains and sealed heads.
import type { AuditVerification } from '../../admin/actions/audit-verify.js';
import type { MenuOption } from '../option.js';

export const auditVerifyOption: MenuOption = {
  label: 'Verify the audit logs',
  description: 'Recompute the hash chains: detects edited, removed, reordered or truncated records',
  async run(ui) {
    const { result } = await ui.call<AuditVerification>('audit.verify');
    const k = result.keyServer;
    const a = result.admin;
    ui.print(
      [
        '',
        `Key server audit log:     ${'error' in k ? `cannot be read: ${k.error}` : k.ok ? `intact (${k.records} records, chain and sealed head verified)` : `TAMPERED at record ${k.seq}: ${k.problem}`}`,
        `Administration audit log: ${a.ok ? `intact (${a.records} records, chain and sealed head verified)` : `TAMPERED at record ${a.seq}: ${a.problem}`}`,
        '',
      ].join('\n'),
    );
  },
};
