// NCRONTAB schedules as used by Azure Functions timer triggers: six fields
// "{second} {minute} {hour} {day} {month} {day-of-week}", evaluated in UTC (the Functions default
// when WEBSITE_TIME_ZONE is unset). A TimeSpan ("hh:mm:ss" or "d.hh:mm:ss") means "every interval".

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
  nameBase?: number;
}
const specs: FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: monthNames, nameBase: 1 },
  { min: 0, max: 7, names: dayNames, nameBase: 0 },
];
const fieldNames = ['second', 'minute', 'hour', 'day', 'month', 'day-of-week'];

export type Schedule =
  | { kind: 'cron'; expression: string; sets: Set<number>[]; dayStar: boolean; dowStar: boolean }
  | { kind: 'interval'; expression: string; ms: number };

function parseValue(text: string, spec: FieldSpec, field: string): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper.slice(0, 3)) ?? -1;
  if (named >= 0 && /^[A-Z]+$/.test(upper)) return named + (spec.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new Error(`invalid ${field} value "${text}"`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new Error(`${field} value ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec, field: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [rangeText, stepText] = part.split('/');
    if (rangeText === undefined || rangeText === '') throw new Error(`empty ${field} field`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step <= 0) throw new Error(`invalid step "${stepText}" in ${field}`);
    let lo: number;
    let hi: number;
    if (rangeText === '*') {
      lo = spec.min;
      hi = spec.max;
    } else if (rangeText.includes('-')) {
      const [a, b] = rangeText.split('-');
      lo = parseValue(a ?? '', spec, field);
      hi = parseValue(b ?? '', spec, field);
      if (hi < lo) throw new Error(`invalid ${field} range "${rangeText}"`);
    } else {
      lo = parseValue(rangeText, spec, field);
      hi = stepText === undefined ? lo : spec.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseSchedule(expression: string): Schedule {
  const trimmed = expression.trim();
  const ts = /^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(trimmed);
  if (ts) {
    const ms = ((Number(ts[1] ?? 0) * 24 + Number(ts[2])) * 3600 + Number(ts[3]) * 60 + Number(ts[4] ?? 0)) * 1000;
    if (ms <= 0) throw new Error(`Invalid schedule "${expression}": the interval must be positive.`);
    return { kind: 'interval', expression: trimmed, ms };
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `Invalid schedule "${expression}": NCRONTAB needs 6 fields (second minute hour day month day-of-week), got ${fields.length}.`,
    );
  }
  try {
    const sets = fields.map((f, i) => parseField(f, specs[i]!, fieldNames[i]!));
    const dow = sets[5]!;
    if (dow.has(7)) {
      dow.delete(7);
      dow.add(0);
    }
    return { kind: 'cron', expression: trimmed, sets, dayStar: fields[3] === '*', dowStar: fields[5] === '*' };
  } catch (err) {
    throw new Error(`Invalid schedule "${expression}": ${(err as Error).message}.`);
  }
}

/** The first occurrence strictly after `after` (ms since epoch), or undefined if none within 5 years. */
export function nextOccurrence(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'interval') return after + schedule.ms;
  const [sec, min, hour, day, month, dow] = schedule.sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const d = new Date(Math.floor(after / 1000) * 1000 + 1000);
  const limit = after + 5 * 366 * 86400_000;
  // cron semantics: when both day and day-of-week are restricted, either may match.
  const dayMatches = (dt: Date): boolean => {
    const dm = day.has(dt.getUTCDate());
    const wm = dow.has(dt.getUTCDay());
    if (schedule.dayStar && schedule.dowStar) return true;
    if (schedule.dayStar) return wm;
    if (schedule.dowStar) return dm;
    return dm || wm;
  };
  while (d.getTime() <= limit) {
    if (!month.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!hour.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!min.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    if (!sec.has(d.getUTCSeconds())) {
      d.setUTCSeconds(d.getUTCSeconds() + 1, 0);
      continue;
    }
    return d.getTime();
  }
  return undefined;
}
