// The Packer template model's error codes (lib/errors.ts explains codes).
import { CoreCodes, defineCodes } from '../lib/errors.js';

export { KeyhavenError } from '../lib/errors.js';

export const PackerCodes = defineCodes({
  PACKER_INVALID: { code: 'KH_PACKER_INVALID', userFault: true, doc: 'The Packer template model is invalid (a missing or duplicate name, a bad value); the message names the field.' },
});

/** The codes the Packer model raises: the core's and its own. */
export const ErrorCodes = { ...CoreCodes, ...PackerCodes } as const;
