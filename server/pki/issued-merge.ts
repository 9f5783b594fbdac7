// The certificates the servers of a mirror group issued, merged: every member holds the group's CA
// and issues certificates of its own (its server and node certificates, clients made on it), so the
// group's record of issued certificates is the union of the members' indexes, and a revocation made
// on any member is a revocation on all (its CRL is re-signed here with the group's CA key). A
// revocation only grows: an entry revoked anywhere stays revoked, with the earliest date.
import { z } from 'zod';
import { loadCa } from './ca.js';
import { commitIndexAndCrl } from './crl.js';
import { REVOCATION_REASONS, type RevocationReason } from './reasons.js';
import { pkiPaths, readIndex, withLock, writeIndex, type IssuedCertificate } from './store.js';

export const issuedEntry = z
  .object({
    serial: z.string().regex(/^[0-9a-f]{2,64}$/),
    name: z.string().min(1).max(256),
    subject: z.string().max(2048),
    kind: z.enum(['server', 'client']),
    source: z.enum(['generated', 'csr']),
    notBefore: z.string().max(40),
    notAfter: z.string().max(40),
    fingerprint: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    file: z.string().max(512),
    revoked: z.object({ date: z.string().max(40), reason: z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]]) }).strict().optional(),
  })
  .strict();

/** This server's index entries, to send to the group. */
export function issuedCertificates(dataDir: string): IssuedCertificate[] {
  return readIndex(pkiPaths(dataDir)).certificates;
}

/**
 * Merges a peer's entries into this server's index: certificates unknown here are added, revocations
 * taken. Re-signs the CRL when a certificate became revoked. Returns what changed.
 */
export async function mergeIssued(dataDir: string, entries: readonly IssuedCertificate[]): Promise<{ added: number; revoked: IssuedCertificate[] }> {
  const p = pkiPaths(dataDir);
  return withLock(p, () => {
    const idx = readIndex(p);
    const bySerial = new Map(idx.certificates.map((c) => [c.serial, c]));
    let added = 0;
    const revoked: IssuedCertificate[] = [];
    for (const e of entries) {
      const mine = bySerial.get(e.serial);
      if (!mine) {
        const copy = { ...e };
        idx.certificates.push(copy);
        bySerial.set(e.serial, copy);
        added++;
        if (copy.revoked) revoked.push(copy);
        continue;
      }
      if (e.revoked && (!mine.revoked || e.revoked.date < mine.revoked.date)) {
        if (!mine.revoked) revoked.push(mine);
        mine.revoked = { ...e.revoked };
      }
    }
    if (revoked.length > 0) commitIndexAndCrl(p, loadCa(p), idx);
    else if (added > 0) writeIndex(p, idx);
    return { added, revoked };
  });
}
