// The join token an administrator carries from a member to a new server: where to connect, the
// fingerprint of the group's CA (so the new server knows it talks to the group, not to whoever
// answers at that address), and a single-use secret the member checks (group-state.ts keeps its hash).
//
//   KHJ1.<base64url of {"a": "host:port", "f": "<CA SHA-256 fingerprint>", "s": "<secret>"}>
import { ErrorCodes, KeyhavenError } from '../errors.js';

export interface JoinToken {
  address: string;
  caFingerprint: string;
  secret: string;
}

const PREFIX = 'KHJ1.';

export function formatJoinToken(t: JoinToken): string {
  return PREFIX + Buffer.from(JSON.stringify({ a: t.address, f: t.caFingerprint, s: t.secret })).toString('base64url');
}

export function parseJoinToken(text: string): JoinToken {
  const bad = (why: string): never => {
    throw new KeyhavenError(ErrorCodes.MIRROR_JOIN_REFUSED, `that is not a join token (${why}): copy the whole token shown by Mirroring → Add a server on a member`);
  };
  const t = text.trim();
  if (!t.startsWith(PREFIX)) bad(`it does not start with ${PREFIX}`);
  let j: { a?: unknown; f?: unknown; s?: unknown };
  try {
    j = JSON.parse(Buffer.from(t.slice(PREFIX.length), 'base64url').toString('utf8')) as typeof j;
  } catch {
    return bad('it does not decode');
  }
  if (typeof j.a !== 'string' || !/^[^\s]{1,253}:\d{1,5}$/.test(j.a)) bad('no member address');
  if (typeof j.f !== 'string' || !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(j.f)) bad('no CA fingerprint');
  if (typeof j.s !== 'string' || !/^[A-Za-z0-9_-]{16,256}$/.test(j.s)) bad('no secret');
  return { address: j.a as string, caFingerprint: (j.f as string).toUpperCase(), secret: j.s as string };
}

/** "host:port" (IPv6 in brackets) as host and port. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `"${address}" is not host:port`);
  return { host: m[1]!, port };
}

export const joinAddress = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
