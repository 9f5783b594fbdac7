// When scheduled backups run: daily or weekly at a time of day in the server's local time (the
// appliance's time zone), and how failed attempts are retried. Pure: the caller gives the clock.
import { z } from 'zod';

export const scheduleSchema = z.discriminatedUnion('every', [
  z.object({ every: z.literal('day'), at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00 to 23:59') }).strict(),
  z
    .object({
      every: z.literal('week'),
      /** 0 Sunday … 6 Saturday (as Date#getDay). */
      day: z.number().int().min(0).max(6),
      at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00 to 23:59'),
    })
    .strict(),
]);

export type BackupSchedule = z.infer<typeof scheduleSchema>;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function describeSchedule(s: BackupSchedule): string {
  return s.every === 'day' ? `daily at ${s.at}` : `weekly on ${DAYS[s.day]} at ${s.at}`;
}

/**
 * The first run strictly after `after`, in local time. Built with the local-time setters, so a day
 * on which the clocks change still runs once: a time skipped by the change runs at the moment the
 * clocks jumped to (what Date normalises it to), a time that occurs twice runs at its first occurrence.
 */
export function nextRun(s: BackupSchedule, after: Date): Date {
  const [h, m] = s.at.split(':').map(Number) as [number, number];
  for (let addDays = 0; addDays <= 8; addDays++) {
    const d = new Date(after.getFullYear(), after.getMonth(), after.getDate() + addDays, h, m, 0, 0);
    if (d.getTime() <= after.getTime()) continue;
    if (s.every === 'week' && new Date(after.getFullYear(), after.getMonth(), after.getDate() + addDays).getDay() !== s.day) continue;
    return d;
  }
  throw new Error('bug: no run within 8 days');
}

/** Attempts of one backup and the wait before each retry: 1, 2, 4, 8 minutes (5 attempts, ~15 minutes). */
export const RETRY_DELAYS_MS = [60_000, 120_000, 240_000, 480_000] as const;
