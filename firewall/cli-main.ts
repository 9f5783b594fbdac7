// Standalone entry for `node --import tsx firewall/cli-main.ts …` (the keyhaven CLI wires runFirewallCli).
import { runFirewallCli } from './cli.js';

process.exitCode = await runFirewallCli(process.argv.slice(2));
