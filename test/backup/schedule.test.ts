// When scheduled backups run (schedule.ts): daily and weekly at a local time, strictly after the
// moment asked about, once on the days the clocks change (a skipped time runs when the clocks jump
// to it, a repeated time runs at its first occurrence).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSchedule, nextRun, scheduleSchema } from '../../server/backup/schedule.js';

/** Runs `fn` with the process in time zone `tz` (Node re-reads TZ when it is set). */
function inZone<T>(tz: string, fn: () => T): T {
  const before = process.env['TZ'];
  process.env['TZ'] = tz;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env['TZ'];
    else process.env['TZ'] = before;
  }
}

test('daily: today if the time is still ahead, else tomorrow; never the same moment', () => {
  inZone('UTC', () => {
    const s = { every: 'day', at: '02:30' } as const;
    assert.equal(nextRun(s, new Date('2026-12-07T01:00:00Z')).toISOString(), '2026-12-07T02:30:00.000Z');
    assert.equal(nextRun(s, new Date('2026-12-07T02:30:00Z')).toISOString(), '2026-12-08T02:30:00.000Z');
    assert.equal(nextRun(s, new Date('2026-12-31T23:59:00Z')).toISOString(), '2027-01-01T02:30:00.000Z');
    assert.equal(describeSchedule(s), 'daily at 02:30');
  });
});

test('weekly: the next given weekday at the time (today when still ahead)', () => {
  inZone('UTC', () => {
    // 2026-12-07 is a Monday.
    const mon = { every: 'week', day: 1, at: '23:00' } as const;
    assert.equal(nextRun(mon, new Date('2026-12-07T22:00:00Z')).toISOString(), '2026-12-07T23:00:00.000Z');
    assert.equal(nextRun(mon, new Date('2026-12-07T23:00:00Z')).toISOString(), '2026-12-14T23:00:00.000Z');
    const sun = { every: 'week', day: 0, at: '00:00' } as const;
    assert.equal(nextRun(sun, new Date('2026-12-07T12:00:00Z')).toISOString(), '2026-12-13T00:00:00.000Z');
    assert.equal(describeSchedule(sun), 'weekly on Sunday at 00:00');
  });
});

test('the local time of the appliance, across the clock changes', () => {
  inZone('Europe/Berlin', () => {
    const s = { every: 'day', at: '02:30' } as const;
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and runs at 03:30 CEST (01:30 UTC).
    assert.equal(nextRun(s, new Date('2026-03-28T23:00:00Z')).toISOString(), '2026-03-29T01:30:00.000Z');
    // The day after, at 02:30 CEST again.
    assert.equal(nextRun(s, new Date('2026-03-29T02:00:00Z')).toISOString(), '2026-03-30T00:30:00.000Z');
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice and runs at the first (00:30 UTC), once.
    const first = nextRun(s, new Date('2026-10-24T22:00:00Z'));
    assert.equal(first.toISOString(), '2026-10-25T00:30:00.000Z');
    assert.equal(nextRun(s, first).toISOString(), '2026-10-26T01:30:00.000Z');
  });
});

test('a schedule is refused unless it is a day or a week at HH:MM', () => {
  for (const bad of [{ every: 'day', at: '24:00' }, { every: 'day', at: '2:30' }, { every: 'hour', at: '02:30' }, { every: 'week', day: 7, at: '02:30' }, { every: 'week', at: '02:30' }, { every: 'day', at: '02:30', day: 1 }]) {
    assert.equal(scheduleSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.equal(scheduleSchema.safeParse({ every: 'week', day: 6, at: '23:59' }).success, true);
});
