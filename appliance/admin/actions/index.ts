// Every action the helper knows, by name. Adding one: a file in this directory and a line here.
import type { AdminAction } from '../action.js';
import { accessSet } from './access-set.js';
import { adminNetworksSet } from './admin-networks-set.js';
import { auditTail } from './audit-tail.js';
import { auditVerify } from './audit-verify.js';
import { backupConfigure } from './backup-configure.js';
import { backupKeyInit } from './backup-key-init.js';
import { backupList } from './backup-list.js';
import { backupNow } from './backup-now.js';
import { backupRestore } from './backup-restore.js';
import { backupSshKey } from './backup-ssh-key.js';
import { backupStatus } from './backup-status.js';
import { backupVerify } from './backup-verify.js';
import { keyServerRestart } from './keyserver-restart.js';
import { mirrorAdd } from './mirror-add.js';
import { mirrorRemove } from './mirror-remove.js';
import { mirrorStatus } from './mirror-status.js';
import { networkSet } from './network-set.js';
import { ntpSet } from './ntp-set.js';
import { passwordSet } from './password-set.js';
import { pkiCaCertificate } from './pki-ca-certificate.js';
import { pkiIssueClient } from './pki-issue-client.js';
import { pkiList } from './pki-list.js';
import { pkiPreviewClient } from './pki-preview-client.js';
import { pkiPreviewCsr } from './pki-preview-csr.js';
import { pkiRevoke } from './pki-revoke.js';
import { pkiRenewServer, pkiServerCertificate } from './pki-server-certificate.js';
import { pkiSignCsr } from './pki-sign-csr.js';
import { settingsShow } from './settings-show.js';
import { sshKeyAdd } from './ssh-key-add.js';
import { sshKeyList } from './ssh-key-list.js';
import { sshKeyRemove } from './ssh-key-remove.js';
import { status } from './status.js';
import { supportBundle } from './support-bundle.js';
import { syslogSet } from './syslog-set.js';
import { systemReboot } from './system-reboot.js';
import { systemShutdown } from './system-shutdown.js';

const all: AdminAction[] = [
  status,
  settingsShow,
  networkSet,
  ntpSet,
  syslogSet,
  adminNetworksSet,
  accessSet,
  pkiPreviewClient,
  pkiIssueClient,
  pkiPreviewCsr,
  pkiSignCsr,
  pkiList,
  pkiRevoke,
  pkiServerCertificate,
  pkiRenewServer,
  pkiCaCertificate,
  mirrorStatus,
  mirrorAdd,
  mirrorRemove,
  backupStatus,
  backupConfigure,
  backupSshKey,
  backupKeyInit,
  backupNow,
  backupList,
  backupVerify,
  backupRestore,
  passwordSet,
  sshKeyList,
  sshKeyAdd,
  sshKeyRemove,
  auditTail,
  auditVerify,
  supportBundle,
  keyServerRestart,
  systemReboot,
  systemShutdown,
];

export const ACTIONS: ReadonlyMap<string, AdminAction> = new Map(all.map((a) => [a.name, a]));
