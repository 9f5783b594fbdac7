// Structured logs (pino). Redaction is a second line of defence: no code path logs key material,
// but any field with a secret-sounding name is censored before it is written.
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'key', '*.key', 'keyMaterial', '*.keyMaterial', 'material', '*.material', 'password', '*.password',
  'passphrase', '*.passphrase', 'secret', '*.secret', 'masterKey', '*.masterKey', 'privateKey', '*.privateKey',
  'request', '*.request', 'response', '*.response', 'payload', '*.payload',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keyhaven' },
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
