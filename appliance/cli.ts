// The `keyhaven` command of the appliance: the key server's commands plus those of the image side.
// It lives here, not in server/, because the server never depends on the image side.
import { readFileSync } from 'node:fs';
import { runCli } from '../server/cli.js';
import { runFirewallCli } from '../firewall/cli.js';
import { runApplianceCli } from './appliance-cli.js';

const version = (): string => (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'firewall') return runFirewallCli(argv.slice(1));
  if (argv[0] === 'appliance') return runApplianceCli(argv.slice(1));
  // The admin account's login program, and the privileged helper it talks to (appliance/admin).
  if (argv[0] === 'menu') return (await import('./menu/main.js')).runMenu(version());
  if (argv[0] === 'admin-helper') return (await import('./admin/cli.js')).runAdminHelperCli(argv.slice(1));
  // Not for people: the helper's worker in the key server's data directory, as its owner (admin/data-owner.ts).
  if (argv[0] === 'admin-worker') return (await import('./admin/data-worker.js')).runDataWorkerCli();
  if (argv[0] === 'sshd-config') {
    // Image build (50-admin-access.sh): the hardened sshd drop-in for the installed OpenSSH.
    const { installedAlgorithms, renderSshdConfig } = await import('./ssh/sshd-config.js');
    process.stdout.write(renderSshdConfig({ supported: installedAlgorithms() }));
    return 0;
  }
  const status = await runCli(argv);
  // On the appliance, verifying the audit log covers the administration log as well.
  if (argv[0] === 'audit' && argv[1] === 'verify' && status !== 2) {
    const { verifyAdminLog } = await import('./admin/cli.js');
    return Math.max(status, verifyAdminLog(process.stdout, process.stderr));
  }
  return status;
}
