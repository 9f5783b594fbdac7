// The menu's entries, in order. Adding one: a file in this directory and a line here.
import type { MenuOption } from '../option.js';
import { adminNetworksOption } from './admin-networks.js';
import { auditVerifyOption } from './audit-verify.js';
import { auditViewOption } from './audit-view.js';
import { issueClientOption } from './issue-client.js';
import { networkOption } from './network.js';
import { ntpOption } from './ntp.js';
import { passwordOption } from './password.js';
import { portsOption } from './ports.js';
import { rebootOption } from './reboot.js';
import { restartKeyServerOption } from './restart-key-server.js';
import { revokeOption } from './revoke.js';
import { shutdownOption } from './shutdown.js';
import { signCsrOption } from './sign-csr.js';
import { sshKeysOption } from './ssh-keys.js';
import { statusOption } from './status.js';
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
  passwordOption,
  sshKeysOption,
  auditViewOption,
  auditVerifyOption,
  restartKeyServerOption,
  rebootOption,
  shutdownOption,
];
