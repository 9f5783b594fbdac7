// One administration action: a name, a strict zod schema for its parameters, and a run function
// free of any user interface (the menu calls it through the helper; the first-boot wizard may call
// it in-process as root). `run` returns what the caller shows and what the audit record says.
import type { z } from 'zod';
import type { AdminAuditLog } from './admin-audit.js';
import type { AppliancePaths } from './paths.js';
import type { SettingsApplier } from './settings-applier.js';
import type { SystemRunner } from './system-runner.js';

/** Who asked: the peer of the helper's socket (uid from systemd) and the SSH client it says it serves. */
export interface Actor {
  readonly user: string;
  readonly uid?: number;
  /** The SSH client address the menu reports, "console", or "-" when unknown. */
  readonly address: string;
}

export interface ActionContext {
  readonly paths: AppliancePaths;
  readonly system: SystemRunner;
  readonly settings: SettingsApplier;
  readonly actor: Actor;
  /** The administration audit log (the helper records every request in it). */
  readonly audit: AdminAuditLog;
  /** chpasswd to use (tests point it at a stand-in); default /usr/sbin/chpasswd. */
  readonly chpasswd?: string;
}

export interface ActionOutcome<R> {
  readonly result: R;
  /** One line for the audit record and the system log; never a secret. */
  readonly summary: string;
  /** What the action acted on (a serial, a setting), for the audit record's object field. */
  readonly objectId?: string;
  /**
   * Runs once the answer is recorded and sent (a reboot would otherwise stop the helper before it
   * answers). Its failure reaches only the system log.
   */
  readonly afterAnswer?: () => Promise<void>;
}

export interface AdminAction<S extends z.ZodTypeAny = z.ZodTypeAny, R = unknown> {
  readonly name: string;
  /** The operation name in audit records, e.g. "Set NTP Servers". */
  readonly title: string;
  readonly schema: S;
  run(params: z.output<S>, ctx: ActionContext): Promise<ActionOutcome<R>>;
}

/** Helps TypeScript infer S and R while the registry holds actions of any shape. */
export function defineAction<S extends z.ZodTypeAny, R>(action: AdminAction<S, R>): AdminAction<S, R> {
  return action;
}
