// /etc/issue, shown above every console login prompt: the legal notice (as SSH shows it before
// login: /etc/issue.net, written at build by 40-harden.sh), then version, addresses, certificate
// fingerprints, service state, SSH host key fingerprints (to check the first SSH connection against).
// agetty(8) expands \4 and \6 to the current IPv4/IPv6 address, so DHCP leases show.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { asDataOwner } from '../admin/data-owner.js';
import { appliancePaths } from '../admin/paths.js';
import { writeAtomic } from '../boot/write-atomic.js';
import { hostKeyFingerprints, type HostKeyFingerprint } from '../ssh/host-keys.js';
import { firstBootComplete } from './state.js';

const run = promisify(execFile);

export interface BannerFacts {
  readonly version: string;
  readonly hostname: string;
  readonly caFingerprint?: string;
  readonly serverFingerprint?: string;
  readonly keyServer: string;
  readonly ssh: string;
  /** Made when first boot completes: none before. */
  readonly sshHostKeys?: readonly HostKeyFingerprint[];
  readonly firstBootDone: boolean;
  /** The legal notice, shown first. */
  readonly legalNotice?: string;
}

const LEGAL_NOTICE = '/etc/issue.net';

/** Backslash starts an agetty escape: everything we print literally has none. */
const literal = (s: string): string => s.replace(/\\/g, '\\\\');

export function renderIssue(f: BannerFacts): string {
  const lines = [
    ...(f.legalNotice?.trim() ? [literal(f.legalNotice.trim()), ''] : []),
    `Keyhaven ${literal(f.version)} - KMIP key manager for VMware vSphere`,
    `  Host         ${literal(f.hostname)}   IPv4 \\4   IPv6 \\6`,
    '  KMIP         port 6000 (mutual TLS)',
    `  CA SHA-256   ${f.caFingerprint ?? '(not created yet)'}`,
    `  Server cert  ${f.serverFingerprint ?? '(not created yet)'}`,
    `  Key server   ${literal(f.keyServer)}    SSH ${literal(f.ssh)}`,
    ...(f.sshHostKeys?.length
      ? f.sshHostKeys.map((k, i) => `  ${i === 0 ? 'SSH host key' : ''.padEnd(12)} ${literal(k.label).padEnd(8)} ${literal(k.fingerprint)}`)
      : ['  SSH host key (made when first boot completes)']),
    '',
    f.firstBootDone ? 'Log in as admin for the administration menu.' : 'First boot is not complete.',
    '',
    '',
  ];
  return lines.join('\n');
}

/** Read by the data directory's owner (admin/data-owner.ts): this runs as root, the directory is the key server's. */
async function fingerprints(): Promise<{ ca?: string; server?: string }> {
  try {
    return await asDataOwner(appliancePaths('/'), 'pki.fingerprints', {});
  } catch (err) {
    process.stderr.write(`the certificate fingerprints cannot be read: ${(err as Error).message}\n`);
    const unreadable = '(cannot be read now: the admin menu\'s support bundle holds the reason)';
    return { ca: unreadable, server: unreadable };
  }
}
const unitState = (unit: string): Promise<string> => run('/usr/bin/systemctl', ['is-active', unit]).then((r) => r.stdout.trim(), (e: { stdout?: string }) => String(e.stdout ?? 'unknown').trim() || 'unknown');

export async function writeIssue(version: string): Promise<void> {
  const hostname = readFileSync('/etc/hostname', 'utf8').trim();
  const f = await fingerprints();
  const facts: BannerFacts = {
    version,
    hostname,
    ...(f.ca ? { caFingerprint: f.ca } : {}),
    ...(f.server ? { serverFingerprint: f.server } : {}),
    keyServer: await unitState('keyhaven.service'),
    ssh: await unitState('ssh.service'),
    sshHostKeys: hostKeyFingerprints('/etc/ssh'),
    firstBootDone: firstBootComplete(),
    ...(existsSync(LEGAL_NOTICE) ? { legalNotice: readFileSync(LEGAL_NOTICE, 'utf8') } : {}),
  };
  writeAtomic('/etc/issue', renderIssue(facts));
}
