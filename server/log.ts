// Structured logs (pino). Redaction is a second line of defence: no code path logs key material,
// but any field with a secret-sounding name is censored before it is written, at any depth (arrays
// included), and binary values (Buffers, typed arrays) are never written at all.
import pino, { type DestinationStream, type Logger } from 'pino';

/** Field names whose values are always censored (compared case-insensitively). */
export const REDACTED_NAMES = [
  'key', 'keyMaterial', 'keyBytes', 'keyValue', 'material', 'plaintext', 'password', 'passphrase', 'secret',
  'masterKey', 'privateKey', 'request', 'response', 'payload',
];

/** The same names as pino redaction paths (top level and one level down), kept as a backstop. */
export const REDACTED_PATHS = REDACTED_NAMES.flatMap((n) => [n, `*.${n}`]);

const CENSOR = '[REDACTED]';
const SECRET_NAME = new Set(REDACTED_NAMES.map((n) => n.toLowerCase()));
const MAX_DEPTH = 16;

/**
 * A copy of a log object with secret-named fields censored and binary values replaced, at any depth.
 * The caller's object is never modified; Errors are left to pino's error serializer.
 */
export function censor(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[BINARY ${(value as ArrayBuffer).byteLength} bytes]`;
  if (depth >= MAX_DEPTH) return '[TOO DEEP]';
  if (Array.isArray(value)) return value.map((v) => censor(v, depth + 1));
  if (value instanceof Error || value instanceof Date) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME.has(k.toLowerCase()) ? CENSOR : censor(v, depth + 1);
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keyhaven' },
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      formatters: { log: (object) => censor(object) as Record<string, unknown> },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
