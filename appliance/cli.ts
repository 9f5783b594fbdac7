// The `keyhaven` command (appliance/bin/keyhaven.js): the key server's commands plus those of the
// image side, in one table (lib/cli.ts) from which both `keyhaven --help` and the dispatch are made.
// It lives here, not in server/, because the server never depends on the image side.
import { dispatch, processIo, type CliCommand, type CliIo } from '../lib/cli.js';
import { VERSION } from '../lib/version.js';
import { USAGE as FIREWALL_USAGE, runFirewallCli } from '../firewall/cli.js';
import { serverCommands } from '../server/index.js';
import { APPLIANCE_USAGE, runApplianceCli } from './appliance-cli.js';

/**
 * On the appliance, verifying the audit log covers the administration log as well. Its usage is
 * written out whole (not patched from the server's text, which could change under a patch).
 */
function withAdminLog(audit: CliCommand): CliCommand {
  return {
    ...audit,
    usage: `audit verify (--config FILE | --data-dir DIR)
                             check the audit log's and the administration log's hash chains;
                             exit 1 if either was tampered with
audit tail (--config FILE | --data-dir DIR) [-n N]
                             print the last N audit records (default 20)`,
    run: async (args, io) => {
      const status = await audit.run(args, io);
      if (args[0] !== 'verify' || status === 2) return status;
      const { verifyAdminLog } = await import('./admin/cli.js');
      return Math.max(status, verifyAdminLog(io.stdout, io.stderr));
    },
  };
}

export const COMMANDS: readonly CliCommand[] = [
  ...serverCommands.map((c) => (c.name === 'audit' ? withAdminLog(c) : c)),
  {
    name: 'firewall',
    usage: 'firewall <command> …         render, check or apply the appliance firewall (keyhaven firewall --help)',
    help: FIREWALL_USAGE,
    run: (args, io) => runFirewallCli(args, io),
  },
  {
    name: 'appliance',
    usage: 'appliance <command> …        what systemd runs on the appliance (keyhaven appliance --help)',
    help: APPLIANCE_USAGE,
    run: (args, io) => runApplianceCli(args, io),
  },
  {
    name: 'menu',
    usage: "menu                         the admin menu (the admin account's login program)",
    run: async () => (await import('./menu/main.js')).runMenu(VERSION),
  },
  {
    name: 'admin-helper',
    usage: 'admin-helper [--peer ID]     serve one request to the privileged helper (keyhaven-admin@.service)',
    run: async (args) => (await import('./admin/cli.js')).runAdminHelperCli(args),
  },
  {
    name: 'sshd-config',
    usage: 'sshd-config                  print the hardened sshd configuration (image build)',
    run: async (_args, io) => {
      const { installedAlgorithms, renderSshdConfig } = await import('./ssh/sshd-config.js');
      io.stdout.write(renderSshdConfig({ supported: installedAlgorithms() }));
      return 0;
    },
  },
  // Not for people (no usage): the helper's worker in the key server's data directory, as its
  // owner (admin/data-owner.ts); it speaks on stdin and stdout.
  { name: 'admin-worker', run: async () => (await import('./admin/data-worker.js')).runDataWorkerCli() },
];

export function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return dispatch('keyhaven', COMMANDS, argv, io);
}
