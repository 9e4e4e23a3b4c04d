import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextOccurrence, parseSchedule } from '../../local/functions-host/ncrontab';
import { resolveSchedule } from '../../local/functions-host/timer-triggers';

const at = (iso: string): number => Date.parse(iso);
const next = (expr: string, from: string): string | undefined => {
  const t = nextOccurrence(parseSchedule(expr), at(from));
  return t === undefined ? undefined : new Date(t).toISOString();
};

test('every five minutes, strictly after the given time', () => {
  assert.equal(next('0 */5 * * * *', '2026-01-01T10:02:30Z'), '2026-01-01T10:05:00.000Z');
  assert.equal(next('0 */5 * * * *', '2026-01-01T10:05:00Z'), '2026-01-01T10:10:00.000Z');
});

test('every second and seconds lists', () => {
  assert.equal(next('* * * * * *', '2026-01-01T10:00:00.400Z'), '2026-01-01T10:00:01.000Z');
  assert.equal(next('10,40 * * * * *', '2026-01-01T10:00:15Z'), '2026-01-01T10:00:40.000Z');
});

test('hours, day-of-week names and month rollover', () => {
  // 09:30 on weekdays: from Friday evening the next run is Monday.
  assert.equal(next('0 30 9 * * 1-5', '2026-01-02T18:00:00Z'), '2026-01-05T09:30:00.000Z');
  assert.equal(next('0 0 0 * * SUN', '2026-01-01T00:00:00Z'), '2026-01-04T00:00:00.000Z');
  assert.equal(next('0 0 12 1 * *', '2026-01-31T13:00:00Z'), '2026-02-01T12:00:00.000Z');
  assert.equal(next('0 0 0 1 JAN *', '2026-03-01T00:00:00Z'), '2027-01-01T00:00:00.000Z');
  // 7 means Sunday too
  assert.equal(next('0 0 0 * * 7', '2026-01-01T00:00:00Z'), '2026-01-04T00:00:00.000Z');
});

test('day-of-month and day-of-week both restricted: either matches (cron rule)', () => {
  assert.equal(next('0 0 0 15 * MON', '2026-01-01T00:00:00Z'), '2026-01-05T00:00:00.000Z');
});

test('no occurrence (Feb 30) is reported as undefined', () => {
  assert.equal(next('0 0 0 30 2 *', '2026-01-01T00:00:00Z'), undefined);
});

test('TimeSpan schedules are intervals', () => {
  const s = parseSchedule('00:00:05');
  assert.equal(s.kind, 'interval');
  assert.equal(nextOccurrence(s, 1000), 6000);
  assert.equal(
    parseSchedule('1.02:00:00').kind === 'interval' && (parseSchedule('1.02:00:00') as { ms: number }).ms,
    26 * 3600_000,
  );
});

test('invalid schedules name the problem', () => {
  assert.throws(() => parseSchedule('*/5 * * * *'), /6 fields/);
  assert.throws(() => parseSchedule('0 61 * * * *'), /minute value 61/);
  assert.throws(() => parseSchedule('0 */0 * * * *'), /invalid step/);
  assert.throws(() => parseSchedule('0 5-1 * * * *'), /range/);
});

test('%Setting% schedules come from the environment', () => {
  assert.equal(resolveSchedule('%TICK%', { TICK: '*/2 * * * * *' }), '*/2 * * * * *');
  assert.equal(resolveSchedule('0 * * * * *', {}), '0 * * * * *');
  assert.throws(() => resolveSchedule('%MISSING%', {}), /MISSING/);
});
