// The menu's side of the helper protocol: one request per connection to the helper's socket.
import { connect } from 'node:net';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import type { AdminRequest, AdminResponse } from './protocol.js';

/** Longer than any action takes (RSA key generation, applying network settings, restarting a service). */
const RESPONSE_TIMEOUT_MS = 180_000;

export function callHelper(socketPath: string, request: AdminRequest, timeoutMs = RESPONSE_TIMEOUT_MS): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let text = '';
    const fail = (message: string) => {
      sock.destroy();
      reject(new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, message));
    };
    sock.setTimeout(timeoutMs, () => fail(`the administration helper did not answer within ${timeoutMs / 1000} s`));
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
    sock.on('data', (d: string) => (text += d));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ': keyhaven-admin.socket is not running (check it from the console: systemctl status keyhaven-admin.socket)' : err.code === 'EACCES' ? ': this account is not in the keyhaven-admin group' : '';
      fail(`cannot reach the administration helper at ${socketPath} (${err.code ?? err.message})${hint}`);
    });
    sock.on('end', () => {
      try {
        resolve(JSON.parse(text.trim()) as AdminResponse);
      } catch {
        reject(new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, 'the administration helper gave no answer: see the system log (journalctl -u "keyhaven-admin@*")'));
      }
    });
  });
}
