// Signing a client's certificate request (PKCS#10, RFC 2986): vCenter's "KMS trusts vCenter via
// CSR" flow. vCenter generates the CSR, the KMS administrator signs it here, vCenter uploads the
// certificate and then connects to the KMS as a TLS client with it (hence clientAuth).
//
// The subject of the certificate is the client's identity on the KMIP server (subject.ts), so a CSR
// is refused when its subject is ambiguous (multi-valued RDN) or belongs to a valid certificate
// already (identity.ts; `reissue` to renew on purpose). previewCsr() shows what would be signed.

import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { formatIpValue, ipValueFromBytes, specialPurpose, unmappedIpv4, type IpValue } from '../../lib/ip-value.js';
import { loadCa } from './ca.js';
import { checkClientSubject, clientHolders, renderSubject, reservedSubject } from './identity.js';
import { activeByName, CLIENT_DEFAULT_DAYS, CLIENT_MAX_DAYS, indexEntry, signLeaf, type AltName, type IssueResult } from './issue.js';
import { attributesForWrite, newAttribute, OID, rdnsFromNameAsn1, subjectString } from './subject.js';
import { ensureDir, MODE_PUBLIC, pkiPaths, readIndex, withLock, writeFileAtomic, writeIndex, type IssuedCertificate, type LockOptions } from './store.js';
import { checkDays, checkDnValue, printable } from './validate.js';

export const CSR_MIN_RSA_BITS = 2048;
export const CSR_MAX_RSA_BITS = 16384;

