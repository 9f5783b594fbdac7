// Certificate subjects as strings: the client identity that owns keys, so the rendering is fixed.
//
// Format: RDNs in the order they appear in the certificate (not RFC 4514's reversed order),
// joined by ','; attributes of a multi-valued RDN joined by '+'; each as SHORTNAME=value with the
// short names below (unknown types as the dotted OID); values escaped as in RFC 4514 §2.4 plus
// control characters as \XX. Example: `CN=vcenter.example.com,O=Example`.
//
// Both the forge path and the Node path read the encoded Name (the DER the certificate carries),
// rather than OpenSSL's display text, so the two always agree. (X509Certificate#subject is
// OpenSSL's multi-line print, whose escaping and multi-value rules are not meant for parsing.)

import type crypto from 'node:crypto';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';

export interface SubjectAttribute {
  /** Attribute type OID, e.g. '2.5.4.3'. */
  type: string;
  /** Decoded value (Unicode). */
  value: string;
}

/** One RDN: a single attribute, or several for a multi-valued RDN. */
export type Rdn = SubjectAttribute | readonly SubjectAttribute[];

export const OID = {
  commonName: '2.5.4.3',
  surname: '2.5.4.4',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  streetAddress: '2.5.4.9',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  title: '2.5.4.12',
  givenName: '2.5.4.42',
  initials: '2.5.4.43',
  dnQualifier: '2.5.4.46',
  pseudonym: '2.5.4.65',
  domainComponent: '0.9.2342.19200300.100.1.25',
  userId: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;

const SHORT_NAMES: Readonly<Record<string, string>> = {
  [OID.commonName]: 'CN',
  [OID.surname]: 'SN',
  [OID.serialNumber]: 'serialNumber',
  [OID.countryName]: 'C',
  [OID.localityName]: 'L',
  [OID.stateOrProvinceName]: 'ST',
  [OID.streetAddress]: 'STREET',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
  [OID.title]: 'title',
  [OID.givenName]: 'GN',
  [OID.initials]: 'initials',
  [OID.dnQualifier]: 'dnQualifier',
  [OID.pseudonym]: 'pseudonym',
  [OID.domainComponent]: 'DC',
  [OID.userId]: 'UID',
  [OID.emailAddress]: 'emailAddress',
};

function escapeValue(v: string): string {
  let out = '';
  const chars = [...v];
  chars.forEach((c, i) => {
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else if ('"+,;<>\\'.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  });
  return out;
}

function renderAttribute(a: SubjectAttribute): string {
  return `${SHORT_NAMES[a.type] ?? a.type}=${escapeValue(a.value)}`;
}

/** Renders a subject (RDNs in certificate order) as `CN=x,O=y`. */
export function subjectString(rdns: readonly Rdn[]): string {
  return rdns
    .map((rdn) => (Array.isArray(rdn) ? (rdn as readonly SubjectAttribute[]).map(renderAttribute).join('+') : renderAttribute(rdn as SubjectAttribute)))
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// From encoded Names

// Universal tag numbers of the string types a Name may use (X.680 §8.4).
const TAG = {
  UTF8String: 12,
  NumericString: 18,
  PrintableString: 19,
  TeletexString: 20,
  IA5String: 22,
  VisibleString: 26,
  UniversalString: 28,
  BMPString: 30,
} as const;

function decodeDirectoryString(node: forge.asn1.Asn1): string {
  if (node.tagClass !== forge.asn1.Class.UNIVERSAL || node.constructed || typeof node.value !== 'string') return hexValue(node);
  const bytes = Buffer.from(node.value, 'binary');
  switch (node.type as number) {
    case TAG.UTF8String:
      return bytes.toString('utf8');
    case TAG.PrintableString:
    case TAG.IA5String:
    case TAG.VisibleString:
    case TAG.NumericString:
    case TAG.TeletexString:
      return bytes.toString('latin1');
    case TAG.BMPString:
      return bytes.length % 2 === 0 ? Buffer.from(bytes).swap16().toString('utf16le') : hexValue(node);
    case TAG.UniversalString: {
      if (bytes.length % 4 !== 0) return hexValue(node);
      let s = '';
      for (let i = 0; i < bytes.length; i += 4) s += String.fromCodePoint(Math.min(bytes.readUInt32BE(i), 0x10ffff));
      return s;
    }
    default:
      return hexValue(node);
  }
}

/** RFC 4514 §2.4: a value that is not a string is written as '#' and the hex of its DER. */
function hexValue(node: forge.asn1.Asn1): string {
  return `#${forge.util.bytesToHex(forge.asn1.toDer(node).getBytes())}`;
}

/** RDNs of an encoded Name (RFC 5280 §4.1.2.4), in encoded order. */
export function rdnsFromNameAsn1(name: forge.asn1.Asn1): SubjectAttribute[][] {
  if (!Array.isArray(name.value)) throw new Error('Name is not a SEQUENCE');
  return name.value.map((set) => {
    if (!Array.isArray(set.value)) throw new Error('RDN is not a SET');
    return set.value.map((atv) => {
      const parts = atv.value;
      if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0]!.value !== 'string') {
        throw new Error('AttributeTypeAndValue is malformed');
      }
      return { type: forge.asn1.derToOid(parts[0]!.value), value: decodeDirectoryString(parts[1]!) };
    });
  });
}

/** The issuer or subject Name inside a TBSCertificate (RFC 5280 §4.1). */
export function nameFromTbs(tbs: forge.asn1.Asn1, which: 'issuer' | 'subject'): forge.asn1.Asn1 {
  const fields = tbs.value;
  if (!Array.isArray(fields)) throw new Error('TBSCertificate is not a SEQUENCE');
  const hasVersion = fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0;
  const node = fields[(hasVersion ? 1 : 0) + (which === 'issuer' ? 2 : 4)];
  if (!node) throw new Error(`TBSCertificate has no ${which}`);
  return node;
}

function tbsFromCertificateDer(der: Uint8Array): forge.asn1.Asn1 {
  const asn = asn1FromDer(Buffer.from(der).toString('binary'));
  const tbs = Array.isArray(asn.value) ? asn.value[0] : undefined;
  if (!tbs) throw new Error('not an X.509 certificate');
  return tbs;
}

/** Subject of a DER certificate. Works for any key type (forge's parser only knows RSA keys). */
export function subjectFromDer(der: Uint8Array): string {
  try {
    return subjectString(rdnsFromNameAsn1(nameFromTbs(tbsFromCertificateDer(der), 'subject')));
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, `cannot read the certificate subject: ${(err as Error).message}`, { cause: err });
  }
}

