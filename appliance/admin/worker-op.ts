// The shape of one data-worker operation (data-worker.ts) and the checks its answers share: the
// helper runs as root and checks what the worker (the data directory's owner) says, never trusts it.
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** Control characters (a worker's answer ends up on the administrator's terminal and in logs) become '?'. */
// eslint-disable-next-line no-control-regex
export const withoutControls = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
export const text = (max: number) => z.string().max(max).transform(withoutControls);
export const iso = z.string().max(40).regex(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, 'is not an ISO 8601 UTC time');
export const count = z.number().int().min(0);
export const absolute = z.string().max(4096).refine(isAbsolute, 'must be an absolute path');

export interface WorkerOp<P extends z.ZodTypeAny, R extends z.ZodTypeAny> {
  readonly params: P;
  readonly result: R;
  /** Generating RSA keys takes seconds; reading takes less than one. */
  readonly timeoutMs: number;
  run(dataDir: string, params: z.output<P>): Promise<z.input<R>> | z.input<R>;
}

export const op = <P extends z.ZodTypeAny, R extends z.ZodTypeAny>(o: WorkerOp<P, R>): WorkerOp<P, R> => o;
export const READ_MS = 30_000;
export const KEYGEN_MS = 150_000;