function badCsr(message: string, cause?: unknown): KeyhavenError {
  return new KeyhavenError(ErrorCodes.PKI_BAD_CSR, message, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------
// Signature algorithm (RFC 4055 §5, RFC 8017 App. A.2.4)

const HASH_OF_SIGNATURE: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2',
  '1.2.840.113549.1.1.3': 'MD4',
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.3.14.3.2.29': 'SHA-1', // sha1WithRSASignature (OIW)
  '1.2.840.113549.1.1.14': 'SHA-224',
  '1.2.840.113549.1.1.11': 'SHA-256',
  '1.2.840.113549.1.1.12': 'SHA-384',
  '1.2.840.113549.1.1.13': 'SHA-512',
};
const HASH_OID: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.5': 'MD5',
  '1.3.14.3.2.26': 'SHA-1',
  '2.16.840.1.101.3.4.2.4': 'SHA-224',
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** Hashes whose collision resistance still holds (MD5 and SHA-1 have practical collisions: RFC 6151, SHAttered). */
const ACCEPTED_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

type Asn1 = forge.asn1.Asn1;
const children = (n: Asn1 | undefined): Asn1[] => (n && Array.isArray(n.value) ? n.value : []);
const oidOf = (n: Asn1 | undefined): string => {
  if (!n || n.tagClass !== forge.asn1.Class.UNIVERSAL || n.type !== forge.asn1.Type.OID || typeof n.value !== 'string') throw new Error('expected an OID');
  return forge.asn1.derToOid(n.value);
};

/**
 * The hash of the request's signatureAlgorithm (RFC 2986 §4.2), read from the DER before forge
 * parses the request: forge only understands some RSASSA-PSS parameter encodings, and the refusal
 * of MD5 or SHA-1 should name them whatever the encoding.
 */
function signatureHash(der: string): string {
  let oid: string;
  let keyOid: string;
  let params: Asn1 | undefined;
  let mgfHash = 'SHA-1';
  let hash: string | undefined;
  try {
    const fromDer = forge.asn1.fromDer as unknown as (b: string, o: { strict: boolean; decodeBitStrings: boolean }) => Asn1;
    const request = children(fromDer(der, { strict: true, decodeBitStrings: false }));
    const alg = request[1];
    oid = oidOf(children(alg)[0]);
    // CertificationRequestInfo: version, subject, subjectPKInfo { algorithm { OID, … }, … }
    keyOid = oidOf(children(children(children(request[0])[2])[0])[0]);
    params = children(alg)[1];
    hash = HASH_OF_SIGNATURE[oid];
    if (oid === RSASSA_PSS) {
      // RFC 4055 §3.1: hashAlgorithm [0] and maskGenAlgorithm [1] default to SHA-1 and MGF1-SHA-1.
      hash = 'SHA-1';
      for (const field of children(params)) {
        if (field.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC) continue;
        if (field.type === 0) hash = HASH_OID[oidOf(children(children(field)[0])[0])] ?? 'an unknown hash';
        if (field.type === 1) mgfHash = HASH_OID[oidOf(children(children(children(field)[0])[1])[0])] ?? 'an unknown hash';
      }
    }
  } catch (err) {
    throw badCsr(`the certificate request cannot be parsed (${printable((err as Error).message ?? String(err))}): check that it is a complete PEM CSR`, err);
  }
  if (keyOid !== RSA_ENCRYPTION) throw badCsr('the CSR key is not RSA: only RSA keys (2048 bits or more) are supported; generate an RSA CSR');
  if (hash === undefined) {
    const name = (forge.pki.oids as Record<string, string>)[oid] ?? oid;
    throw badCsr(`the CSR signature algorithm ${printable(name)} is not supported: regenerate the CSR as RSA signed with SHA-256 or better`);
  }
  if (!ACCEPTED_HASHES.has(hash)) {
    const why = hash === 'SHA-224' ? 'which is not supported' : 'which is no longer collision-resistant';
    throw badCsr(`the CSR is signed with ${hash}, ${why}: regenerate the CSR signed with SHA-256 or better (e.g. \`openssl req -new -sha256 …\`)`);
  }
  // forge verifies RSASSA-PSS with a SHA-256 digest whatever the parameters say.
  if (oid === RSASSA_PSS && (hash !== 'SHA-256' || mgfHash !== 'SHA-256')) {
    throw badCsr(
      `the CSR is signed with RSASSA-PSS using ${hash} (MGF1 with ${mgfHash}): only RSASSA-PSS with SHA-256 throughout, or ` +
        `PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512, is supported; regenerate the CSR with SHA-256`,
    );
  }
  return hash;
}

// ---------------------------------------------------------------------------------------------
// subjectAltNames (RFC 5280 §4.2.1.6)
//
// A client's identity is its subject; the SANs of a client certificate only describe the client.
// They are carried over when they can name one client, and dropped (and reported) otherwise:
// - dNSName with a wildcard: names a set of hosts, never one client (RFC 6125 §6.4.3 wildcards are
//   for server certificates);
// - iPAddress unspecified (0.0.0.0, ::), loopback (127/8, ::1, and their IPv4-mapped forms),
//   multicast (224/4, ff00::/8) or the IPv4 broadcast address: every host has them, so they identify
//   nobody (RFC 6890 special-purpose registries). Private and link-local addresses are kept: vCenter
//   may well live on one;
// - URIs other than https:, urn: and spiffe: (RFC 3986 §3.1 scheme): those three name a service or a
//   workload (SPIFFE IDs live in URI SANs of client certificates); file:, http:, ldap:, … name a
//   resource rather than a client, and http: is not authenticated;
// - rfc822Name that is not a mailbox (local@domain; §4.2.1.6 allows nothing else in a SAN);
// - otherName (e.g. Microsoft's UPN, a Windows logon identity), x400Address, directoryName (a second
//   DN beside the subject that some relying party could take for the identity), ediPartyName and
//   registeredID: none names a KMIP client, and a CA for KMIP clients should not mint them.
// Malformed entries (non-ASCII or over-long names, IP addresses of the wrong length) still refuse
// the CSR: they are not a choice of the requester but a broken request.

const GENERAL_NAME_TYPES: Readonly<Record<number, string>> = { 0: 'otherName', 3: 'x400Address', 4: 'directoryName', 5: 'ediPartyName', 8: 'registeredID' };
const KEPT_URI_SCHEMES = new Set(['https', 'urn', 'spiffe']);
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const MAILBOX = new RegExp(`^[\\x21-\\x3f\\x41-\\x7e]{1,64}@(?:${LABEL}\\.)*${LABEL}$`);

interface RequestedName {
  type: number;
  value: unknown;
  oid?: string;
}

/** Special-purpose ranges that every host has, so they name no client (link-local ones are kept). */
const UNIDENTIFYING: ReadonlySet<string> = new Set(['unspecified', 'loopback', 'multicast', 'broadcast']);

/** Why an IP address names no client, if it does not; ::ffff:a.b.c.d counts as a.b.c.d. */
function ipProblem(ip: IpValue): string | undefined {
  const kind = specialPurpose(unmappedIpv4(ip) ?? ip);
  return kind !== undefined && UNIDENTIFYING.has(kind) ? `${kind} address` : undefined;
}

interface AltNameSelection {
  altNames: AltName[];
  /** Kept names as shown to the administrator, e.g. 'DNS:vcenter.example.com', 'IP:10.1.2.3'. */
  shown: string[];
  /** Dropped names (shortened to 80 characters) with the reason, e.g. 'DNS:*.example.com (wildcard …)'. */
  dropped: string[];
}

function selectAltNames(requested: readonly RequestedName[]): AltNameSelection {
  const out: AltNameSelection = { altNames: [], shown: [], dropped: [] };
  const keep = (a: AltName, shown: string) => {
    if (out.shown.includes(shown)) return; // the same name twice is carried once
    out.altNames.push(a);
    out.shown.push(shown);
  };
  for (const a of requested) {
    const kind = GENERAL_NAME_TYPES[a.type];
    if (kind !== undefined) {
      out.dropped.push(`${kind}${a.oid ? `:${a.oid}` : ''} (${kind} names are not carried into client certificates)`);
      continue;
    }
    if (a.type !== 1 && a.type !== 2 && a.type !== 6 && a.type !== 7) throw badCsr(`the CSR requests a subjectAltName of unknown type ${a.type}`);
    if (typeof a.value !== 'string') throw badCsr('the CSR requests a malformed subjectAltName');
    const value = a.value;
    if (a.type === 7) {
      if (value.length !== 4 && value.length !== 16) throw badCsr('the CSR requests an invalid IP address subjectAltName');
      const ip = ipValueFromBytes(value);
      const shown = `IP:${formatIpValue(ip)}`;
      const problem = ipProblem(ip);
      if (problem) out.dropped.push(`${shown} (${problem})`);
      else keep({ type: 7, value }, shown);
      continue;
    }
    if (!/^[\x21-\x7e]{1,253}$/.test(value)) throw badCsr(`the CSR requests an invalid subjectAltName '${printable(value)}'`);
    if (a.type === 2) {
      if (value.includes('*')) out.dropped.push(`DNS:${printable(value)} (wildcard DNS name: a client certificate names one host)`);
      else keep({ type: 2, value }, `DNS:${value}`);
    } else if (a.type === 1) {
      if (!MAILBOX.test(value)) out.dropped.push(`email:${printable(value)} (not a mailbox, local@domain)`);
      else keep({ type: 1, value }, `email:${value}`);
    } else {
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
      if (scheme === undefined) out.dropped.push(`URI:${printable(value)} (not an absolute URI)`);
      else if (!KEPT_URI_SCHEMES.has(scheme)) out.dropped.push(`URI:${printable(value)} (URI scheme '${printable(scheme)}' does not name a client; kept are https, urn and spiffe)`);
      else keep({ type: 6, value }, `URI:${value}`);
    }
  }
  return out;
}

function requestedAltNames(csr: forge.pki.CertificateSigningRequest): RequestedName[] {
  const req = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: RequestedName[] }[] } | null;
  return req?.extensions?.find((e) => e.name === 'subjectAltName')?.altNames ?? [];
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParsedCsr {
  csr: forge.pki.CertificateSigningRequest;
  publicKey: forge.pki.rsa.PublicKey;
  bits: number;
  /** 'SHA-256', 'SHA-384' or 'SHA-512'. */
  signatureHash: string;
  /** Subject attributes ready to be written into a certificate (one RDN each). */
  subject: forge.pki.CertificateField[];
  /** The subject as the server will render it (the client identity). */
  subjectString: string;
  /** The subjectAltName entries carried over (DNS, e-mail, URI, IP). */
  altNames: AltName[];
  /** altNames as text, e.g. 'DNS:vcenter.example.com'. */
  shownAltNames: string[];
  /** Requested subjectAltNames that are not carried over, each with the reason. */
  droppedAltNames: string[];
}

