// CRLReason, RFC 5280 §5.3.1. removeFromCRL (8) only makes sense in delta CRLs, which we do not
// issue, so it is not offered; value 7 is unused by the RFC.

export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export const REVOCATION_REASON_NAMES = Object.keys(REVOCATION_REASONS) as RevocationReason[];

export function isRevocationReason(s: string): s is RevocationReason {
  return Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, s);
}
