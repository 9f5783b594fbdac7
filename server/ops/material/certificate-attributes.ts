// Attributes the server derives from a registered X.509 certificate: KMIP 1.4 §3.8–§3.16
// (Certificate Type, Length, X.509 Certificate Identifier/Subject/Issuer, the deprecated text forms
// of KMIP 1.0, Digital Signature Algorithm) plus the algorithm and length of its public key.
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { byteString, textString, type Item } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { av } from '../model/object-model.js';
import { publicKeyShape } from './asymmetric-keys.js';

/** RFC 5280 signature algorithm OIDs → KMIP Digital Signature Algorithm (KMIP 1.4 §9.1.3.2.7). */
const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.5': Enum.DigitalSignatureAlgorithm.SHA1WithRSAEncryption,
  '1.2.840.113549.1.1.14': Enum.DigitalSignatureAlgorithm.SHA224WithRSAEncryption,
  '1.2.840.113549.1.1.11': Enum.DigitalSignatureAlgorithm.SHA256WithRSAEncryption,
  '1.2.840.113549.1.1.12': Enum.DigitalSignatureAlgorithm.SHA384WithRSAEncryption,
  '1.2.840.113549.1.1.13': Enum.DigitalSignatureAlgorithm.SHA512WithRSAEncryption,
  '1.2.840.113549.1.1.10': Enum.DigitalSignatureAlgorithm.RSASSAPSS,
  '1.2.840.10045.4.1': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA1,
  '1.2.840.10045.4.3.1': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA224,
  '1.2.840.10045.4.3.2': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256,
  '1.2.840.10045.4.3.3': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA384,
  '1.2.840.10045.4.3.4': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA512,
};

interface TbsParts {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  signatureOid: string;
}

/** RFC 5280 §4.1: picks serialNumber, signature, issuer and subject out of the TBSCertificate. */
function tbsParts(der: Buffer): TbsParts {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), true);
  const tbs = (cert.value as forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as forge.asn1.Asn1[];
  // A v2/v3 certificate starts with the explicit [0] version tag.
  const at = fields[0]!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const raw = (n: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(n).getBytes(), 'binary');
  const serial = Buffer.from(fields[at]!.value as string, 'binary');
  const sigAlg = fields[at + 1]!.value as forge.asn1.Asn1[];
  const signatureOid = forge.asn1.derToOid(forge.util.createBuffer(sigAlg[0]!.value as string));
  return { serial, signatureOid, issuer: raw(fields[at + 2]!), subject: raw(fields[at + 4]!) };
}

/** RFC 4514 string form of a DN: its RDNs last-to-first, comma-separated ("CN=x,O=y,C=US"). */
function rfc4514(openSslLines: string): string {
  return openSslLines.split('\n').filter(Boolean).reverse().join(',');
}

export function certificateAttributes(der: Buffer): { name: string; value: Item }[] {
  let x509: X509Certificate;
  let parts: TbsParts;
  try {
    x509 = new X509Certificate(der);
    parts = tbsParts(der);
  } catch {
    throw invalidField('Certificate Value is not a DER-encoded X.509 certificate');
  }
  const out: { name: string; value: Item }[] = [
    { name: 'Certificate Type', value: av.enum(Enum.CertificateType.X509) },
    { name: 'Certificate Length', value: av.int(der.length) },
    {
      name: 'X.509 Certificate Identifier',
      value: av.struct([byteString(Tag.IssuerDistinguishedName, parts.issuer), byteString(Tag.CertificateSerialNumber, parts.serial)]),
    },
    {
      name: 'X.509 Certificate Subject',
      value: av.struct([
        byteString(Tag.SubjectDistinguishedName, parts.subject),
        ...(x509.subjectAltName ? [byteString(Tag.SubjectAlternativeName, Buffer.from(x509.subjectAltName))] : []),
      ]),
    },
    { name: 'X.509 Certificate Issuer', value: av.struct([byteString(Tag.IssuerDistinguishedName, parts.issuer)]) },
    // KMIP 1.0 §3.9–§3.11 text forms, for 1.0 clients.
    {
      name: 'Certificate Identifier',
      value: av.struct([textString(Tag.Issuer, rfc4514(x509.issuer)), textString(Tag.SerialNumber, x509.serialNumber)]),
    },
    {
      name: 'Certificate Subject',
      value: av.struct([
        textString(Tag.CertificateSubjectDistinguishedName, rfc4514(x509.subject)),
        ...(x509.subjectAltName ? [textString(Tag.CertificateSubjectAlternativeName, x509.subjectAltName)] : []),
      ]),
    },
    {
      name: 'Certificate Issuer',
      value: av.struct([textString(Tag.CertificateIssuerDistinguishedName, rfc4514(x509.issuer))]),
    },
  ];
  const sig = SIGNATURE_ALGORITHMS[parts.signatureOid];
  if (sig !== undefined) out.push({ name: 'Digital Signature Algorithm', value: av.enum(sig) });
  const shape = publicKeyShape(x509.publicKey);
  if (shape) {
    out.push({ name: 'Cryptographic Algorithm', value: av.enum(shape.algorithm) });
    out.push({ name: 'Cryptographic Length', value: av.int(shape.length) });
  }
  return out;
}
