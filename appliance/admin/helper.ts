// `keyhaven admin-helper`: the privileged side of the admin menu, one process per connection (as
// root, started by keyhaven-admin.socket with the connection on stdin/stdout). It reads one request,
// checks it against the action's strict schema, runs the action, records the outcome in the
// administration audit log and the system log (stderr → journal), and answers. Nothing is run
// unless it can be recorded. Parameters are never logged (they may hold a password): the action's
// summary is. Nothing here walks or writes the key server's data directory: what must happen there
// runs in a worker started as the directory's owner (data-owner.ts).
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { describeZodError } from '../../lib/zod-issues.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { Actor, ActionContext, AdminAction } from './action.js';
import { ACTIONS } from './actions/index.js';
import { AdminAuditLog } from './admin-audit.js';
import { ensureMasterKey } from './data-owner.js';
import type { AppliancePaths } from './paths.js';
import { MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS, requestSchema, type AdminResponse } from './protocol.js';
import type { SettingsApplier } from './settings-applier.js';
import type { SystemRunner } from './system-runner.js';

export interface HelperOptions {
  readonly input: Readable;
  readonly output: Writable;
  /** One line to the system log (journald reads the unit's stderr; "<N>" is the syslog priority). */
  readonly log: (line: string) => void;
  /** systemd's instance name for the connection: "<n>-<peer pid>-<peer uid>" (systemd.socket(5), Accept=yes). */
  readonly peer?: string;
  readonly paths: AppliancePaths;
  readonly system: SystemRunner;
  readonly settings: SettingsApplier;
  readonly chpasswd?: string;
  readonly passwd?: string;
}

class RequestError extends KeyhavenError {}

/** Reads up to the first newline (or the end), refusing more than MAX_REQUEST_BYTES. */
function readRequestLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, line?: string) => {
      clearTimeout(timer);
      input.removeAllListeners('data');
      input.pause();
      if (err) reject(err);
      else resolve(line!);
    };
    const timer = setTimeout(() => done(new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, `no request within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
    input.on('data', (chunk: Buffer | string) => {
      buf = Buffer.concat([buf, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 && nl <= MAX_REQUEST_BYTES) done(undefined, buf.subarray(0, nl).toString('utf8'));
      else if (buf.length > MAX_REQUEST_BYTES) done(new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, `the request is larger than ${MAX_REQUEST_BYTES} bytes`));
    });
    input.once('end', () => done(undefined, buf.toString('utf8')));
    input.once('error', (err) => done(err));
  });
}

/** The user name of a uid from the password database. */
function userName(uid: number, passwd: string): string {
  try {
    const line = readFileSync(passwd, 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return line?.split(':')[0] || `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

const printable = (s: string, max = 100): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

function actorOf(o: HelperOptions, address: string | undefined): Actor {
  const m = /^\d+-(\d+)-(\d+)$/.exec(o.peer ?? '');
  const addr = address ? printable(address) : '-';
  if (!m) return { user: process.getuid?.() === 0 ? 'root' : 'unknown', address: addr };
  const uid = Number(m[2]);
  return { user: userName(uid, o.passwd ?? '/etc/passwd'), uid, address: addr };
}

interface Parsed {
  action?: AdminAction;
  actor: Actor;
  params?: unknown;
}

function parse(line: string, o: HelperOptions, into: Parsed): void {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, 'the request is not one line of JSON');
  }
  const envelope = requestSchema.safeParse(json);
  if (!envelope.success) throw new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, `malformed request: ${describeZodError(envelope.error)}`);
  into.actor = actorOf(o, envelope.data.client?.address);
  const action = ACTIONS.get(envelope.data.action);
  if (!action) throw new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, `unknown action "${printable(envelope.data.action, 64)}"`);
  into.action = action;
  const params = action.schema.safeParse(envelope.data.params);
  if (!params.success) throw new RequestError(ErrorCodes.ADMIN_REQUEST_INVALID, describeZodError(params.error));
  into.params = params.data;
}

function respond(output: Writable, response: AdminResponse): Promise<void> {
  return new Promise((resolve) => {
    output.once('error', () => resolve()); // the menu went away: the outcome is recorded all the same
    output.end(`${JSON.stringify(response)}\n`, () => resolve());
  });
}

export async function serveOneRequest(o: HelperOptions): Promise<number> {
  const journal = (priority: number, fields: Record<string, unknown>) => o.log(`<${priority}>${JSON.stringify({ event: 'keyhaven-admin', ...fields })}`);
  const state: Parsed = { actor: actorOf(o, undefined) };
  let audit: AdminAuditLog;
  try {
    await ensureMasterKey(o.paths);
    audit = AdminAuditLog.open(o.paths);
  } catch (err) {
    const message = `the administration audit log cannot be opened, so nothing is done: ${(err as Error).message}`;
    journal(3, { result: 'failure', user: state.actor.user, error: message });
    await respond(o.output, { ok: false, code: ErrorCodes.ADMIN_ACTION_FAILED, message, userFault: false });
    return 1;
  }
  let response: AdminResponse;
  let objectId = '';
  let afterAnswer: (() => Promise<void>) | undefined;
  try {
    parse(await readRequestLine(o.input), o, state);
    const ctx: ActionContext = { paths: o.paths, system: o.system, settings: o.settings, actor: state.actor, audit, ...(o.chpasswd ? { chpasswd: o.chpasswd } : {}) };
    const outcome = await state.action!.run(state.params, ctx);
    objectId = outcome.objectId ?? '';
    afterAnswer = outcome.afterAnswer;
    response = { ok: true, result: outcome.result, summary: outcome.summary };
  } catch (err) {
    const known = err instanceof KeyhavenError;
    response = {
      ok: false,
      code: known ? err.code : ErrorCodes.ADMIN_ACTION_FAILED,
      message: known ? err.message : `the action failed unexpectedly: ${(err as Error).message ?? String(err)}`,
      userFault: known && err.userFault,
    };
  }
  const operation = state.action?.title ?? 'Invalid Request';
  const reason = response.ok ? response.summary : `${response.message} [${response.code}]`;
  const fields = { action: state.action?.name ?? null, user: state.actor.user, uid: state.actor.uid ?? null, address: state.actor.address, result: response.ok ? 'success' : 'failure', reason };
  try {
    audit.append({ identity: state.actor.user, address: state.actor.address, operation, objectId, result: fields.result, reason });
    try {
      audit.copyForBackup(o.paths.adminAuditCopy);
    } catch (err) {
      // The record is made; only the next backup misses it (the next request copies again).
      journal(4, { ...fields, error: `the administration log's copy for backups was not refreshed: ${(err as Error).message}` });
    }
  } catch (err) {
    // Done but not recorded: say so loudly rather than pretend.
    journal(2, { ...fields, error: `not recorded in the administration audit log: ${(err as Error).message}` });
    response = { ok: false, code: ErrorCodes.ADMIN_ACTION_FAILED, message: `${response.ok ? 'the change was made but' : 'the request failed and'} could not be recorded in the audit log: ${(err as Error).message}`, userFault: false };
  } finally {
    audit.close();
  }
  journal(response.ok ? 5 : 4, fields);
  await respond(o.output, response);
  if (response.ok && afterAnswer) {
    try {
      await afterAnswer();
    } catch (err) {
      journal(3, { ...fields, result: 'failure', error: `after answering: ${(err as Error).message}` });
      return 1;
    }
  }
  return response.ok ? 0 : 1;
}
