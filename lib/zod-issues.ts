// One way to say what is wrong with a value zod refused: one line per problem, naming the field
// as it is written in the file (`keyManagement.networks[1]: …`).
import type { z } from 'zod';

/** `['keyManagement', 'networks', 1]` → `keyManagement.networks[1]`; `prefix` for settings inside a larger file. */
function formatIssuePath(path: readonly (string | number)[], prefix = ''): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(top level)' : out;
}

/** One line per problem: `adminNetworks[1]: "10.0.0.300/24" is not an IPv4 or IPv6 network`. */
export function describeZodError(error: z.ZodError, prefix = '', separator = '\n'): string {
  return error.issues.map((issue) => `${formatIssuePath(issue.path, prefix)}: ${issue.message}`).join(separator);
}
