// The OpenSSH server configuration of the appliance (sshd_config(5), OpenSSH 10.0 in Debian 13):
// only `admin` (group keyhaven-admin), only the admin menu (ForceCommand; it is also the account's
// shell), password or public key, no forwarding of any kind, no root, strong algorithms only,
// short login grace, idle sessions closed. The firewall decides who reaches port 22 at all.
//
// Algorithms are filtered by what the installed OpenSSH supports (`ssh -Q`), so the same renderer
// serves the image (OpenSSH 10: ML-KEM hybrid key exchange) and older test machines; the
// provisioning step checks the image kept the post-quantum key exchange.
import { execFileSync } from 'node:child_process';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export const MENU_PROGRAM = '/usr/local/bin/keyhaven-menu';
export const ADMIN_GROUP = 'keyhaven-admin';

/** Strongest first. Hybrid post-quantum, then X25519, then large finite-field groups. */
export const KEX = ['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group18-sha512', 'diffie-hellman-group16-sha512'];
/** AEAD ciphers, and AES-CTR with encrypt-then-MAC (below) for clients without them. No CBC, no 3DES. */
export const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr'];
/** Encrypt-then-MAC with SHA-2 only (no SHA-1, no MD5, no 64-bit tags). */
export const MACS = ['hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'umac-128-etm@openssh.com'];
/** Host and user key signatures: Ed25519, ECDSA, RSA with SHA-2 (no ssh-rsa/SHA-1, no DSA). */
export const KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'];

export interface SshdConfigOptions {
  /** The only account allowed in; default admin. */
  readonly user?: string;
  readonly group?: string;
  readonly forceCommand?: string;
  /** %u is the user name; root-owned, outside the home directory. */
  readonly authorizedKeysFile?: string;
  readonly hostKeys?: readonly string[];
  /** The legal notice shown before login (40-harden.sh writes /etc/issue.net). */
  readonly banner?: string;
  /** Idle session timeout in seconds (ChannelTimeout). */
  readonly idleSeconds?: number;
  /** What the installed OpenSSH supports; default: everything listed above. */
  readonly supported?: Partial<Record<'kex' | 'cipher' | 'mac' | 'key', readonly string[]>>;
}

function only(wanted: readonly string[], supported: readonly string[] | undefined, what: string): string {
  const kept = supported ? wanted.filter((a) => supported.includes(a)) : [...wanted];
  if (kept.length === 0) throw new KeyhavenError(ErrorCodes.CONFIG_INVALID, `the installed OpenSSH supports none of the allowed ${what}: ${wanted.join(', ')}`);
  return kept.join(',');
}

export function renderSshdConfig(o: SshdConfigOptions = {}): string {
  const user = o.user ?? 'admin';
  const s = o.supported ?? {};
  const hostKeys = o.hostKeys ?? ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_rsa_key'];
  const lines = [
    '# Keyhaven: SSH serves only the admin menu. Written at image build (appliance/ssh/sshd-config.ts).',
    '# The firewall opens port 22 only to the admin networks, and only once first boot is complete.',
    ...hostKeys.map((k) => `HostKey ${k}`),
    '',
    '# Who: admin only, never root.',
    'PermitRootLogin no',
    `AllowUsers ${user}`,
    `AllowGroups ${o.group ?? ADMIN_GROUP}`,
    '',
    '# How: the password (through PAM) or a key the menu added; three tries, 30 seconds.',
    'AuthenticationMethods publickey password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'PermitEmptyPasswords no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'IgnoreRhosts yes',
    'GSSAPIAuthentication no',
    'UsePAM yes',
    `AuthorizedKeysFile ${o.authorizedKeysFile ?? '/etc/ssh/authorized_keys/%u'}`,
    'AuthorizedPrincipalsFile none',
    'StrictModes yes',
    'MaxAuthTries 3',
    'LoginGraceTime 30',
    'MaxStartups 10:30:60',
    'MaxSessions 1',
    'RequiredRSASize 3072',
    '',
    '# What: the menu and nothing else — no other command, no subsystem (sftp), no forwarding, no tunnel.',
    `ForceCommand ${o.forceCommand ?? MENU_PROGRAM}`,
    'DisableForwarding yes',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'AllowStreamLocalForwarding no',
    'X11Forwarding no',
    'GatewayPorts no',
    'PermitTunnel no',
    'PermitListen none',
    'PermitOpen none',
    'PermitUserEnvironment no',
    'PermitUserRC no',
    'PermitTTY yes',
    '',
    '# Idle sessions close; dead clients are noticed.',
    `ChannelTimeout session=${o.idleSeconds ?? 900}`,
    'UnusedConnectionTimeout 60',
    'ClientAliveInterval 60',
    'ClientAliveCountMax 2',
    'TCPKeepAlive no',
    '',
    '# Algorithms: strong only.',
    `KexAlgorithms ${only(KEX, s.kex, 'key exchange algorithms')}`,
    `Ciphers ${only(CIPHERS, s.cipher, 'ciphers')}`,
    `MACs ${only(MACS, s.mac, 'MACs')}`,
    `HostKeyAlgorithms ${only(KEY_ALGORITHMS, s.key, 'host key algorithms')}`,
    `PubkeyAcceptedAlgorithms ${only(KEY_ALGORITHMS, s.key, 'public key algorithms')}`,
    `CASignatureAlgorithms ${only(KEY_ALGORITHMS, s.key, 'CA signature algorithms')}`,
    '',
    '# The legal notice before login; otherwise quiet, and accountable.',
    `Banner ${o.banner ?? '/etc/issue.net'}`,
    'Compression no',
    'PrintMotd no',
    'PrintLastLog yes',
    'VersionAddendum none',
    'DebianBanner no',
    'LogLevel VERBOSE',
    'SyslogFacility AUTH',
  ];
  return `${lines.join('\n')}\n`;
}

/** The main sshd_config: only the drop-in directory, so Debian's defaults (sftp, AcceptEnv) are gone. */
export const MAIN_SSHD_CONFIG = '# Keyhaven: everything is in sshd_config.d/ (10-keyhaven.conf).\nInclude /etc/ssh/sshd_config.d/*.conf\n';

/** The algorithms the installed OpenSSH knows (`ssh -Q`). */
export function installedAlgorithms(ssh = '/usr/bin/ssh'): SshdConfigOptions['supported'] {
  const q = (what: string) => execFileSync(ssh, ['-Q', what], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
  return { kex: q('kex'), cipher: q('cipher'), mac: q('mac'), key: q('HostKeyAlgorithms') };
}
