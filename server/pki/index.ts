// server/pki: the key server's certificate authority (node-forge), see the modules for details.

export { initPki, ensureDevPki, DEV_CLIENT_NAME, type InitResult, type DevPki } from './init.js';
export { createCa, loadCa, CA_DEFAULT_DAYS, CA_MAX_DAYS, type Ca, type CaOptions } from './ca.js';
export {
  issueServer,
  issueClient,
  signLeaf,
  SERVER_DEFAULT_DAYS,
  SERVER_MAX_DAYS,
  CLIENT_DEFAULT_DAYS,
  CLIENT_MAX_DAYS,
  type ServerOptions,
  type ClientOptions,
  type IssueResult,
  type LeafRequest,
  type SignedLeaf,
  type AltName,
  type Purpose,
} from './issue.js';
export { renewServer, serverCertificateInfo, type RenewOptions, type RenewResult, type ServerCertificateInfo } from './renew.js';
export { signCsr, parseCsr, previewCsr, readCsrFile, type CsrPreview, type SignCsrOptions, type SignCsrResult, type ParsedCsr } from './csr.js';
export { renderSubject, clientHolders, reservedSubject, checkClientSubject, checkServerSubject, type ReservedSubject, type SubjectCheck } from './identity.js';
export { buildCrl, refreshCrl, readCrlInfo, CRL_DEFAULT_DAYS, type CrlEntry, type CrlInfo, type RefreshOptions } from './crl.js';
export { revoke, listIssued, checkReason, type RevokeSelector, type RevokeResult, type CertificateStatus } from './revoke.js';
export { REVOCATION_REASONS, REVOCATION_REASON_NAMES, type RevocationReason } from './reasons.js';
export { pkcs12Bundle, checkP12Password } from './pkcs12.js';
export { loadTlsMaterial, tlsServerOptions, clientIdentity, extKeyUsage, CLIENT_AUTH_OID, type TlsMaterial } from './tls.js';
export { subjectString, subjectFromX509, subjectFromDer, subjectOfCertificate, type SubjectAttribute, type Rdn } from './subject.js';
export { generateRsaKey, sha256Fingerprint, type RsaKey } from './keys.js';
export { pkiPaths, type PkiPaths, type IssuedCertificate, type PkiIndex, type LockOptions } from './store.js';
export { runPkiCli, PKI_USAGE } from './cli.js';
