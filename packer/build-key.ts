// The SSH key pair for one Packer build (see keyhaven-template.ts: how Packer logs in). Generated with
// node:crypto, so the build host needs no ssh-keygen: the private key as PKCS#8 PEM (which Packer's
// Go SSH client reads), the public key in OpenSSH's authorized_keys form (RFC 8709 §4: string
// "ssh-ed25519", string key) next to it as <path>.pub. Create it right before `packer build`, delete
// it right after (removeBuildKey); it never belongs in the repository or a cache.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const sshString = (b: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};

export interface BuildKey {
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKey: string;
}

export async function writeBuildKey(privateKeyFile: string, comment = 'keyhaven-packer-build'): Promise<BuildKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // The last 32 bytes of the SPKI DER are the raw Ed25519 public key (RFC 8410 §4).
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  const line = `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
  await mkdir(dirname(privateKeyFile), { recursive: true, mode: 0o700 });
  await writeFile(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  const publicKeyFile = `${privateKeyFile}.pub`;
  await writeFile(publicKeyFile, `${line}\n`, { mode: 0o644, flag: 'wx' });
  return { privateKeyFile, publicKeyFile, publicKey: line };
}

export async function removeBuildKey(privateKeyFile: string): Promise<void> {
  await rm(privateKeyFile, { force: true });
  await rm(`${privateKeyFile}.pub`, { force: true });
}
