// The server certificate in use (what clients see on port 6000), and its renewal: a new key and
// certificate for the same names and addresses, written as the data directory's owner; then the
// key server is sent SIGHUP, on which it reloads without closing a connection (it also notices the
// new server.crt by itself within seconds). systemd sends the signal (systemctl kill), not an
// ExecReload= command: that would run under the key server's AppArmor profile, which executes nothing.
// "Reloaded" is said only once the key server's audit log records that it presents the new certificate.
import { z } from 'zod';
import { defineAction, type ActionContext } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { WorkerResult } from '../data-worker.js';

export type ServerCertificate = WorkerResult<'pki.server-certificate'>;
export type RenewedServerCertificate = WorkerResult<'pki.renew-server'> & {
  /** What became of the reload: 'reloaded: …' once the key server recorded it, 'not running', or why not. */
  keyServer: string;
};

export const pkiServerCertificate = defineAction({
  name: 'pki.server-certificate',
  title: 'Show Server Certificate',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result = await asDataOwner(ctx.paths, 'pki.server-certificate', {});
    return { result, summary: `server certificate serial ${result.serial}, valid until ${result.notAfter}`, objectId: result.serial };
  },
});

/** How long the renewal waits for the key server to record the switch (it polls server.crt every 2 s). */
const CONFIRM_MS = 15_000;

/**
 * What the key server made of the new certificate, from its own audit log: the Reload Certificates
 * record since `since` naming the new fingerprint (success), or refusing the files (failure).
 */
async function reloadOutcome(ctx: ActionContext, fingerprint: string, since: number): Promise<string> {
  let r;
  try {
    r = await asDataOwner(ctx.paths, 'store.await-audit', { operation: 'Reload Certificates', since: new Date(since).toISOString(), contains: fingerprint, timeoutMs: CONFIRM_MS });
  } catch (err) {
    return `signalled; whether it switched could not be read (${(err as Error).message}): its audit records (View recent audit records) show the switch`;
  }
  if (r?.result === 'success') return 'reloaded: it presents the new certificate to new connections';
  if (r) return `kept the previous certificate: ${r.reason}`;
  return `signalled, but it had not recorded the switch within ${CONFIRM_MS / 1000} s: it also checks for the new certificate by itself; its audit records (View recent audit records) show the switch`;
}

export const pkiRenewServer = defineAction({
  name: 'pki.renew-server',
  title: 'Renew Server Certificate',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    // Audit times have milliseconds; a second's margin for clocks read by different processes.
    const since = Date.now() - 1_000;
    const renewed = await asDataOwner(ctx.paths, 'pki.renew-server', {});
    // A stopped server is not started: it reads the new certificate when it starts.
    const state = (await ctx.system.run('/usr/bin/systemctl', ['is-active', 'keyhaven.service'], { allowFailure: true })).stdout.trim();
    const r = state === 'active' ? await ctx.system.run('/usr/bin/systemctl', ['kill', '--kill-whom=main', '--signal=SIGHUP', 'keyhaven.service'], { allowFailure: true, timeoutMs: 60_000 }) : undefined;
    const keyServer = !r
      ? 'not running: it uses the new certificate when it starts'
      : r.code !== 0
        ? `not signalled (${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}): it picks up the new certificate within seconds by itself`
        : await reloadOutcome(ctx, renewed.fingerprint, since);
    const result: RenewedServerCertificate = { ...renewed, keyServer };
    const names = [...renewed.dns, ...renewed.ip].join(', ');
    const summary =
      `renewed the server certificate for ${names} with a new key: serial ${renewed.serial} (SHA-256 ${renewed.fingerprint}), valid until ${renewed.notAfter}; ` +
      `replaces serial ${renewed.previous.serial} (valid until ${renewed.previous.notAfter}); key server ${keyServer}`;
    return { result, summary, objectId: renewed.serial };
  },
});
