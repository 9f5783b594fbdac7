// Revoking certificates and listing what the CA issued.

import { KeyhavenError, ErrorCodes } from '../errors.js';
import { loadCa } from './ca.js';
import { commitIndexAndCrl, type CrlInfo } from './crl.js';
import { normaliseFingerprint, normaliseSerial } from './keys.js';
import { isRevocationReason, REVOCATION_REASON_NAMES, type RevocationReason } from './reasons.js';
import { pkiPaths, readIndex, withLock, type IssuedCertificate, type LockOptions } from './store.js';
import { badInput, printable } from './validate.js';

/** Which certificate(s) to revoke: all under a name, or one by serial (hex) or SHA-256 fingerprint. */
export type RevokeSelector = { name: string } | { serial: string } | { fingerprint: string };

export interface RevokeResult {
  /** Newly revoked by this call. */
  revoked: IssuedCertificate[];
  /** Matched but already revoked (revoking twice changes nothing). */
  alreadyRevoked: IssuedCertificate[];
  /** The CRL written, when anything was newly revoked. */
  crl?: CrlInfo;
}

export function checkReason(reason: string): RevocationReason {
  if (!isRevocationReason(reason)) {
    throw badInput(`'${printable(reason)}' is not a revocation reason: use one of ${REVOCATION_REASON_NAMES.join(', ')}`);
  }
  return reason;
}

function matcher(sel: RevokeSelector): { describe: string; test: (c: IssuedCertificate) => boolean } {
  if ('name' in sel) return { describe: `name '${printable(sel.name)}'`, test: (c) => c.name === sel.name };
  if ('serial' in sel) {
    const serial = normaliseSerial(sel.serial);
    if (!serial) throw badInput(`serial '${printable(sel.serial)}' is not hexadecimal`);
    return { describe: `serial ${serial}`, test: (c) => normaliseSerial(c.serial) === serial };
  }
  const fp = normaliseFingerprint(sel.fingerprint);
  if (!fp) throw badInput(`fingerprint '${printable(sel.fingerprint)}' is not a SHA-256 fingerprint (64 hex digits, colons optional)`);
  return { describe: `fingerprint ${fp}`, test: (c) => c.fingerprint === fp };
}

/** Revokes and re-signs the CRL (RFC 5280 §5.3.1 reason). Unknown certificate: PKI_UNKNOWN_CERTIFICATE. */
export async function revoke(
  dataDir: string,
  sel: RevokeSelector,
  reason: RevocationReason = 'unspecified',
  opts: { now?: Date; lock?: LockOptions } = {},
): Promise<RevokeResult> {
  checkReason(reason);
  const m = matcher(sel);
  const p = pkiPaths(dataDir);
  return withLock(
    p,
    () => {
      const idx = readIndex(p);
      const matches = idx.certificates.filter(m.test);
      if (matches.length === 0) {
        throw new KeyhavenError(
          ErrorCodes.PKI_UNKNOWN_CERTIFICATE,
          `no certificate with ${m.describe} was issued by the CA in ${p.root}: see \`keyhaven pki list --dir ${p.dataDir}\``,
        );
      }
      const already = matches.filter((c) => c.revoked);
      const fresh = matches.filter((c) => !c.revoked);
      if (fresh.length === 0) return { revoked: [], alreadyRevoked: already };
      const ca = loadCa(p);
      const date = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000).toISOString();
      for (const c of fresh) c.revoked = { date, reason };
      const crl = commitIndexAndCrl(p, ca, idx, opts.now ? { now: opts.now } : {});
      return { revoked: fresh, alreadyRevoked: already, crl };
    },
    opts.lock,
  );
}

export type CertificateStatus = 'valid' | 'expired' | 'revoked';

/** Everything the CA issued, with its status now. */
export function listIssued(dataDir: string, now = new Date()): (IssuedCertificate & { status: CertificateStatus })[] {
  const idx = readIndex(pkiPaths(dataDir));
  return idx.certificates.map((c) => ({
    ...c,
    status: c.revoked ? 'revoked' : new Date(c.notAfter).getTime() <= now.getTime() ? 'expired' : 'valid',
  }));
}
