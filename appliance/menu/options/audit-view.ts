// View the most recent records of both audit logs.
import type { AuditRecord } from '../../../server/index.js';
import type { AuditTail } from '../../admin/actions/audit-tail.js';
import type { MenuOption } from '../option.js';

const row = (r: AuditRecord) => `  ${String(r.seq).padStart(6)}  ${r.time.replace('T', ' ').slice(0, 19)}  ${r.identity}  ${r.address}  ${r.operation}  ${r.objectId || '-'}  ${r.result}${r.reason ? `  ${r.reason}` : ''}`;

export const auditViewOption: MenuOption = {
  label: 'View recent audit records',
  description: 'The latest records of the key server audit log and of the administration log',
  async run(ui) {
    const count = await ui.select('How many records of each log?', [
      { name: '20', value: 20 },
      { name: '50', value: 50 },
      { name: '200', value: 200 },
    ]);
    const { result } = await ui.call<AuditTail>('audit.tail', { count });
    const server = 'error' in result.keyServer ? [`  not available: ${result.keyServer.error}`] : result.keyServer.map(row);
    ui.print(`\nKey server audit log (KMIP operations), oldest first\n  ${'seq'.padStart(6)}  time (UTC)           identity  address  operation  object  result  reason\n${server.join('\n') || '  (no records)'}`);
    ui.print(`\nAdministration audit log (menu and helper), oldest first\n${result.admin.map(row).join('\n') || '  (no records)'}\n`);
  },
};
