// PKCS#12 bundles (RFC 7292) for clients that import a key and certificate as one file:
// the key in a PBES2/AES-256 shrouded key bag, the certificate and the CA certificate, HMAC-SHA1
// integrity (what OpenSSL 3, Java and Windows all read).

import forge from 'node-forge';
import { badInput } from './validate.js';

/**
 * The password must be non-empty printable ASCII: forge uses the same string for the PBKDF2
 * (where OpenSSL uses UTF-8 bytes) and the MAC key (BMPString), so other characters would make a
 * bundle OpenSSL cannot open.
 */
export function checkP12Password(password: string): string {
  if (password.length === 0) throw badInput('the PKCS#12 password must not be empty');
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw badInput('the PKCS#12 password must consist of printable ASCII characters (no control or non-ASCII characters)');
  }
  return password;
}

/** DER of a PKCS#12 bundle holding key, certificate and CA certificate. */
export function pkcs12Bundle(
  key: forge.pki.rsa.PrivateKey,
  cert: forge.pki.Certificate,
  caCert: forge.pki.Certificate,
  password: string,
  friendlyName: string,
): Buffer {
  const asn = forge.pkcs12.toPkcs12Asn1(key, [cert, caCert], checkP12Password(password), {
    algorithm: 'aes256',
    count: 10_000,
    friendlyName,
  });
  return Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary');
}
