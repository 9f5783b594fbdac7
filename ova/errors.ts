// The OVA's error codes: the descriptor, the disk, the archive and the OVF environment the VM is
// deployed with (lib/errors.ts explains codes).
import { CoreCodes, defineCodes } from '../lib/errors.js';

export { KeyhavenError } from '../lib/errors.js';

export const OvaCodes = defineCodes({
  OVA_INVALID: { code: 'KH_OVA_INVALID', userFault: true, doc: 'An OVF descriptor, manifest, VMDK or OVA input is invalid; the message names the field or file.' },
  OVA_TOOL_FAILED: { code: 'KH_OVA_TOOL_FAILED', userFault: false, doc: 'A tool the OVA is made with (qemu-img) failed or is missing.' },
  OVF_ENV_INVALID: { code: 'KH_OVF_ENV_INVALID', userFault: true, doc: 'The OVF environment (the vApp properties set in vSphere) is unreadable or a property is invalid; the message names the property.' },
});

/** The codes the OVA side raises: the core's and its own. */
export const ErrorCodes = { ...CoreCodes, ...OvaCodes } as const;
