// Servers being added to the mirror group: *Add a server* asks for the new server's address, because
// this member's firewall lets 6002 in only from the group, and the new server must reach it to join.
// Its address is let through for as long as the join token is valid; once it joined, it is a member
// and stays in the peer list as one. Kept in root's state directory (/var/lib/keyhaven-appliance).
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeAtomic } from '../boot/write-atomic.js';

const pendingSchema = z.array(z.object({ address: z.string().max(64), until: z.number().int() }).strict()).max(64);
export type PendingPeer = z.output<typeof pendingSchema>[number];

/** The pending servers whose time has not run out (an unreadable file counts as none: it only ever opens). */
export function readPendingPeers(file: string, now = Date.now()): PendingPeer[] {
  if (!existsSync(file)) return [];
  const parsed = pendingSchema.safeParse((() => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch {
      return undefined;
    }
  })());
  return parsed.success ? parsed.data.filter((p) => p.until > now) : [];
}

/** Lets `address` through until `until` (a later add of the same address extends it). */
export function addPendingPeer(file: string, address: string, until: number, now = Date.now()): PendingPeer[] {
  const next = [...readPendingPeers(file, now).filter((p) => p.address !== address), { address, until }];
  writeAtomic(file, `${JSON.stringify(next)}\n`, 0o600);
  return next;
}
