// Which addresses the firewall lets 6002 through for, in both directions: the hosts of the group's
// current members other than this server (from the status the running key server writes: its member
// list), and the servers being added. A removed member is not a peer, whatever its address.
import { splitAddress } from '../../server/index.js';
import { parseAddressFor } from '../../firewall/address.js';
import type { PendingPeer } from './pending-peers.js';

/** An address as the firewall writes it, or undefined when it is not one a peer can have. */
function pinnable(host: string): string | undefined {
  const parsed = parseAddressFor(host, 'mirroring peer');
  return parsed.ok ? parsed.value.text : undefined;
}

/** The host of a member's "host:port", as the firewall writes it. */
function hostOf(address: string): string | undefined {
  try {
    return pinnable(splitAddress(address).host);
  } catch {
    return undefined;
  }
}

export interface GroupPeers {
  /** Sorted, without repeats: the firewall's `mirroring.peers`. */
  readonly peers: string[];
  /** Members whose address is not an IP address the firewall can pin (reported, left out). */
  readonly unusable: string[];
}

/** What the peer list needs of the key server's status (server/mirror/status-file.ts) or of a join's answer. */
export interface GroupView {
  /** This server's mirror address (host:port). */
  readonly address: string;
  readonly peers: readonly { readonly node: string; readonly address: string; readonly removed: boolean }[];
}

/**
 * The peer list for `status` (undefined: the key server has not written one yet) and the pending
 * additions. Own addresses are left out: a member listed at this server's own address is itself.
 */
export function groupPeers(status: GroupView | undefined, pending: readonly PendingPeer[]): GroupPeers {
  const own = status ? hostOf(status.address) : undefined;
  const unusable: string[] = [];
  const hosts = new Set<string>();
  for (const p of status?.peers ?? []) {
    if (p.removed) continue;
    const host = hostOf(p.address);
    if (host === undefined) unusable.push(`${p.node} at ${p.address}`);
    else if (host !== own) hosts.add(host);
  }
  for (const p of pending) {
    const host = pinnable(p.address);
    if (host !== undefined && host !== own) hosts.add(host);
  }
  return { peers: [...hosts].sort(), unusable };
}
