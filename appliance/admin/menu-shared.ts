// What the admin menu shows and the helper's actions check, in one place that imports nothing of the
// helper's machinery (no data worker, no key server): the menu loads it at every start.
import { Ports } from '../../firewall/ports.js';

/** The ports the "Open or close a port" entry (access.set) manages. */
export const ACCESS_SERVICES = {
  ssh: 'SSH admin menu (22/tcp)',
  keyManagement: 'key management (6001/tcp)',
  webManagement: 'web management (3886/tcp)',
} as const;

/**
 * What listens behind the optional ports. Until the officers' API and the web console exist, opening
 * their ports would say "open" with nothing behind them: refused (closing still works).
 */
export const PORT_SERVICE: Record<'keyManagement' | 'webManagement', { readonly port: number; readonly running: boolean; readonly what: string }> = {
  keyManagement: { port: Ports.keyManagement, running: false, what: "the crypto officers' API and web console" },
  webManagement: { port: Ports.webManagement, running: false, what: 'the web management console' },
};

/** The clients a certificate is issued for (pki.issue-client). */
export const CLIENT_PURPOSES = {
  vcenter: 'vCenter / vSAN key provider',
  mongodb: 'MongoDB Enterprise',
  mysql: 'MySQL Enterprise',
  application: 'an application',
} as const;

/** Client certificates expiring within this many days are counted (status, support bundle). */
export const CLIENT_EXPIRY_WARNING_DAYS = 30;
