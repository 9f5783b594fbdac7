// The base of every error Keyhaven raises: a stable `code` (as undici and fastify do) that callers,
// tests and operators match on. Each part owns its codes (server/errors.ts, firewall/errors.ts, …)
// and declares them with defineCodes, saying for each whether it is the user's fault.

export type ErrorCode = `KH_${string}`;

export interface CodeSpec {
  readonly code: ErrorCode;
  /** Refused input or a request to repeat differently, rather than a failure of the system. */
  readonly userFault: boolean;
  /** What the code means and what to do; the documentation of the code (test/errors.test.ts checks it). */
  readonly doc: string;
}

const registry = new Map<ErrorCode, CodeSpec>();

/**
 * Declares a part's codes; returns the name → code map (`FirewallCodes.FIREWALL_INVALID`). A code
 * belongs to one part: declaring it twice is a programming error.
 */
export function defineCodes<const T extends Record<string, CodeSpec>>(specs: T): { readonly [K in keyof T]: T[K]['code'] } {
  const out: Record<string, ErrorCode> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (registry.has(spec.code)) throw new Error(`error code ${spec.code} is declared twice`);
    registry.set(spec.code, spec);
    out[name] = spec.code;
  }
  return out as { readonly [K in keyof T]: T[K]['code'] };
}

/** The declaration of a code, if the part that owns it has been loaded. */
export const codeSpec = (code: string): CodeSpec | undefined => registry.get(code as ErrorCode);

/** Every declared code (of the parts loaded so far). */
export const declaredCodes = (): readonly CodeSpec[] => [...registry.values()];

export class KeyhavenError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyhavenError';
    this.code = code;
  }

  /** Whether the user can fix this by changing what they asked (the menu says "Refused", not "Failed"). */
  get userFault(): boolean {
    return codeSpec(this.code)?.userFault ?? false;
  }
}

/** The codes the shared core raises: reading configuration files and command lines. */
export const CoreCodes = defineCodes({
  CONFIG_INVALID: { code: 'KH_CONFIG_INVALID', userFault: true, doc: 'A configuration or settings file (or value) fails its schema or is not JSON; the message names each field and the reason.' },
  CONFIG_UNREADABLE: { code: 'KH_CONFIG_UNREADABLE', userFault: false, doc: 'A configuration or settings file cannot be read (missing, or no permission).' },
  CLI_USAGE: { code: 'KH_CLI_USAGE', userFault: true, doc: 'A command line is wrong (unknown command or option, missing value); the usage is printed; exit status 2.' },
});
