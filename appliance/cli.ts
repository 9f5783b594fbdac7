// The `keyhaven` command of the appliance: the key server's commands plus those of the image side.
// It lives here, not in server/, because the server never depends on the image side.
import { runCli } from '../server/cli.js';
import { runFirewallCli } from '../firewall/cli.js';

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'firewall') return runFirewallCli(argv.slice(1));
  return runCli(argv);
}
