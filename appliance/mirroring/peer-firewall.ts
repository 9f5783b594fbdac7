// Keeps the firewall's mirroring peers equal to the group: 6002 open, in and out, only between this
// appliance and the group's other servers (and servers being added), closed when it is alone.
//
// Why a root-side timer (keyhaven-mirror-peers.timer, every 30 s) rather than a path unit on the
// status file: the running key server rewrites that file every second, and the member list can change
// without anything happening here (a server added through another member reaches us by mirroring).
// The admin helper runs the same sync at once after *Add a server* and *Remove a server*.
// Root never reads the key server's data directory by path: the status is read by the data worker.
import { asDataOwner } from '../admin/data-owner.js';
import type { AppliancePaths } from '../admin/paths.js';
import type { SettingsApplier } from '../admin/settings-applier.js';
import type { ApplianceSettings } from '../settings.js';
import { groupPeers } from './group-peers.js';
import { readPendingPeers } from './pending-peers.js';

export interface PeerSync {
  readonly peers: string[];
  /** The firewall was re-applied. */
  readonly changed: boolean;
  /** The key server's status could not be read: the members already let through were kept. */
  readonly statusUnknown?: string;
  readonly unusable: string[];
}

/** The settings with mirroring restricted to `peers`. */
export function withPeers(s: ApplianceSettings, peers: readonly string[]): ApplianceSettings {
  return { ...s, network: { ...s.network, mirroring: { peers: [...peers], restrictInbound: true } } };
}

export async function syncPeerFirewall(paths: AppliancePaths, settings: SettingsApplier, now = Date.now()): Promise<PeerSync> {
  const pending = readPendingPeers(paths.mirrorPending, now);
  const current = settings.read();
  let status;
  let statusUnknown: string | undefined;
  try {
    status = (await asDataOwner(paths, 'mirror.status', {})) ?? undefined;
    if (!status) statusUnknown = 'the key server has not run with mirroring yet';
  } catch (err) {
    statusUnknown = (err as Error).message;
  }
  const computed = groupPeers(status, pending);
  // Without a member list, never close what is open (a join in progress, a server starting).
  const peers = status ? computed.peers : [...new Set([...current.network.mirroring.peers, ...computed.peers])].sort();
  const next = withPeers(current, peers);
  const same = JSON.stringify(next.network.mirroring) === JSON.stringify(current.network.mirroring);
  if (!same) await settings.changeFirewall(next);
  return { peers, changed: !same, unusable: computed.unusable, ...(statusUnknown ? { statusUnknown } : {}) };
}
