// Revoke a client certificate: the key server refuses it within seconds (CRL).
import type { IssuedSummary } from '../../admin/actions/pki-list.js';
import type { RevokeOutcome } from '../../admin/actions/pki-revoke.js';
import { day, done } from '../forms.js';
import type { MenuOption } from '../option.js';


const REASONS = [
  { name: 'Key compromised', value: 'keyCompromise' },
  { name: 'Client no longer in use', value: 'cessationOfOperation' },
  { name: 'Replaced by a new certificate', value: 'superseded' },
  { name: 'Unspecified', value: 'unspecified' },
] as const;

export const revokeOption: MenuOption = {
  label: 'Revoke a client certificate',
  description: 'The key server refuses the certificate within seconds and closes its connections',
  async run(ui) {
    const { result: all } = await ui.call<IssuedSummary[]>('pki.list');
    const valid = all.filter((c) => c.kind === 'client' && c.status === 'valid');
    if (valid.length === 0) return ui.print('\nThere is no valid client certificate to revoke.\n');
    // Serial and issue date tell apart certificates that share a subject (a re-issue).
    const which = (c: IssuedSummary) => `serial ${c.serial}, issued ${day(c.notBefore)}, until ${day(c.notAfter)}`;
    const serial = await ui.select(
      'Which certificate?',
      valid.map((c) => ({ name: `${c.subject}  (${which(c)})`, value: c.serial })),
    );
    const reason = await ui.select('Reason', REASONS);
    const chosen = valid.find((c) => c.serial === serial)!;
    const twins = valid.filter((c) => c.subject === chosen.subject && c.serial !== serial);
    for (const t of twins) ui.print(`\nThe certificate with serial ${t.serial} (issued ${day(t.notBefore)}) has the same subject and stays valid.`);
    if (!(await ui.confirm(`Revoke ${chosen.subject} (serial ${chosen.serial}, issued ${day(chosen.notBefore)})? This cannot be undone.`, false))) return;
    const { result, summary } = await ui.call<RevokeOutcome>('pki.revoke', { serial, reason });
    if (result.crlNumber !== undefined) ui.print(`\nThe CRL (number ${result.crlNumber}) now lists serial ${result.serial}.`);
    done(ui, summary);
  },
};
