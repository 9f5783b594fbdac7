// The provisioning steps Keyhaven's image gets, in order: the list the golden template is rendered
// from, and the one the image pipeline (appliance/) is expected to apply itself.
//
// The scripts under appliance/provision/ are written with the image pipeline; this list references
// them by path. What each must do is stated here so the two cannot drift apart silently.
import type { ProvisioningStep } from './provisioners.js';
import { assertVersion } from './validate.js';

/** The key server tarball the pipeline builds before the image (npm pack of the built server). */
export const serverTarball = (version: string): string => `dist/keyhaven-server-${version}.tgz`;

export function defaultProvisioningSteps(version: string): ProvisioningStep[] {
  assertVersion('version', version);
  return [
    // The built key server, produced earlier in the same pipeline run: not in the repository.
    { kind: 'file', source: serverTarball(version), destination: '/root/keyhaven-server.tgz', generated: true },
    // Unpack to /opt/keyhaven (root-owned, read-only to the service user), create the keyhaven system
    // user and /var/lib/keyhaven (0700), remove the uploaded tarball.
    {
      kind: 'shell',
      script: 'appliance/provision/10-install-server.sh',
      env: { KEYHAVEN_VERSION: version, KEYHAVEN_TARBALL: '/root/keyhaven-server.tgz', KEYHAVEN_PREFIX: '/opt/keyhaven' },
    },
    // The systemd units (keyhaven-firewall.service, the key server, the first-boot wizard). A directory
    // without a trailing / is uploaded as itself: /root/systemd/. The script installs them into
    // /etc/systemd/system with explicit modes, enables them, checks them with systemd-analyze verify
    // and removes /root/systemd (Packer's file provisioner docs: upload, then move with a shell step).
    { kind: 'file', source: 'appliance/systemd', destination: '/root' },
    { kind: 'shell', script: 'appliance/provision/20-install-units.sh', env: { KEYHAVEN_UNITS: '/root/systemd' } },
    // The fail-closed ruleset (firewall/fail-closed.ts) as /etc/nftables.conf, checked with nft -c; the
    // real policy is rendered at boot by keyhaven-firewall.service from the appliance configuration.
    { kind: 'shell', script: 'appliance/provision/30-firewall.sh' },
    // Hardening: locked system accounts, sysctl,
    // removal of packages and tools the appliance does not need, journald and audit settings.
    { kind: 'shell', script: 'appliance/provision/40-harden.sh' },
    // Log forwarding: rsyslog reads the journal, auditd's trail and the key server's audit socket and
    // forwards them to the SIEM hosts of the settings (TCP 514), checked with rsyslogd -N1.
    { kind: 'shell', script: 'appliance/provision/45-log-forwarding.sh' },
    // The admin account (password locked until first boot), its menu as login shell and ForceCommand,
    // the hardened sshd configuration checked with sshd -t (ssh.service stays disabled until first
    // boot completes), and the privileged helper's socket (keyhaven-admin.socket).
    { kind: 'shell', script: 'appliance/provision/50-admin-access.sh' },
    // Last: remove the build key and what could bring one back, host keys (regenerated at first boot),
    // machine-id, logs. After this step nothing can log in; see keyhaven-template.ts.
    { kind: 'shell', script: 'appliance/provision/90-remove-build-access.sh', removesBuildAccess: true },
  ];
}
