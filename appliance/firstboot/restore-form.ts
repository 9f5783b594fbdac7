// First boot from a backup: where the backups are (the SFTP host's IP address, account, directory,
// and its host key fingerprint, read on the host: pinned, never learnt), and later the custodians'
// shares, each hidden as typed and checked against its check value at once.
import { input, password } from '@inquirer/prompts';
import { parseAddressFor } from '../../firewall/address.js';
import { parseFingerprint } from '../../server/index.js';
import { ShareEntry } from '../backup/share-entry.js';
import type { PromptContext } from './prompt-context.js';

export interface BackupHost {
  readonly host: string;
  readonly username: string;
  readonly directory: string;
  readonly hostKeySha256: string;
}

const problemOf = (f: (v: string) => unknown) => (v: string): string | true => {
  try {
    f(v);
    return true;
  } catch (err) {
    return (err as Error).message;
  }
};

export async function askBackupHost(ctx: PromptContext, before?: BackupHost): Promise<BackupHost> {
  ctx.output.write('\nThe backup host: the SFTP server the backups were sent to. SFTP (port 22) is let out to it only.\n');
  const host = (await input({ message: 'Backup host IP address', default: before?.host, validate: (v) => { const p = parseAddressFor(v.trim(), 'backup host'); return p.ok || p.reason; } }, ctx)).trim();
  const username = (await input({ message: 'Account on the backup host', default: before?.username ?? 'keyhaven', validate: (v) => /^[a-z_][a-z0-9_.-]{0,31}$/.test(v.trim()) || 'an account name: lower-case letters, digits, ".", "_", "-"' }, ctx)).trim();
  const directory = (await input({ message: "Directory there (relative to the account's home or chroot)", default: before?.directory ?? '.', validate: (v) => (/^[A-Za-z0-9._/-]+$/.test(v.trim()) && !v.trim().split('/').includes('..')) || 'a directory such as "backups" or ".", without ".."' }, ctx)).trim();
  ctx.output.write('On the backup host, print its host key fingerprint with: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\n');
  const fingerprint = await input({ message: 'Backup host key fingerprint (SHA256:…)', default: before?.hostKeySha256, validate: problemOf((v: string) => parseFingerprint(v)) }, ctx);
  return { host, username, directory, hostKeySha256: parseFingerprint(fingerprint) };
}

/** As many shares as the first one says rebuild the key; each checked as typed, none shown. */
export async function askShares(ctx: PromptContext): Promise<string[]> {
  ctx.output.write('\nThe backup key: each custodian types their share (KHS1-…). It is not shown as it is typed.\n');
  const entry = new ShareEntry();
  while (!entry.complete) entry.add(await password({ message: entry.prompt, mask: '*', validate: entry.check }, ctx));
  return entry.lines;
}