/**
 * Parses and checks a PEM CSR: well-formed, signed with SHA-256/384/512, self-signature valid, RSA
 * key of at least 2048 bits, one attribute per RDN; selects the subjectAltNames to carry over.
 */
export function parseCsr(pem: string): ParsedCsr {
  // Some tools (and older vCenter builds) write the pre-RFC 7468 label.
  // Only the request block is used, should the file carry other blocks (e.g. the key) as well.
  const normalised = pem.replace(/-----(BEGIN|END) NEW CERTIFICATE REQUEST-----/g, '-----$1 CERTIFICATE REQUEST-----');
  const at = normalised.indexOf('-----BEGIN CERTIFICATE REQUEST-----');
  if (at < 0) throw badCsr('the file is not a PEM certificate request (no "-----BEGIN CERTIFICATE REQUEST-----" line)');
  const end = normalised.indexOf('-----END CERTIFICATE REQUEST-----', at);
  const text = end < 0 ? normalised.slice(at) : normalised.slice(at, end + '-----END CERTIFICATE REQUEST-----'.length);
  let csr: forge.pki.CertificateSigningRequest;
  let hash: string;
  try {
    const block = forge.pem.decode(text)[0];
    if (!block) throw new Error('no PEM block');
    // The algorithm first, so that an MD5 or SHA-1 request is refused for what it is.
    hash = signatureHash(block.body);
    csr = forge.pki.certificationRequestFromPem(text, false, true);
  } catch (err) {
    if (err instanceof KeyhavenError) throw err;
    const msg = (err as Error).message ?? String(err);
    if (/OID is not RSA/i.test(msg)) throw badCsr('the CSR key is not RSA: only RSA keys (2048 bits or more) are supported; generate an RSA CSR', err);
    throw badCsr(`the certificate request cannot be parsed (${printable(msg)}): check that it is a complete PEM CSR`, err);
  }
  let ok = false;
  try {
    ok = csr.verify();
  } catch (err) {
    throw badCsr(`the CSR signature cannot be checked (${printable((err as Error).message ?? String(err))})`, err);
  }
  if (!ok) throw badCsr('the CSR signature does not verify: the request was altered or corrupted; ask for a fresh CSR');
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!publicKey || !publicKey.n) throw badCsr('the CSR has no RSA public key');
  const bits = publicKey.n.bitLength();
  if (bits < CSR_MIN_RSA_BITS) throw badCsr(`the CSR key has ${bits} bits: at least ${CSR_MIN_RSA_BITS} are required; generate a new CSR with a larger key`);
  if (bits > CSR_MAX_RSA_BITS) throw badCsr(`the CSR key has ${bits} bits: at most ${CSR_MAX_RSA_BITS} are supported`);

  // The subject as encoded (RFC 2986 §4.1 CertificationRequestInfo: version, subject, …). forge's
  // attribute list flattens a multi-valued RDN (O=Keyhaven+CN=dev would become CN=dev,O=Keyhaven,
  // another client's identity), so the RDNs are read from the encoding.
  const info = (csr as unknown as { certificationRequestInfo?: forge.asn1.Asn1 }).certificationRequestInfo;
  const nameNode = Array.isArray(info?.value) ? info.value[1] : undefined;
  let rdns: ReturnType<typeof rdnsFromNameAsn1>;
  try {
    if (!nameNode) throw new Error('no subject');
    rdns = rdnsFromNameAsn1(nameNode);
  } catch (err) {
    throw badCsr(`the CSR subject cannot be read (${printable((err as Error).message)})`, err);
  }
  const multi = rdns.find((rdn) => rdn.length !== 1);
  if (multi) {
    throw badCsr(
      `the CSR subject has a multi-valued RDN (${printable(subjectString([multi]))}): a subject is a client's identity and needs ` +
        `one attribute per RDN; regenerate the CSR with each attribute on its own (e.g. openssl req -subj '/O=…/CN=…' without -multivalue-rdn)`,
    );
  }
  const subject = attributesForWrite(csr.subject.attributes);
  if (subject.length !== rdns.length) throw badCsr('the CSR subject cannot be read consistently: regenerate the CSR');
  for (const a of subject) {
    if (typeof a.value !== 'string' || a.type === undefined) throw badCsr('the CSR subject contains an attribute that is not a string');
  }
  // The values as decoded (BMPString, UniversalString too), as the identity will show them.
  for (const [a] of rdns) checkCsrValue(a!.type, a!.value);
  const sans = selectAltNames(requestedAltNames(csr));
  return {
    csr,
    publicKey,
    bits,
    signatureHash: hash,
    subject,
    subjectString: subjectString(rdns.map((rdn) => rdn[0]!)),
    altNames: sans.altNames,
    shownAltNames: sans.shown,
    droppedAltNames: sans.dropped,
  };
}

