// The firewall's error codes (lib/errors.ts explains codes).
import { CoreCodes, defineCodes } from '../lib/errors.js';

export { KeyhavenError } from '../lib/errors.js';

export const FirewallCodes = defineCodes({
  FIREWALL_INVALID: { code: 'KH_FIREWALL_INVALID', userFault: true, doc: 'The network settings the firewall is made from are invalid; the message names each setting and why.' },
  FIREWALL_NFT_FAILED: { code: 'KH_FIREWALL_NFT_FAILED', userFault: false, doc: 'nft refused the ruleset or could not be run (`keyhaven firewall apply` then loads the fail-closed ruleset).' },
});

/** The codes the firewall raises: the core's and its own. */
export const ErrorCodes = { ...CoreCodes, ...FirewallCodes } as const;
