/**
 * EventBridge Scheduler expressions — `cron(...)`, `rate(...)`, `at(...)` — parsed and evaluated in
 * an IANA time zone, for the local clock (`local/clock.ts`), the tests and the console.
 *
 * Why an evaluator of our own rather than croner: EventBridge's dialect is not classic cron. Its
 * day-of-week runs 1-7 = SUN-SAT, exactly one of day-of-month/day-of-week must be `?`, there is a year
 * field (1970-2199), `L`, `W` and `#` have Quartz meanings with EventBridge's own restrictions (no
 * `/` in day-of-week, `#` alone in its field), and daylight saving time follows AWS's documented rule
 * (a local time that does not exist is skipped; a local time that happens twice fires once, at the
 * first). A translation to croner would have to re-implement most of that around it and would still
 * be an approximation; the evaluator below is small and every rule in it is the documented one:
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
 *
 * Time zone arithmetic uses `Intl.DateTimeFormat` (the platform's tz database), never a fixed offset.
 */

/** Epoch milliseconds, a `Date`, or an ISO-8601 string that carries `Z` or an offset. */
export type Instant = number | Date | string;

/** A wall-clock reading in some time zone; `month` is 1-12. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export class InvalidScheduleExpressionError extends Error {
  readonly expression: string;
  constructor(expression: string, reason: string) {
    super(`invalid schedule expression ${JSON.stringify(expression)}: ${reason}`);
    this.name = 'InvalidScheduleExpressionError';
    this.expression = expression;
  }
}

export class InvalidTimeZoneError extends Error {
  constructor(timeZone: string, cause?: unknown) {
    super(`unknown IANA time zone ${JSON.stringify(timeZone)}`, { cause });
    this.name = 'InvalidTimeZoneError';
  }
}

/** Day-of-month item: a set of days, `L`, `LW` or `nW`. */
type DayOfMonthItem =
  | { readonly type: 'days'; readonly days: ReadonlySet<number> }
  | { readonly type: 'last' }
  | { readonly type: 'lastWeekday' }
  | { readonly type: 'nearestWeekday'; readonly day: number };

/** Day-of-week item (1 = SUN ... 7 = SAT): a set of weekdays, `nL` (last n of the month) or `n#k`. */
type DayOfWeekItem =
  | { readonly type: 'weekdays'; readonly weekdays: ReadonlySet<number> }
  | { readonly type: 'lastOfMonth'; readonly weekday: number }
  | { readonly type: 'nth'; readonly weekday: number; readonly nth: number };

export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  /** Sorted ascending. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: readonly number[];
  readonly years: readonly number[];
  /** Exactly one of the two day fields is `?` (undefined here). */
  readonly daysOfMonth: readonly DayOfMonthItem[] | undefined;
  readonly daysOfWeek: readonly DayOfWeekItem[] | undefined;
}

export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly periodMs: number;
}

export interface AtSchedule {
  readonly kind: 'at';
  readonly expression: string;
  /** The wall-clock time, read in the schedule's time zone. */
  readonly local: LocalDateTime;
}

export type ParsedScheduleExpression = CronSchedule | RateSchedule | AtSchedule;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly slash: boolean;
}

const FIELDS = {
  minutes: { label: 'minutes', min: 0, max: 59, slash: true },
  hours: { label: 'hours', min: 0, max: 23, slash: true },
  dayOfMonth: { label: 'day-of-month', min: 1, max: 31, slash: true },
  month: { label: 'month', min: 1, max: 12, names: MONTH_NAMES, slash: true },
  // EventBridge lists `, - * ? L #` for day-of-week: no increments.
  dayOfWeek: { label: 'day-of-week', min: 1, max: 7, names: WEEKDAY_NAMES, slash: false },
  year: { label: 'year', min: MIN_YEAR, max: MAX_YEAR, slash: true },
} as const satisfies Record<string, FieldSpec>;