function checkCsrValue(type: string, value: string): void {
  try {
    checkDnValue(`subject attribute ${type}`, value, type === OID.commonName ? 64 : 256);
  } catch (err) {
    throw badCsr(`the CSR subject is not acceptable: ${(err as Error).message}`, err);
  }
}

/** The requested subject with the CN replaced by `commonName` (the first CN in place; none: appended). */
function subjectWith(parsed: ParsedCsr, commonName: string | undefined): { attributes: forge.pki.CertificateField[]; subject: string } {
  if (commonName === undefined) return { attributes: parsed.subject, subject: parsed.subjectString };
  const cn = newAttribute(OID.commonName, checkDnValue('common name', commonName));
  const at = parsed.subject.findIndex((a) => a.type === OID.commonName);
  const attributes = at < 0 ? [...parsed.subject, cn] : parsed.subject.flatMap((a, i) => (i === at ? [cn] : a.type === OID.commonName ? [] : [a]));
  return { attributes, subject: renderSubject(attributes) };
}

// ---------------------------------------------------------------------------------------------
// Preview

export interface CsrPreview {
  /** The subject as the server will render it: the client identity. */
  subject: string;
  /** subjectAltNames that will be carried over, e.g. 'DNS:vcenter.example.com', 'IP:10.1.2.3'. */
  altNames: string[];
  /** Requested subjectAltNames that will not be, each with the reason. */
  dropped: string[];
  keyBits: number;
  /** 'SHA-256', 'SHA-384' or 'SHA-512' (anything weaker is refused). */
  signatureHash: string;
  /**
   * With a data directory: the valid certificate that already carries this subject (signing then
   * needs a re-issue). name 'server' or 'CA' means the server's or the CA's subject, which a client
   * certificate can never carry.
   */
  existing?: { name: string; serial: string; notAfter: string };
}

