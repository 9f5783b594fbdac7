// A network of several appliance VMs and the host: a bridge holding the host's address and one tap
// device per VM, so the VMs reach each other (key mirroring) and the host reaches each of them.
// Bridged frames are not passed to the host's iptables (nf_call_iptables 0): only the appliances'
// own firewalls decide.
import { runCommand } from '../../../appliance/build/run-command.js';

export interface BridgeNetwork {
  readonly bridge: string;
  readonly hostAddress: string;
  readonly taps: readonly string[];
  remove(): Promise<void>;
}

export async function createBridge(bridge: string, hostCidr: string, taps: readonly string[]): Promise<BridgeNetwork> {
  const del = async (dev: string) => void (await runCommand('ip', ['link', 'del', dev]).catch(() => undefined));
  for (const dev of [...taps, bridge]) await del(dev);
  await runCommand('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  await runCommand('ip', ['link', 'set', 'dev', bridge, 'type', 'bridge', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0']).catch(() => undefined);
  await runCommand('ip', ['addr', 'add', hostCidr, 'dev', bridge]);
  await runCommand('ip', ['link', 'set', bridge, 'up']);
  for (const tap of taps) {
    await runCommand('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await runCommand('ip', ['link', 'set', tap, 'master', bridge]);
    await runCommand('ip', ['link', 'set', tap, 'up']);
  }
  return {
    bridge,
    hostAddress: hostCidr.split('/')[0]!,
    taps,
    remove: async () => {
      for (const dev of [...taps, bridge]) await del(dev);
    },
  };
}