/** The client identity of a peer certificate, e.g. from TLSSocket#getPeerX509Certificate(). */
export function subjectFromX509(x509: crypto.X509Certificate): string {
  return subjectFromDer(x509.raw);
}

/** The TBSCertificate a forge certificate was parsed or signed with (built from its fields if neither). */
export function tbsOf(cert: forge.pki.Certificate): forge.asn1.Asn1 {
  const cached = (cert as { tbsCertificate?: forge.asn1.Asn1 }).tbsCertificate;
  if (cached) return cached;
  return (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
}

/** Subject of a forge certificate, from the TBSCertificate it was signed or parsed with. */
export function subjectOfCertificate(cert: forge.pki.Certificate): string {
  const tbs = tbsOf(cert);
  return subjectString(rdnsFromNameAsn1(nameFromTbs(tbs, 'subject')));
}

/** Strict DER parse (forge's typings only declare the boolean form of the options). */
export function asn1FromDer(binary: string): forge.asn1.Asn1 {
  const fromDer = forge.asn1.fromDer as unknown as (
    b: forge.util.ByteBuffer,
    o: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean },
  ) => forge.asn1.Asn1;
  return fromDer(forge.util.createBuffer(binary), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

/** DER of a forge certificate's issuer or subject Name as encoded in the certificate. */
export function nameDerOfCertificate(cert: forge.pki.Certificate, which: 'issuer' | 'subject'): string {
  const tbs = tbsOf(cert);
  return forge.asn1.toDer(nameFromTbs(tbs, which)).getBytes();
}

/**
 * forge keeps parsed attribute values as raw bytes but UTF-8-encodes UTF8String values again when
 * writing; decode them first so a Name copied from a parsed certificate or CSR stays byte-identical.
 */
export function attributesForWrite(attrs: readonly forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return attrs.map((a) => {
    const copy: forge.pki.CertificateField = { ...a };
    if ((a.valueTagClass as number) === TAG.UTF8String && typeof a.value === 'string') copy.value = forge.util.decodeUtf8(a.value);
    return copy;
  });
}

/** Attribute for a new Name: UTF8String (RFC 5280 §4.1.2.6), PrintableString for countryName. */
export function newAttribute(type: string, value: string): forge.pki.CertificateField {
  // (@types/node-forge declares valueTagClass as a Class; forge uses it as the universal tag number.)
  return { type, value, valueTagClass: (type === OID.countryName ? TAG.PrintableString : TAG.UTF8String) as number as forge.asn1.Class };
}