export interface CsrInspection {
  parsed: ParsedCsr;
  preview: CsrPreview;
  /** Valid client certificates carrying the subject (what a re-issue re-issues). */
  holders: IssuedCertificate[];
}

/** previewCsr with a common-name override and all holders: what `keyhaven pki sign-csr` shows. */
export function inspectCsr(pem: string, opts: { dataDir?: string; commonName?: string; now?: Date } = {}): CsrInspection {
  const parsed = parseCsr(pem);
  const { subject } = subjectWith(parsed, opts.commonName);
  const preview: CsrPreview = {
    subject,
    altNames: parsed.shownAltNames,
    dropped: parsed.droppedAltNames,
    keyBits: parsed.bits,
    signatureHash: parsed.signatureHash,
  };
  let holders: IssuedCertificate[] = [];
  if (opts.dataDir !== undefined) {
    const p = pkiPaths(opts.dataDir);
    const idx = readIndex(p);
    const now = opts.now ?? new Date();
    const reserved = reservedSubject(p, idx, subject, now);
    holders = clientHolders(idx, subject, now);
    const last = holders[holders.length - 1];
    const existing = reserved ?? last;
    if (existing) preview.existing = { name: existing.name, serial: existing.serial, notAfter: existing.notAfter };
  }
  return { parsed, preview, holders };
}

