// `keyhaven firewall render|check|apply`: the firewall's command line. Exit codes: 0 done,
// 1 invalid settings or nft failure, 2 usage error.
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { processIo, type CliIo } from '../lib/cli.js';
import { readJsonFile } from '../lib/json-file.js';
import { KeyhavenError, ErrorCodes } from './errors.js';
import { renderFailClosed } from './fail-closed.js';
import { nftApply, nftCheck, type NftOptions } from './nft.js';
import { renderPolicy } from './policy.js';
import { parseNetworkPolicySettings } from './settings.js';

export const USAGE = `Usage: keyhaven firewall <command> [options]

Commands:
  render [--config FILE] [--fail-closed]   print the nftables ruleset
  check  [--config FILE]                   render it and have the kernel validate it (nft -c; needs root)
  apply  [--config FILE] [--persist FILE]  load it in one transaction (nft -f). If the settings are
                                           invalid, or nft refuses the ruleset, load the fail-closed
                                           ruleset (loopback only) instead and exit 1.

Options:
  --config FILE   the appliance settings as JSON. The firewall reads the object under the key
                  "network", e.g.
                    { "network": { "ssh": { "enabled": true }, "adminNetworks": ["192.0.2.0/24"],
                                   "siemHosts": ["192.0.2.10"], "ntpServers": ["192.0.2.123"] } }
                  Keys: adminNetworks, ssh.enabled, keyManagement {enabled, networks},
                  webManagement {enabled, networks}, mirroring {peers, restrictInbound}, siemHosts,
                  backupHost, ntpServers, dnsServers. Destinations must be IP addresses, not names.
                  Without --config, or without "network", the defaults apply: inbound 6000, 6002
                  and 6003 only; outbound nothing but replies.
  --persist FILE  after loading, write what was loaded to FILE (e.g. /etc/keyhaven/firewall.nft,
                  which keyhaven-firewall.service loads at boot)
  --fail-closed   render the fail-closed ruleset instead of the policy
`;

export interface CliOptions {
  /** How to run nft (tests point it into a network namespace). */
  nft?: NftOptions;
}

/** Reads the appliance settings file and returns its `network` object (undefined when absent). */
export async function readNetworkSettings(file: string): Promise<unknown> {
  const json = readJsonFile(file, { invalidCode: ErrorCodes.FIREWALL_INVALID });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new KeyhavenError(ErrorCodes.FIREWALL_INVALID, `${file} must hold a JSON object with the settings under "network"`);
  }
  return (json as Record<string, unknown>).network;
}

async function renderFromConfig(config: string | undefined): Promise<string> {
  const network = config === undefined ? undefined : await readNetworkSettings(config);
  return renderPolicy(parseNetworkPolicySettings(network, 'network'));
}

/** Atomically, so a reader (the boot unit) never sees half a ruleset. */
async function persist(file: string, text: string): Promise<void> {
  writeFileAtomic(file, text, 0o600);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function runFirewallCli(
  args: string[],
  io: CliIo = processIo(),
  options: CliOptions = {},
): Promise<number> {
  const say = (line: string) => io.stderr.write(`keyhaven firewall: ${line}\n`);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        persist: { type: 'string' },
        'fail-closed': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    say(message(err));
    io.stderr.write(USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help || command === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const allowed: Record<string, string[]> = { render: ['config', 'fail-closed'], check: ['config'], apply: ['config', 'persist'] };
  const given = Object.keys(values);
  const misplaced = command && allowed[command] ? given.filter((o) => !allowed[command]?.includes(o)) : [];
  if (!command || !allowed[command] || extra.length > 0 || misplaced.length > 0) {
    say(
      !command
        ? 'missing command'
        : !allowed[command]
          ? `unknown command ${JSON.stringify(command)}`
          : extra.length > 0
            ? `unexpected argument ${JSON.stringify(extra[0])}`
            : `--${misplaced[0]} does not apply to ${command}`,
    );
    io.stderr.write(USAGE);
    return 2;
  }
  if (values['fail-closed'] && values.config !== undefined) {
    say('--fail-closed and --config exclude each other');
    io.stderr.write(USAGE);
    return 2;
  }

  if (command === 'render' || command === 'check') {
    let text: string;
    try {
      text = values['fail-closed'] ? renderFailClosed() : await renderFromConfig(values.config);
    } catch (err) {
      say(`invalid settings${values.config ? ` in ${values.config}` : ''}:\n${message(err)}`);
      return 1;
    }
    if (command === 'render') {
      io.stdout.write(text);
      return 0;
    }
    try {
      await nftCheck(text, options.nft);
    } catch (err) {
      say(message(err));
      return 1;
    }
    io.stdout.write(`ok: nft -c accepted the ruleset (${text.split('\n').length - 1} lines)\n`);
    return 0;
  }

  // apply: whatever goes wrong before the policy is loaded, the appliance ends up closed, not open.
  let text: string | undefined;
  try {
    text = await renderFromConfig(values.config);
  } catch (err) {
    say(`invalid settings${values.config ? ` in ${values.config}` : ''}:\n${message(err)}`);
  }
  if (text !== undefined) {
    try {
      await nftApply(text, options.nft);
    } catch (err) {
      say(message(err));
      text = undefined;
    }
  }
  if (text === undefined) {
    const closed = renderFailClosed();
    try {
      await nftApply(closed, options.nft);
      say('loaded the FAIL-CLOSED ruleset: only loopback is allowed until valid settings are applied');
    } catch (err) {
      say(`could not load the fail-closed ruleset either: ${message(err)}`);
      return 1;
    }
    // Save it too, so that the next boot stays closed rather than loading older, looser rules.
    if (values.persist !== undefined) await persist(values.persist, closed).catch((err: unknown) => say(`could not save ${values.persist}: ${message(err)}`));
    return 1;
  }
  if (values.persist !== undefined) {
    try {
      await persist(values.persist, text);
    } catch (err) {
      say(`the ruleset is loaded, but could not be saved to ${values.persist} for the next boot: ${message(err)}`);
      return 1;
    }
  }
  io.stdout.write(`applied the firewall ruleset${values.persist !== undefined ? ` (saved to ${values.persist})` : ''}\n`);
  return 0;
}
