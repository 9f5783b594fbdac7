// The first-boot wizard (tty1 and the serial console, instead of a login prompt, until it completes):
// confirm or correct the settings, set the admin password, found a new mirror group, join one, or
// restore a backup, create the CA (or take the group's or the backup's) and the server certificate,
// apply the firewall, start the key server, record completion. Interrupted at any point, the next
// run starts over: nothing counts until completion is recorded, and what a half run created is removed.
import { input } from '@inquirer/prompts';
import { KeyhavenError } from '../errors.js';
import type { ApplianceSettings } from '../settings.js';
import { askNewPassword } from './password-form.js';
import type { PromptContext } from './prompt-context.js';
import { chooseGroup } from './group-form.js';
import { settleGroup, type GroupOutcome } from './join-step.js';
import { restoreFromBackup, type RestoreOutcome } from './restore-step.js';
import { confirmSettings } from './settings-form.js';
import type { FirstBootSystem } from './system.js';

export interface WizardOptions {
  readonly system: FirstBootSystem;
  readonly ctx: PromptContext;
  /** The terminal this instance runs on (tty1, ttyS0): the other instance is stopped at the end. */
  readonly tty: string;
  readonly version: string;
}

const isInterrupt = (err: unknown): boolean => err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');

export async function runFirstBootWizard(o: WizardOptions): Promise<number> {
  const out = (s: string) => o.ctx.output.write(s);
  try {
    out(`\nKeyhaven ${o.version} — first boot\n${'='.repeat(40)}\nThis appliance is not configured yet. The key server and SSH stay off until you finish here.\n`);
    const settings = await confirmSettings(o.system.readSettings(), o.ctx);
    const adminPassword = await askNewPassword(settings.hostname, o.ctx);
    const group = await chooseGroup(o.ctx);
    // SSH opens only to the admin networks; without any it stays closed (the menu can open it later).
    const chosen: ApplianceSettings = { ...settings, network: { ...settings.network, ssh: { ...settings.network.ssh, enabled: settings.network.adminNetworks.length > 0 } } };

    out('\nApplying…\n');
    await o.system.beginChanges();
    const settled: GroupOutcome & Partial<RestoreOutcome> = group.kind === 'restore' ? await restoreFromBackup(o.system, chosen, o.ctx) : await settleGroup(o.system, chosen, group, o.ctx);
    const final = settled.settings;
    out('  settings saved; network, time sources and firewall applied\n');
    if (settled.joined) out(`  joined the mirror group as ${settled.joined.node}; 6002 open to ${final.network.mirroring.peers.join(', ') || 'no other server yet'}\n`);
    const pki = await o.system.createPki(final);
    const pkiLine = settled.joined
      ? "the server certificate issued by the group's CA"
      : settled.restored
        ? `the backup's CA and server certificate restored${pki.kept ? '' : ' (a new server certificate was issued)'}`
        : pki.kept
          ? 'kept the CA placed on the disk before first boot'
          : 'created the appliance CA and the server certificate';
    out(`  ${pkiLine}\n`);
    await o.system.setPassword(adminPassword, final.hostname);
    out('  admin password set\n');
    // Before SSH starts, so the fingerprints shown are those it serves.
    const hostKeys = await o.system.sshHostKeys().catch((err: Error) => {
      out(`  the SSH host keys could not be made: ${err.message}\n`);
      return [];
    });
    const problems = await o.system.complete(final);
    out(problems.length ? problems.map((p) => `  ${p} (check Status in the menu)\n`).join('') : '  key server started\n');

    out(
      [
        '',
        'First boot is complete. Compare these fingerprints with what vCenter shows when it trusts the KMS:',
        '  CA certificate SHA-256',
        `    ${pki.caFingerprint}`,
        '  Server certificate SHA-256',
        `    ${pki.serverFingerprint}`,
        `  KMIP (vCenter key provider) ${final.address.mode === 'static' ? final.address.address : final.hostname}:6000`,
        `  Mirroring                   ${settled.joined ? `member of a group of ${settled.joined.members.filter((m) => !m.removed).length} servers: it serves every key of the group` : settled.restored ? "as in the backup (see the menu's Mirroring status)" : 'a group of one (add servers from the menu: Mirroring)'}`,
        ...(settled.restored ? [`  Restored from               ${settled.restored.name}: ${settled.restored.contents.objects} objects, the same client certificates`] : []),
        `  SSH                         ${final.network.ssh.enabled ? `open to ${final.network.adminNetworks.join(', ')}` : 'closed (open it from the menu)'}`,
        'SSH host key fingerprints (ssh shows one of them at the first connection: they must match):',
        ...(hostKeys.length ? hostKeys.map((k) => `  ${k.label.padEnd(8)} ${k.fingerprint}`) : ['  (none yet: see the console banner after the next boot)']),
        '',
      ].join('\n'),
    );
    await input({ message: 'Press Enter for the login prompt (log in as admin for the menu)' }, o.ctx);
    await o.system.handOver(o.tty);
    return 0;
  } catch (err) {
    if (isInterrupt(err)) {
      out('\nInterrupted. First boot starts over.\n');
      return 1;
    }
    const message = err instanceof KeyhavenError ? `${err.message} [${err.code}]` : (err as Error).message;
    out(`\nFirst boot could not finish: ${message}\nIt starts over in a moment; nothing has been enabled.\n`);
    await new Promise((r) => setTimeout(r, 5000));
    return 1;
  }
}
