// Running an action in-process as root (the first-boot wizard): exactly what the socket helper does —
// the same strict validation, audit record and system-log line — without a socket in between.
import { PassThrough, Readable } from 'node:stream';
import { serveOneRequest } from './helper.js';
import { appliancePaths, type AppliancePaths } from './paths.js';
import type { AdminResponse } from './protocol.js';
import { realSettingsApplier, type SettingsApplier } from './settings-applier.js';
import { realRunner, type SystemRunner } from './system-runner.js';

export interface InProcessOptions {
  /** Recorded as the request's address, e.g. "console". */
  readonly address?: string;
  readonly paths?: AppliancePaths;
  readonly system?: SystemRunner;
  readonly settings?: SettingsApplier;
  /** chpasswd to run (tests); default /usr/sbin/chpasswd. */
  readonly chpasswd?: string;
  /** Where the system-log line goes; default stderr (the journal under systemd). */
  readonly log?: (line: string) => void;
}

export async function runAdminAction(action: string, params: Record<string, unknown>, o: InProcessOptions = {}): Promise<AdminResponse> {
  const paths = o.paths ?? appliancePaths();
  const system = o.system ?? realRunner;
  const output = new PassThrough();
  let text = '';
  output.setEncoding('utf8').on('data', (d: string) => (text += d));
  await serveOneRequest({
    input: Readable.from([`${JSON.stringify({ action, params, client: { address: o.address ?? 'console' } })}\n`]),
    output,
    log: o.log ?? ((line) => process.stderr.write(`${line}\n`)),
    paths,
    system,
    settings: o.settings ?? (await realSettingsApplier(paths, system)),
    ...(o.chpasswd ? { chpasswd: o.chpasswd } : {}),
  });
  return JSON.parse(text) as AdminResponse;
}
