// The menu's side of the helper protocol: one request per connection to the helper's socket.
import { connect } from 'node:net';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { AdminRequest, AdminResponse } from './protocol.js';

/** Longer than any action takes (RSA key generation, applying network settings, restarting a service). */
const RESPONSE_TIMEOUT_MS = 180_000;

export function callHelper(socketPath: string, request: AdminRequest, timeoutMs = RESPONSE_TIMEOUT_MS): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let text = '';
    let settled = false;
    const fail = (message: string) => {
      settled = true;
      sock.destroy();
      reject(new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, message));
    };
    sock.setTimeout(timeoutMs, () => fail(`the administration helper did not answer within ${timeoutMs / 1000} s`));
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
    // The answer is one line: taken as soon as it is complete (a reboot may cut the connection after it).
    const answer = (): void => {
      const nl = text.indexOf('\n');
      if (settled || nl < 0) return;
      settled = true;
      sock.destroy();
      try {
        resolve(JSON.parse(text.slice(0, nl)) as AdminResponse);
      } catch {
        reject(new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, 'the administration helper gave an answer that cannot be read'));
      }
    };
    sock.on('data', (d: string) => {
      text += d;
      answer();
    });
    // Messages name what the administrator can do from the menu or vSphere: admin has no shell.
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ': the administration service is not running; restart the appliance from vSphere (the VM console shows its boot)' : err.code === 'EACCES' ? ': this account is not in the keyhaven-admin group' : '';
      fail(`cannot reach the administration helper at ${socketPath} (${err.code ?? err.message})${hint}`);
    });
    sock.on('end', () => {
      if (settled) return;
      if (text.trim() === '') return fail('the administration helper gave no answer: whether it acted is in the audit log (View recent audit records); Status shows the services');
      text += '\n'; // an answer without its line end
      answer();
    });
  });
}