/**
 * Parses an EventBridge Scheduler expression; throws {@link InvalidScheduleExpressionError} with the
 * reason when it is not one.
 */
export function parseScheduleExpression(expression: string): ParsedScheduleExpression {
  const trimmed = expression.trim();
  const call = /^(cron|rate|at)\((.*)\)$/s.exec(trimmed);
  if (!call) throw new InvalidScheduleExpressionError(expression, 'expected cron(...), rate(...) or at(...)');
  const [, kind, body = ''] = call;
  const fail = (reason: string): never => {
    throw new InvalidScheduleExpressionError(expression, reason);
  };
  if (kind === 'rate') return { kind: 'rate', expression, periodMs: parseRate(body.trim(), fail) };
  if (kind === 'at') return { kind: 'at', expression, local: parseAt(body.trim(), fail) };
  return parseCron(expression, body.trim(), fail);
}

function parseRate(body: string, fail: (reason: string) => never): number {
  const match = /^(\d+)\s+([a-z]+)$/.exec(body);
  if (!match) return fail('rate needs "value unit", e.g. rate(5 minutes)');
  const value = Number(match[1]);
  const unit = match[2] ?? '';
  const unitMs: Record<string, number> = {
    minute: MINUTE_MS,
    minutes: MINUTE_MS,
    hour: HOUR_MS,
    hours: HOUR_MS,
    day: DAY_MS,
    days: DAY_MS,
  };
  const ms = unitMs[unit];
  if (ms === undefined) return fail(`unknown rate unit "${unit}" (minute(s), hour(s) or day(s))`);
  if (!Number.isSafeInteger(value) || value < 1) return fail('the rate value must be a positive integer');
  // EventBridge's documented rule: rate(1 hours) and rate(5 hour) are both invalid.
  const plural = unit.endsWith('s');
  if (value === 1 && plural)
    return fail(`a value of 1 takes the singular unit: rate(1 ${unit.slice(0, -1)})`);
  if (value > 1 && !plural) return fail(`a value above 1 takes the plural unit: rate(${value} ${unit}s)`);
  // EventBridge counts days as 24-hour durations, not calendar days.
  return value * ms;
}

function parseAt(body: string, fail: (reason: string) => never): LocalDateTime {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!match) return fail('at needs yyyy-mm-ddThh:mm:ss, e.g. at(2028-02-29T10:00:00)');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return fail('no such date');
  if (hour > 23 || minute > 59 || second > 59) return fail('no such time of day');
  return { year, month, day, hour, minute, second };
}

