// The appliance's error codes: image build, accounts and administration (lib/errors.ts explains
// codes). The helper sends `userFault` with a refusal, so the menu says "Refused" or "Failed".
import { CoreCodes, defineCodes } from '../lib/errors.js';

export { KeyhavenError } from '../lib/errors.js';

export const ApplianceCodes = defineCodes({
  // Image pipeline (appliance/build)
  IMAGE_BUILD_FAILED: { code: 'KH_IMAGE_BUILD_FAILED', userFault: false, doc: 'A step of `npm run ova` failed; the message names the step and the build log.' },
  IMAGE_TOOL_MISSING: { code: 'KH_IMAGE_TOOL_MISSING', userFault: true, doc: 'A tool the image build needs is not installed: run appliance/install-build-deps.sh.' },
  // Appliance administration (first boot, menu, privileged helper)
  PASSWORD_REFUSED: { code: 'KH_PASSWORD_REFUSED', userFault: true, doc: 'A new admin password is refused (too short, too weak, the current one, reused or known breached).' },
  ACCOUNT_UPDATE_FAILED: { code: 'KH_ACCOUNT_UPDATE_FAILED', userFault: false, doc: 'The admin account could not be changed (chpasswd failed).' },
  ADMIN_REQUEST_INVALID: { code: 'KH_ADMIN_REQUEST_INVALID', userFault: true, doc: 'A request to the administration helper is malformed or a parameter is invalid; nothing was changed.' },
  ADMIN_CONFIRM_BROAD: { code: 'KH_ADMIN_CONFIRM_BROAD', userFault: true, doc: 'The change opens a service to very broad networks: sent again with acceptBroad once the administrator confirms.' },
  ADMIN_CONFIRM_LOCKOUT: { code: 'KH_ADMIN_CONFIRM_LOCKOUT', userFault: true, doc: 'The new admin networks leave out the SSH client making the change: sent again with acceptLockout once confirmed.' },
  ADMIN_ACTION_FAILED: { code: 'KH_ADMIN_ACTION_FAILED', userFault: false, doc: 'An administration action failed, or could not be recorded in the administration audit log, or the helper could not be reached.' },
  ADMIN_WORKER_FAILED: { code: 'KH_ADMIN_WORKER_FAILED', userFault: false, doc: "The worker that acts in the key server's data directory failed or gave no answer." },
  ADMIN_DATA_DIR_UNSAFE: { code: 'KH_ADMIN_DATA_DIR_UNSAFE', userFault: false, doc: "The key server's data directory (or its parent) has an owner or mode that makes acting in it unsafe; nothing is done." },
});

/** The codes the appliance raises: the core's and its own. */
export const ErrorCodes = { ...CoreCodes, ...ApplianceCodes } as const;
