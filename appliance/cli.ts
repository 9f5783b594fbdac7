// The `keyhaven` command of the appliance: the key server's commands plus those of the image side.
// It lives here, not in server/, because the server never depends on the image side.
import { runCli } from '../server/cli.js';
import { runFirewallCli } from '../firewall/cli.js';

const APPLIANCE_USAGE = `usage: keyhaven appliance configure   apply the OVF environment / saved settings (run at boot)\n`;

async function runApplianceCli(args: string[]): Promise<number> {
  if (args[0] === 'configure') {
    const { configureAppliance } = await import('./boot/configure.js');
    return configureAppliance({ log: (line) => process.stderr.write(`keyhaven-configure: ${line}\n`) });
  }
  process.stderr.write(APPLIANCE_USAGE);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'firewall') return runFirewallCli(argv.slice(1));
  if (argv[0] === 'appliance') return runApplianceCli(argv.slice(1));
  return runCli(argv);
}