function parseCron(expression: string, body: string, fail: (reason: string) => never): CronSchedule {
  const fields = body.split(/\s+/);
  if (fields.length !== 6) {
    return fail(
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const domAny = dayOfMonth === '?';
  const dowAny = dayOfWeek === '?';
  if (domAny === dowAny) {
    return fail('exactly one of day-of-month and day-of-week must be "?" (EventBridge cannot combine them)');
  }
  return {
    kind: 'cron',
    expression,
    minutes: parseNumericField(minutes, FIELDS.minutes, fail),
    hours: parseNumericField(hours, FIELDS.hours, fail),
    months: parseNumericField(month, FIELDS.month, fail),
    years: parseNumericField(year, FIELDS.year, fail),
    daysOfMonth: domAny ? undefined : parseDayOfMonth(dayOfMonth, fail),
    daysOfWeek: dowAny ? undefined : parseDayOfWeek(dayOfWeek, fail),
  };
}

function parseNumericField(field: string, spec: FieldSpec, fail: (reason: string) => never): number[] {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    for (const value of parseRangeItem(item, spec, fail)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

/** `*`, `n`, `a-b`, `a/s`, `*\/s`, `a-b/s`, with names where the field has them. */
function parseRangeItem(item: string, spec: FieldSpec, fail: (reason: string) => never): number[] {
  const where = `in the ${spec.label} field`;
  if (item === '') return fail(`empty item ${where}`);
  if (item === '?') return fail(`"?" is only allowed alone in day-of-month or day-of-week`);
  const [range = '', step, ...rest] = item.split('/');
  if (rest.length > 0) return fail(`"${item}" has more than one "/" ${where}`);
  let start: number;
  let end: number;
  if (range === '*') {
    start = spec.min;
    end = spec.max;
  } else {
    const [from = '', to, ...more] = range.split('-');
    if (more.length > 0) return fail(`"${item}" is not a range ${where}`);
    start = parseValue(from, spec, fail);
    end = to === undefined ? start : parseValue(to, spec, fail);
    if (start > end) return fail(`range "${range}" runs backwards ${where}`);
    // `a/s` means "from a to the end of the field, every s".
    if (step !== undefined && to === undefined) end = spec.max;
  }
  let increment = 1;
  if (step !== undefined) {
    if (!spec.slash) return fail(`"/" is not allowed ${where}`);
    if (!/^\d+$/.test(step) || Number(step) < 1)
      return fail(`increment "${step}" must be a positive integer`);
    increment = Number(step);
  }
  const values: number[] = [];
  for (let value = start; value <= end; value += increment) values.push(value);
  return values;
}

function parseValue(token: string, spec: FieldSpec, fail: (reason: string) => never): number {
  const where = `in the ${spec.label} field`;
  const nameIndex = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (nameIndex >= 0) return nameIndex + 1;
  if (!/^\d+$/.test(token)) return fail(`"${token}" is not a value ${where}`);
  const value = Number(token);
  if (value < spec.min || value > spec.max) {
    return fail(`${value} is outside ${spec.min}-${spec.max} ${where}`);
  }
  return value;
}

function parseDayOfMonth(field: string, fail: (reason: string) => never): DayOfMonthItem[] {
  const upper = field.toUpperCase();
  if (upper === 'L') return [{ type: 'last' }];
  if (upper === 'LW') return [{ type: 'lastWeekday' }];
  const weekday = /^(\d+)W$/.exec(upper);
  if (weekday)
    return [{ type: 'nearestWeekday', day: parseValue(weekday[1] ?? '', FIELDS.dayOfMonth, fail) }];
  if (/[LW]/.test(upper)) return fail(`"${field}": L, LW and nW stand alone in the day-of-month field`);
  return [{ type: 'days', days: new Set(parseNumericField(field, FIELDS.dayOfMonth, fail)) }];
}

function parseDayOfWeek(field: string, fail: (reason: string) => never): DayOfWeekItem[] {
  const upper = field.toUpperCase();
  // `L` alone is the last day of the week: Saturday (Quartz, which EventBridge follows).
  if (upper === 'L') return [{ type: 'weekdays', weekdays: new Set([7]) }];
  const last = /^([A-Z]+|\d+)L$/.exec(upper);
  if (last) return [{ type: 'lastOfMonth', weekday: parseValue(last[1] ?? '', FIELDS.dayOfWeek, fail) }];
  const nth = /^([A-Z]+|\d+)#(\d+)$/.exec(upper);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) return fail(`"${field}": the # instance must be 1-5`);
    return [{ type: 'nth', weekday: parseValue(nth[1] ?? '', FIELDS.dayOfWeek, fail), nth: n }];
  }
  if (upper.includes('#')) return fail(`"${field}": a "#" item must be the only one in day-of-week`);
  // No weekday name contains an L, so any L left is an nL inside a list.
  if (upper.includes('L')) return fail(`"${field}": L and nL stand alone in the day-of-week field`);
  return [{ type: 'weekdays', weekdays: new Set(parseNumericField(field, FIELDS.dayOfWeek, fail)) }];
}

// ---------------------------------------------------------------------------------------------
// Calendar and time zone helpers
// ---------------------------------------------------------------------------------------------

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Sunday ... 7 = Saturday, as EventBridge numbers them. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (error) {
      throw new InvalidTimeZoneError(timeZone, error);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws {@link InvalidTimeZoneError} unless `timeZone` is a zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** The wall-clock reading of `epochMs` in `timeZone` (seconds precision). */
export function toLocalDateTime(epochMs: number, timeZone: string): LocalDateTime {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year ?? NaN,
    month: fields.month ?? NaN,
    day: fields.day ?? NaN,
    hour: fields.hour ?? NaN,
    minute: fields.minute ?? NaN,
    second: fields.second ?? NaN,
  };
}

function localAsUtc(local: LocalDateTime): number {
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
}

/** The zone's offset from UTC at `epochMs`, in ms (KST: +9 h). */
export function offsetAt(epochMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(epochMs / 1000) * 1000;
  return localAsUtc(toLocalDateTime(wholeSecond, timeZone)) - wholeSecond;
}

function sameWallClock(a: LocalDateTime, b: LocalDateTime): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

/**
 * Every instant whose wall clock in `timeZone` reads `local`, earliest first: one normally, none in a
 * spring-forward gap, two in a fall-back overlap.
 */
export function instantsOf(local: LocalDateTime, timeZone: string): number[] {
  const guess = localAsUtc(local);
  // Offsets a day either side; zones do not change offset twice within two days.
  const before = offsetAt(guess - DAY_MS, timeZone);
  const after = offsetAt(guess + DAY_MS, timeZone);
  if (before === after && offsetAt(guess - before, timeZone) === before) return [guess - before];
  const candidates = [...new Set([guess - before, guess - after])].sort((a, b) => a - b);
  return candidates.filter((instant) => sameWallClock(toLocalDateTime(instant, timeZone), local));
}

/**
 * The instant of a wall-clock time, resolving daylight saving time as most calendars do: in an
 * overlap the earlier instant, in a gap the time pushed forward by the gap's length.
 */
export function fromLocalDateTime(local: LocalDateTime, timeZone: string): number {
  const [first] = instantsOf(local, timeZone);
  if (first !== undefined) return first;
  const guess = localAsUtc(local);
  return guess - offsetAt(guess - DAY_MS, timeZone);
}

/** Parses an {@link Instant}; strings must carry `Z` or an offset so they cannot mean two things. */
export function toEpochMs(instant: Instant): number {
  let ms: number;
  if (typeof instant === 'number') ms = instant;
  else if (instant instanceof Date) ms = instant.getTime();
  else {
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(instant)) {
      throw new RangeError(`instant "${instant}" needs Z or an offset (e.g. 2028-01-31T01:00:00Z)`);
    }
    ms = Date.parse(instant);
  }
  if (!Number.isFinite(ms)) throw new RangeError(`"${String(instant)}" is not an instant`);
  return ms;
}

/** A calendar-aware amount of time; calendar parts are applied first, in the given time zone. */
export interface CalendarDuration {
  readonly years?: number;
  readonly months?: number;
  readonly weeks?: number;
  readonly days?: number;
  readonly hours?: number;
  readonly minutes?: number;
  readonly seconds?: number;
  readonly milliseconds?: number;
}

/**
 * Adds `duration` to `from`: years, months, weeks and days move the wall clock in `timeZone` (a month
 * after Jan 31 is Feb 28 or 29, like every calendar library), then hours and smaller are added as
 * elapsed time.
 */
export function addCalendarDuration(from: number, duration: CalendarDuration, timeZone: string): number {
  const { years = 0, months = 0, weeks = 0, days = 0 } = duration;
  let result = from;
  if (years !== 0 || months !== 0 || weeks !== 0 || days !== 0) {
    const local = toLocalDateTime(from, timeZone);
    const monthIndex = local.year * 12 + (local.month - 1) + years * 12 + months;
    const year = Math.floor(monthIndex / 12);
    const month = monthIndex - year * 12 + 1;
    const day = Math.min(local.day, daysInMonth(year, month));
    const shifted = new Date(Date.UTC(year, month - 1, day + weeks * 7 + days));
    const msWithinSecond = from - Math.floor(from / 1000) * 1000;
    result =
      fromLocalDateTime(
        {
          year: shifted.getUTCFullYear(),
          month: shifted.getUTCMonth() + 1,
          day: shifted.getUTCDate(),
          hour: local.hour,
          minute: local.minute,
          second: local.second,
        },
        timeZone,
      ) + msWithinSecond;
  }
  const { hours = 0, minutes = 0, seconds = 0, milliseconds = 0 } = duration;
  return result + hours * HOUR_MS + minutes * MINUTE_MS + seconds * 1000 + milliseconds;
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

function dayOfMonthMatches(item: DayOfMonthItem, year: number, month: number, day: number): boolean {
  const lastDay = daysInMonth(year, month);
  switch (item.type) {
    case 'days':
      return item.days.has(day);
    case 'last':
      return day === lastDay;
    case 'lastWeekday':
      return day === nearestWeekday(year, month, lastDay);
    case 'nearestWeekday':
      // Quartz: "31W" in a 30-day month matches nothing that month.
      return item.day <= lastDay && day === nearestWeekday(year, month, item.day);
  }
}

/** The weekday (MON-FRI) nearest to `day`, never leaving the month (Quartz's `W`). */
function nearestWeekday(year: number, month: number, day: number): number {
  const weekday = weekdayOf(year, month, day);
  const lastDay = daysInMonth(year, month);
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (weekday === 1) return day === lastDay ? day - 2 : day + 1; // Sunday: Monday, or Friday before
  return day;
}

function dayOfWeekMatches(item: DayOfWeekItem, year: number, month: number, day: number): boolean {
  const weekday = weekdayOf(year, month, day);
  switch (item.type) {
    case 'weekdays':
      return item.weekdays.has(weekday);
    case 'lastOfMonth':
      return weekday === item.weekday && day + 7 > daysInMonth(year, month);
    case 'nth':
      return weekday === item.weekday && Math.ceil(day / 7) === item.nth;
  }
}

function dayMatches(cron: CronSchedule, year: number, month: number, day: number): boolean {
  if (cron.daysOfMonth) return cron.daysOfMonth.some((item) => dayOfMonthMatches(item, year, month, day));
  if (cron.daysOfWeek) return cron.daysOfWeek.some((item) => dayOfWeekMatches(item, year, month, day));
  return false;
}

/** Whether the wall-clock minute `local` (seconds ignored) is one the cron expression names. */
export function cronMatchesLocal(cron: CronSchedule, local: LocalDateTime): boolean {
  return (
    cron.years.includes(local.year) &&
    cron.months.includes(local.month) &&
    cron.hours.includes(local.hour) &&
    cron.minutes.includes(local.minute) &&
    dayMatches(cron, local.year, local.month, local.day)
  );
}

function wallClockKey(year: number, month: number, day: number, hour: number, minute: number): number {
  return (((year * 13 + month) * 32 + day) * 24 + hour) * 60 + minute;
}

function nextCron(cron: CronSchedule, timeZone: string, after: number): number | undefined {
  // A wall-clock time fires at its first instant and gap times are skipped, so the instants of
  // candidate wall-clock times grow with the wall-clock times themselves: nothing earlier on the wall
  // clock than `after`'s own reading can fire after it, and the first candidate later than `after`
  // in wall-clock order is the answer.
  const floor = toLocalDateTime(after, timeZone);
  const floorKey = wallClockKey(floor.year, floor.month, floor.day, floor.hour, floor.minute);
  for (const year of cron.years) {
    if (year < floor.year) continue;
    for (const month of cron.months) {
      if (year === floor.year && month < floor.month) continue;
      const lastDay = daysInMonth(year, month);
      const firstDay = year === floor.year && month === floor.month ? floor.day : 1;
      for (let day = firstDay; day <= lastDay; day++) {
        if (!dayMatches(cron, year, month, day)) continue;
        for (const hour of cron.hours) {
          for (const minute of cron.minutes) {
            if (wallClockKey(year, month, day, hour, minute) < floorKey) continue;
            // A wall-clock time that does not exist (spring forward) is skipped; one that happens
            // twice (fall back) fires once, at its first instant. That is EventBridge Scheduler's rule.
            const [instant] = instantsOf({ year, month, day, hour, minute, second: 0 }, timeZone);
            if (instant !== undefined && instant > after) return instant;
          }
        }
      }
    }
  }
  return undefined;
}

export interface OccurrenceOptions {
  /**
   * For `rate(...)`: occurrences are `anchor + k × period` for k ≥ 1. Defaults to `after`, which is
   * what a schedule created at `after` does. Ignored by cron and at.
   */
  readonly anchor?: Instant;
}

/**
 * The first occurrence of `schedule` strictly after `after` (epoch ms), or undefined when there is
 * none (an `at` in the past, a cron whose years are over, Feb 30).
 */
export function nextOccurrence(
  schedule: ParsedScheduleExpression,
  timeZone: string,
  after: number,
  options: OccurrenceOptions = {},
): number | undefined {
  switch (schedule.kind) {
    case 'cron':
      return nextCron(schedule, timeZone, after);
    case 'rate': {
      const anchor = options.anchor === undefined ? after : toEpochMs(options.anchor);
      const k = Math.max(1, Math.floor((after - anchor) / schedule.periodMs) + 1);
      return anchor + k * schedule.periodMs;
    }
    case 'at': {
      const instant = fromLocalDateTime(schedule.local, timeZone);
      return instant > after ? instant : undefined;
    }
  }
}

/**
 * The next `count` occurrences of an EventBridge Scheduler expression strictly after `after`, as epoch
 * milliseconds in increasing order, evaluated in the IANA `timeZone`. Fewer when the schedule ends.
 * Throws {@link InvalidScheduleExpressionError} or {@link InvalidTimeZoneError} on bad input.
 */
export function nextOccurrences(
  expression: string | ParsedScheduleExpression,
  timeZone: string,
  after: Instant,
  count: number,
  options: OccurrenceOptions = {},
): number[] {
  const schedule = typeof expression === 'string' ? parseScheduleExpression(expression) : expression;
  assertTimeZone(timeZone);
  const start = toEpochMs(after);
  const anchor = options.anchor ?? start;
  const result: number[] = [];
  let cursor = start;
  while (result.length < count) {
    const next = nextOccurrence(schedule, timeZone, cursor, { anchor });
    if (next === undefined) break;
    result.push(next);
    cursor = next;
  }
  return result;
}

/**
 * Whether `instant` is an occurrence of the expression: for cron, a whole minute whose wall clock in
 * `timeZone` the fields name (the second instant of a fall-back hour matches too, though it never
 * fires); for rate, `anchor + k × period` with k ≥ 1; for at, its instant.
 */
export function matchesScheduleExpression(
  expression: string | ParsedScheduleExpression,
  timeZone: string,
  instant: Instant,
  options: OccurrenceOptions = {},
): boolean {
  const schedule = typeof expression === 'string' ? parseScheduleExpression(expression) : expression;
  const ms = toEpochMs(instant);
  switch (schedule.kind) {
    case 'cron': {
      const local = toLocalDateTime(ms, timeZone);
      return ms % 1000 === 0 && local.second === 0 && cronMatchesLocal(schedule, local);
    }
    case 'rate': {
      if (options.anchor === undefined) throw new RangeError('a rate expression needs an anchor to match');
      const elapsed = ms - toEpochMs(options.anchor);
      return elapsed > 0 && elapsed % schedule.periodMs === 0;
    }
    case 'at':
      return ms === fromLocalDateTime(schedule.local, timeZone);
  }
}
