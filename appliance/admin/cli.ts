// `keyhaven admin-helper [--peer INSTANCE]` (keyhaven-admin@.service, as root, connection on stdin
// and stdout) and the administration log's part of `keyhaven audit verify`.
//
// KEYHAVEN_APPLIANCE_ROOT=DIR (tests) puts every path under DIR, records system commands in
// DIR/commands.log instead of running them and uses DIR/usr/sbin/chpasswd. The unit never sets it.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminAuditLog } from './admin-audit.js';
import { serveOneRequest } from './helper.js';
import { appliancePaths } from './paths.js';
import { realSettingsApplier, sandboxSettingsApplier } from './settings-applier.js';
import { realRunner, recordingRunner } from './system-runner.js';

export async function runAdminHelperCli(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { peer: { type: 'string' } }, strict: true });
  process.umask(0o077);
  const sandbox = process.env.KEYHAVEN_APPLIANCE_ROOT;
  const paths = appliancePaths(sandbox || '/');
  const system = sandbox ? recordingRunner(join(sandbox, 'commands.log')) : realRunner;
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
export function verifyAdminLog(out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
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