/**
 * What signing this CSR would produce, without signing or writing anything. Throws PKI_BAD_CSR as
 * signCsr would. With `dataDir`, `existing` names a valid certificate that already has the subject.
 */
export function previewCsr(pem: string, dataDir?: string): CsrPreview {
  return inspectCsr(pem, dataDir === undefined ? {} : { dataDir }).preview;
}

// ---------------------------------------------------------------------------------------------
// Signing

export interface SignCsrOptions {
  days?: number;
  /** Replaces (or adds) the CN of the requested subject. */
  commonName?: string;
  /**
   * Sign even though valid client certificates carry the subject (renewal, new key for the same
   * client); they are listed in `reissues` and stay valid until revoked. Never for the server's or
   * the CA's subject.
   */
  reissue?: boolean;
  now?: Date;
  lock?: LockOptions;
}

export interface SignCsrResult extends Omit<IssueResult, 'keyPath' | 'p12Path'> {
  certPem: string;
  /** The name the certificate is filed under in index.json (its CN, or the subject). */
  name: string;
  /** Requested subjectAltNames left out of the certificate, each with the reason. */
  dropped: string[];
}

/**
 * Signs a CSR as a client certificate (clientAuth). The subject is the request's, with the CN
 * replaced by `commonName` when given; it must not be another valid certificate's (see
 * identity.ts) unless `reissue`. A copy is kept in signed/<serial>.crt.
 */
export async function signCsr(dataDir: string, csrPem: string, opts: SignCsrOptions = {}): Promise<SignCsrResult> {
  const days = checkDays('certificate validity', opts.days ?? CLIENT_DEFAULT_DAYS, 1, CLIENT_MAX_DAYS);
  const parsed = parseCsr(csrPem);
  const { attributes, subject } = subjectWith(parsed, opts.commonName);
  if (attributes.length === 0) throw badCsr('the CSR has an empty subject: give a common name with --name');
  const cnValue = attributes.find((a) => a.type === OID.commonName)?.value;
  const p = pkiPaths(dataDir);
  return withLock(
    p,
    () => {
      const ca = loadCa(p);
      const idx = readIndex(p);
      const reissues = checkClientSubject(p, idx, subject, { reissue: opts.reissue === true, rename: '--name', ...(opts.now ? { now: opts.now } : {}) });
      const leaf = signLeaf(ca, {
        publicKey: parsed.publicKey,
        subject: attributes,
        days,
        extKeyUsage: ['clientAuth'],
        altNames: parsed.altNames,
        ...(opts.now ? { now: opts.now } : {}),
      });
      if (leaf.subject !== subject) throw new Error(`internal error: the certificate subject ${leaf.subject} is not the checked ${subject}`);
      const name = typeof cnValue === 'string' ? cnValue : leaf.subject;
      const stillValid = activeByName(idx, name, opts.now);
      ensureDir(p.signedDir);
      const file = path.join(p.signedDir, `${leaf.serial}.crt`);
      writeFileAtomic(file, leaf.certPem, MODE_PUBLIC);
      idx.certificates.push(indexEntry(leaf, name, 'client', 'csr', path.relative(p.root, file)));
      writeIndex(p, idx);
      return {
        serial: leaf.serial,
        subject: leaf.subject,
        fingerprint: leaf.fingerprint,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        certPath: file,
        certPem: leaf.certPem,
        name,
        stillValid,
        reissues: reissues.map((c) => c.serial),
        dropped: parsed.droppedAltNames,
      };
    },
    opts.lock,
  );
}

/** Reads a CSR file, mapping a missing file to a clear error. */
export function readCsrFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw badCsr(`cannot read the CSR file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}
