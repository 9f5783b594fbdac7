// The mirroring status a running server writes every second (DATA/mirror/status.json) and
// `keyhaven mirror status` (and the appliance menu) reads: no connection to the server needed.
import fs from 'node:fs';
import path from 'node:path';

export interface PeerStatus {
  node: string;
  address: string;
  removed: boolean;
  /** Our link to it (we send our changes on it). */
  connected: boolean;
  since?: string;
  /** Its link to us is open (it sends us its changes). */
  inbound: boolean;
  /** Positions of our change log it has not acknowledged yet (changes made or applied here since). */
  queueDepth: number;
  /** Age of the oldest of them (0 when none; null when unknown). */
  lagSeconds: number | null;
  lastError?: string;
  lastDigestCheck?: { at: string; result: 'match' | 'differ' | 'not-comparable' };
  clockAheadMs?: number;
  /** Object versions sent to it since this server started, and versions of other members not passed on because it hears them. */
  sentObjects?: number;
  notPassedOn?: number;
}

export interface MirrorStatus {
  node: string;
  group: string;
  /** Where peers reach this server. */
  address: string;
  listening: string;
  pid: number;
  running: boolean;
  /** The group digest (change-log.ts): equal on servers holding the same objects. */
  digest: string;
  /** The last position of this server's change log. */
  head: number;
  /** Objects in the store (destroyed ones included: they keep their row). */
  objects: number;
  /**
   * Replication lag of the changes applied here in the last minute: from the change's stamp on the
   * server that made it to its durable commit here (one clock on one machine; across machines it
   * includes their clock difference).
   */
  applyLag: { changes: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  peers: PeerStatus[];
  updatedAt: string;
}

export const mirrorStatusPath = (dataDir: string) => path.join(dataDir, 'mirror', 'status.json');

/**
 * Replaces the status file (a new file renamed over it: readers see the old or the new). Not fsynced:
 * it is rewritten every second, and a reader that finds it unreadable after a crash says so.
 */
export function writeStatusFile(file: string, status: MirrorStatus): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The last status written, with `running` corrected when its process is gone; undefined when none. */
export function readMirrorStatus(dataDir: string): MirrorStatus | undefined {
  let text: string;
  try {
    text = fs.readFileSync(mirrorStatusPath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  let s: MirrorStatus;
  try {
    s = JSON.parse(text) as MirrorStatus;
  } catch {
    throw new Error(`${mirrorStatusPath(dataDir)} is unreadable (a crash while it was written?); it is rewritten every second while the server runs`);
  }
  if (s.running) {
    try {
      process.kill(s.pid, 0);
    } catch {
      s.running = false;
    }
  }
  // A server that is not running has no links, whatever its last status said.
  if (!s.running) for (const p of s.peers) p.connected = p.inbound = false;
  return s;
}
