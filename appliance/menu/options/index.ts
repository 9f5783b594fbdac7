// The menu's entries, in order. Adding one: a file in this directory and a line here.
import type { MenuOption } from '../option.js';
import { adminNetworksOption } from './admin-networks.js';
import { auditVerifyOption } from './audit-verify.js';
import { auditViewOption } from './audit-view.js';
import { backupsOption } from './backups.js';
import { issueClientOption } from './issue-client.js';
import { mirroringOption } from './mirroring.js';
import { networkOption } from './network.js';
import { ntpOption } from './ntp.js';
import { passwordOption } from './password.js';
import { portsOption } from './ports.js';
import { rebootOption } from './reboot.js';
import { renewServerCertificateOption } from './renew-server-certificate.js';
import { restartKeyServerOption } from './restart-key-server.js';
import { revokeOption } from './revoke.js';
import { showCaCertificateOption } from './show-ca-certificate.js';
import { shutdownOption } from './shutdown.js';
import { signCsrOption } from './sign-csr.js';
import { sshKeysOption } from './ssh-keys.js';
import { statusOption } from './status.js';
import { supportBundleOption } from './support-bundle.js';
import { syslogOption } from './syslog.js';

export const MENU_OPTIONS: readonly MenuOption[] = [
  statusOption,
  networkOption,
  ntpOption,
  syslogOption,
  adminNetworksOption,
  portsOption,
  issueClientOption,
  signCsrOption,
  revokeOption,
  renewServerCertificateOption,
  showCaCertificateOption,
  mirroringOption,
  backupsOption,
  passwordOption,
  sshKeysOption,
  auditViewOption,
  auditVerifyOption,
  supportBundleOption,
  restartKeyServerOption,
  rebootOption,
  shutdownOption,
];
