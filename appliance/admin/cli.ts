// `keyhaven admin-helper [--peer INSTANCE]` (keyhaven-admin@.service, as root, connection on stdin
// and stdout) and the administration log's part of `keyhaven audit verify`.
//
// KEYHAVEN_APPLIANCE_ROOT=DIR (tests) puts every path under DIR, records system commands in
// DIR/commands.log instead of running them (but those a test names: sandboxRunner) and uses
// DIR/usr/sbin/chpasswd. The unit never sets it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliOutput } from '../../lib/cli.js';
import { AdminAuditLog } from './admin-audit.js';
import { serveOneRequest } from './helper.js';
import { appliancePaths } from './paths.js';
import { realSettingsApplier, sandboxSettingsApplier } from './settings-applier.js';
import { realRunner, recordingRunner, type SystemRunner } from './system-runner.js';

/**
 * A test tree's runner: KEYHAVEN_SANDBOX_REAL_COMMANDS (comma-separated absolute paths) are run for
 * real, KEYHAVEN_SANDBOX_REPLIES (a JSON file of "command args" prefix → stdout) answers others.
 */
function sandboxRunner(sandbox: string): SystemRunner {
  const really = new Set((process.env.KEYHAVEN_SANDBOX_REAL_COMMANDS ?? '').split(',').filter(Boolean));
  const replyFile = process.env.KEYHAVEN_SANDBOX_REPLIES;
  const replies = replyFile ? (JSON.parse(readFileSync(replyFile, 'utf8')) as Record<string, string>) : {};
  // A recorded reboot or power-off ends this helper at once, as the real one's stop may.
  return recordingRunner(join(sandbox, 'commands.log'), replies, really, () => process.kill(process.pid, 'SIGTERM'));
}

export async function runAdminHelperCli(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { peer: { type: 'string' } }, strict: true });
  process.umask(0o077);
  const sandbox = process.env.KEYHAVEN_APPLIANCE_ROOT;
  const paths = appliancePaths(sandbox || '/');
  const system = sandbox ? sandboxRunner(sandbox) : realRunner;
  const settings = sandbox ? sandboxSettingsApplier(paths, system) : await realSettingsApplier(paths, system);
  return serveOneRequest({
    input: process.stdin,
    output: process.stdout,
    log: (line) => process.stderr.write(`${line}\n`),
    ...(values.peer ? { peer: values.peer } : {}),
    paths,
    system,
    settings,
    ...(sandbox ? { chpasswd: join(sandbox, 'usr/sbin/chpasswd'), passwd: join(sandbox, 'etc/passwd') } : {}),
  });
}

/** Verifies the administration log when this machine has one; returns the exit status to add. */
export function verifyAdminLog(out: CliOutput, err: CliOutput): number {
  const paths = appliancePaths();
  if (!AdminAuditLog.exists(paths)) return 0;
  let log: AdminAuditLog;
  try {
    log = AdminAuditLog.open(paths, { create: false });
  } catch (e) {
    err.write(`administration audit log ${paths.adminAudit} cannot be opened: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const r = log.verify();
    if (r.ok) {
      out.write(`administration audit log intact: ${r.records} records, chain and sealed head verified\n`);
      return 0;
    }
    err.write(`ADMINISTRATION AUDIT LOG TAMPERED: ${r.problem} (${r.records} records verified before it)\n`);
    return 1;
  } finally {
    log.close();
  }
}
