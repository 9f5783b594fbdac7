// Subjects are identities: the KMIP server knows a client by the rendered subject of its certificate
// (subject.ts) and its objects belong to that string. So the CA never issues a client certificate
// whose subject another valid certificate already carries — that would hand over the holder's keys —
// unless the caller asks for a re-issue (a renewal, a new key for the same client), which is then
// reported. The CA's and the server's own subjects are never given to a client at all.

import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { rdnsFromNameAsn1, subjectFromX509, subjectString } from './subject.js';
import type { IssuedCertificate, PkiIndex, PkiPaths } from './store.js';
import { badInput } from './validate.js';

/**
 * The subject string a certificate gets for these attributes: the Name encoded exactly as forge
 * writes it (setSubject), then rendered as the server renders a peer certificate. One RDN per
 * attribute, always (forge cannot write a multi-valued RDN; checked so that it stays so).
 */
export function renderSubject(attributes: readonly forge.pki.CertificateField[]): string {
  const rdns = rdnsFromNameAsn1(forge.pki.distinguishedNameToAsn1({ attributes }));
  if (rdns.some((rdn) => rdn.length !== 1)) throw badInput(`a subject must have one attribute per RDN: ${subjectString(rdns)}`);
  return subjectString(rdns.map((rdn) => rdn[0]!));
}

/** Neither revoked nor expired. */
export function isActive(c: IssuedCertificate, now = new Date()): boolean {
  return !c.revoked && new Date(c.notAfter).getTime() > now.getTime();
}

/** Client certificates in the index that carry `subject` and are neither revoked nor expired. */
export function clientHolders(idx: PkiIndex, subject: string, now = new Date()): IssuedCertificate[] {
  return idx.certificates.filter((c) => c.kind === 'client' && c.subject === subject && isActive(c, now));
}

/** A subject that belongs to the CA or to the server, which no client certificate may carry. */
export interface ReservedSubject {
  /** 'CA' or 'server'. */
  name: string;
  serial: string;
  notAfter: string;
  what: string;
}

function certificateFile(file: string): X509Certificate | undefined {
  try {
    return new X509Certificate(fs.readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The CA's subject, the subject of server.crt, and those of server certificates in the index that
 * are still valid (a replaced one may still be deployed on a peer until it expires or is revoked).
 */
export function reservedSubject(p: PkiPaths, idx: PkiIndex, subject: string, now = new Date()): ReservedSubject | undefined {
  const fromFile = (file: string, name: string, what: string): ReservedSubject | undefined => {
    const x = certificateFile(file);
    if (!x || subjectFromX509(x) !== subject) return undefined;
    return { name, serial: x.serialNumber.toLowerCase(), notAfter: new Date(x.validTo).toISOString(), what };
  };
  const ca = fromFile(p.caCert, 'CA', "the CA's");
  if (ca) return ca;
  const server = fromFile(p.serverCert, 'server', "the server certificate's");
  if (server) return server;
  const old = idx.certificates.find((c) => c.kind === 'server' && c.subject === subject && isActive(c, now));
  return old && { name: old.name, serial: old.serial, notAfter: old.notAfter, what: "the server certificate's" };
}

function holderText(c: IssuedCertificate): string {
  return `'${c.name}' (serial ${c.serial}, valid until ${c.notAfter})`;
}

export interface SubjectCheck {
  /** Allow a subject that valid client certificates carry; they are returned as re-issued. */
  reissue?: boolean;
  now?: Date;
  /** The option that sets the common name, for the message: '--name' (sign-csr) or '--cn' (client). */
  rename: string;
}

/**
 * Checks the subject of a new client certificate. Returns the valid client certificates it
 * re-issues (empty unless `reissue`); throws PKI_SUBJECT_IN_USE otherwise.
 */
export function checkClientSubject(p: PkiPaths, idx: PkiIndex, subject: string, opts: SubjectCheck): IssuedCertificate[] {
  const now = opts.now ?? new Date();
  const reserved = reservedSubject(p, idx, subject, now);
  if (reserved) {
    throw new KeyhavenError(
      ErrorCodes.PKI_SUBJECT_IN_USE,
      `the subject ${subject} is ${reserved.what} (serial ${reserved.serial}, valid until ${reserved.notAfter}): a client ` +
        `certificate must never carry the server's or the CA's subject, not even as a re-issue; choose another common name (${opts.rename})`,
    );
  }
  const holders = clientHolders(idx, subject, now);
  if (holders.length === 0 || opts.reissue) return holders;
  const last = holders[holders.length - 1]!;
  throw new KeyhavenError(
    ErrorCodes.PKI_SUBJECT_IN_USE,
    `the subject ${subject} is the identity of the valid client certificate${holders.length > 1 ? 's' : ''} ` +
      `${holders.map(holderText).join(', ')}: a new certificate with it would act as that client and reach its keys. ` +
      `If it replaces that certificate (renewal, new key), pass --reissue and revoke the old one once it is no longer used; ` +
      `to give the identity to someone else, revoke it first (\`keyhaven pki revoke --dir ${p.dataDir} --serial ${last.serial}\`); ` +
      `otherwise choose another common name (${opts.rename})`,
  );
}

/** The server certificate must not carry a valid client's identity either (it also acts as a client towards peers). */
export function checkServerSubject(idx: PkiIndex, subject: string, now = new Date()): void {
  const holders = clientHolders(idx, subject, now);
  if (holders.length === 0) return;
  throw new KeyhavenError(
    ErrorCodes.PKI_SUBJECT_IN_USE,
    `the server certificate's subject would be ${subject}, the identity of the client certificate ${holders.map(holderText).join(', ')}: ` +
      `list another DNS name (or IP address) first, or revoke that client certificate first`,
  );
}
