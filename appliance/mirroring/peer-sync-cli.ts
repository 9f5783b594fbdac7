// `keyhaven appliance mirror-peers`, as root (keyhaven-mirror-peers.service, started by its timer and
// by the admin helper): one sync of the firewall's mirroring peers with the group (peer-firewall.ts).
import { appliancePaths } from '../admin/paths.js';
import { realSettingsApplier } from '../admin/settings-applier.js';
import { realRunner } from '../admin/system-runner.js';
import { syncPeerFirewall } from './peer-firewall.js';

export async function runPeerSync(log: (line: string) => void): Promise<number> {
  const paths = appliancePaths();
  const r = await syncPeerFirewall(paths, await realSettingsApplier(paths, realRunner));
  if (r.changed) log(`6002 now open between this server and ${r.peers.length ? r.peers.join(', ') : 'no other server (a group of one)'}`);
  if (r.statusUnknown) log(`the group's member list is not known (${r.statusUnknown}); kept the peers let through`);
  for (const u of r.unusable) log(`member ${u} has no IP address the firewall can pin: 6002 stays closed to it`);
  return 0;
}
