// `keyhaven appliance …`: the commands systemd runs on the appliance (as root).
//   configure    apply the OVF environment or the saved settings (keyhaven-configure.service, every boot)
//   first-boot   the first-boot wizard on a console (keyhaven-first-boot@.service)
//   banner       write /etc/issue with the appliance's status (keyhaven-banner.service)
//   server-config, rsyslog-conf, siem-conf   print the key server's and rsyslog's configuration as
//                the image ships them, and rsyslog's SIEM rules for given addresses (the build's checks)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: keyhaven appliance configure
       keyhaven appliance first-boot [--tty NAME] [--sandbox DIR [--settings FILE]]
       keyhaven appliance banner
       keyhaven appliance server-config | rsyslog-conf | siem-conf [ADDRESS…]
`;

const version = (): string => (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function firstBoot(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { tty: { type: 'string', default: 'tty1' }, sandbox: { type: 'string' }, settings: { type: 'string' } } });
  if (!/^tty[A-Za-z]*\d+$/.test(values.tty)) throw new Error(`--tty ${values.tty}: give a terminal name such as tty1 or ttyS0`);
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
  const code = await runFirstBootWizard({ system, tty: values.tty, version: version(), ctx: { input: new GuardedTtyInput(process.stdin), output: process.stdout } });
  process.stdin.destroy(); // the piped terminal would keep the process alive
  return code;
}

export async function runApplianceCli(args: string[]): Promise<number> {
  switch (args[0]) {
    case 'configure': {
      const { configureAppliance } = await import('./boot/configure.js');
      return configureAppliance({ log: (line) => process.stderr.write(`keyhaven-configure: ${line}\n`) });
    }
    case 'first-boot':
      return firstBoot(args.slice(1));
    case 'banner': {
      const { writeIssue } = await import('./firstboot/banner.js');
      await writeIssue(version());
      return 0;
    }
    case 'server-config': {
      const { renderServerConfig } = await import('./boot/server-config.js');
      process.stdout.write(renderServerConfig(null));
      return 0;
    }
    case 'rsyslog-conf': {
      const { renderRsyslogConf } = await import('./boot/log-forwarding.js');
      process.stdout.write(renderRsyslogConf());
      return 0;
    }
    case 'siem-conf': {
      const { renderSiemForwarding } = await import('./boot/log-forwarding.js');
      process.stdout.write(renderSiemForwarding(args.slice(1)));
      return 0;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}
