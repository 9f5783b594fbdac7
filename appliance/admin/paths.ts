// Where the administration code reads and writes. Every path hangs off one root prefix so tests run
// the real helper against a temporary tree (KEYHAVEN_APPLIANCE_ROOT); the default root is "/".
import { join } from 'node:path';
import { ADMIN_AUDIT_COPY } from '../backup/backup-settings.js';

export interface AppliancePaths {
  /** The prefix every other path is under ("/" on the appliance). */
  readonly root: string;
  /** The appliance settings (appliance/settings.ts). */
  readonly settings: string;
  /** The key server's data directory (key store, master key, pki/), owned by the keyhaven user. */
  readonly dataDir: string;
  /** The key server's rollback anchor, beside its data directory (boot/server-config.ts ANCHOR_FILE). */
  readonly anchorFile: string;
  /** Servers being added to the mirror group: their addresses are let through 6002 until they join. */
  readonly mirrorPending: string;
  /** The appliance administration audit log, in root's state directory (the key server, which owns its data directory, cannot remove it). */
  readonly adminAuditDir: string;
  readonly adminAudit: string;
  /** A consistent copy of it that the key server's backups carry (backup/backup-settings.ts). */
  readonly adminAuditCopy: string;
  /** The ruleset keyhaven-firewall.service loads at boot. */
  readonly firewall: string;
  /** The admin's SSH keys: root-owned, outside the home directory (sshd AuthorizedKeysFile). */
  readonly authorizedKeys: string;
  /** The socket the menu talks to (keyhaven-admin.socket). */
  readonly socket: string;
  /** The shadow password file (the admin's hash, to verify the current password). */
  readonly shadow: string;
}

export const ADMIN_SOCKET = '/run/keyhaven-admin/admin.sock';

export function appliancePaths(root = process.env.KEYHAVEN_APPLIANCE_ROOT || '/'): AppliancePaths {
  const at = (p: string) => join(root, p);
  return {
    root,
    settings: at('/etc/keyhaven/appliance.json'),
    dataDir: at('/var/lib/keyhaven'),
    anchorFile: at('/var/lib/keyhaven-anchor/keyhaven.anchor'),
    mirrorPending: at('/var/lib/keyhaven-appliance/mirror-pending.json'),
    adminAuditDir: at('/var/lib/keyhaven-appliance'),
    adminAudit: at('/var/lib/keyhaven-appliance/admin-audit.db'),
    adminAuditCopy: at(ADMIN_AUDIT_COPY),
    firewall: at('/etc/keyhaven/firewall.nft'),
    authorizedKeys: at('/etc/ssh/authorized_keys/admin'),
    socket: process.env.KEYHAVEN_ADMIN_SOCKET || at(ADMIN_SOCKET),
    shadow: at('/etc/shadow'),
  };
}
