// `keyhaven appliance …`: the commands systemd runs on the appliance, as root (keyhaven-configure,
// keyhaven-first-boot@, keyhaven-banner), and those the image build's checks print.
import { parseArgs } from 'node:util';
import { dispatch, usageError, usageText, type CliCommand, type CliIo } from '../lib/cli.js';
import { VERSION } from '../lib/version.js';

async function firstBoot(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { tty: { type: 'string', default: 'tty1' }, sandbox: { type: 'string' }, settings: { type: 'string' } } });
  if (!/^tty[A-Za-z]*\d+$/.test(values.tty)) throw usageError(`--tty ${values.tty}: give a terminal name such as tty1 or ttyS0`);
  // Job control and quit keys must not stop or kill the wizard into an unconfigured state: ignored as
  // signals (between prompts) and removed from the input (at prompts, see guarded-input.ts).
  for (const sig of ['SIGTSTP', 'SIGQUIT', 'SIGTTIN', 'SIGTTOU'] as const) process.on(sig, () => undefined);
  // Ctrl-C outside a prompt (while applying): the same as an interruption at a prompt.
  process.on('SIGINT', () => {
    process.stdout.write('\nInterrupted. First boot starts over.\n');
    process.exit(1);
  });
  const { firstBootComplete } = await import('./firstboot/state.js');
  if (!values.sandbox && firstBootComplete()) {
    process.stdout.write('First boot is already complete.\n');
    return 0;
  }
  const { runFirstBootWizard } = await import('./firstboot/wizard.js');
  const { realSystem, sandboxSystem } = await import('./firstboot/system.js');
  let system;
  if (values.sandbox) {
    const { readApplianceSettings, parseApplianceSettings } = await import('./settings.js');
    system = sandboxSystem(values.sandbox, values.settings ? readApplianceSettings(values.settings) : parseApplianceSettings({}, 'defaults'));
  } else {
    system = realSystem();
  }
  const { GuardedTtyInput } = await import('./firstboot/guarded-input.js');
  const code = await runFirstBootWizard({ system, tty: values.tty, version: VERSION, ctx: { input: new GuardedTtyInput(process.stdin), output: process.stdout } });
  process.stdin.destroy(); // the piped terminal would keep the process alive
  return code;
}

export const APPLIANCE_COMMANDS: readonly CliCommand[] = [
  {
    name: 'configure',
    usage: 'configure                    apply the OVF environment or the saved settings (every boot)',
    run: async (_args, io) => {
      const { configureAppliance } = await import('./boot/configure.js');
      return configureAppliance({ log: (line) => io.stderr.write(`keyhaven-configure: ${line}\n`) });
    },
  },
  {
    name: 'first-boot',
    usage: `first-boot [--tty NAME] [--sandbox DIR [--settings FILE]]
                             the first-boot wizard on a console`,
    run: (args) => firstBoot(args),
  },
  {
    name: 'banner',
    usage: "banner                       write /etc/issue with the appliance's status",
    run: async () => {
      const { writeIssue } = await import('./firstboot/banner.js');
      await writeIssue(VERSION);
      return 0;
    },
  },
  {
    name: 'server-config',
    usage: `server-config [--write]      print the key server's configuration as the image ships it; with
                             --write, write it from the saved settings (keyhaven.service, before start)`,
    run: async (args, io) => {
      const { renderServerConfig } = await import('./boot/server-config.js');
      if (args[0] !== '--write') {
        io.stdout.write(renderServerConfig(null));
        return 0;
      }
      const { writeServerConfig } = await import('./boot/server-config-writer.js');
      return writeServerConfig({ log: (line) => io.stderr.write(`keyhaven-server-config: ${line}\n`) });
    },
  },
  {
    name: 'mirror-peers',
    usage: "mirror-peers                 open 6002 to the mirror group's servers only (keyhaven-mirror-peers.timer)",
    run: async (_args, io) => {
      const { runPeerSync } = await import('./mirroring/peer-sync-cli.js');
      return runPeerSync((line) => io.stderr.write(`keyhaven-mirror-peers: ${line}\n`));
    },
  },
  {
    name: 'rsyslog-conf',
    usage: "rsyslog-conf                 print rsyslog's configuration as the image ships it",
    run: async (_args, io) => {
      const { renderRsyslogConf } = await import('./boot/log-forwarding.js');
      io.stdout.write(renderRsyslogConf());
      return 0;
    },
  },
  {
    name: 'siem-conf',
    usage: "siem-conf [ADDRESS…]         print rsyslog's SIEM forwarding rules for these addresses",
    run: async (args, io) => {
      const { renderSiemForwarding } = await import('./boot/log-forwarding.js');
      io.stdout.write(renderSiemForwarding(args));
      return 0;
    },
  },
];

export const APPLIANCE_USAGE = usageText('keyhaven appliance', APPLIANCE_COMMANDS);

export function runApplianceCli(args: string[], io: CliIo): Promise<number> {
  return dispatch('keyhaven appliance', APPLIANCE_COMMANDS, args, io);
}
