import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  addCalendarDuration,
  InvalidScheduleExpressionError,
  InvalidTimeZoneError,
  matchesScheduleExpression,
  nextOccurrences,
  parseScheduleExpression,
  toEpochMs,
} from '../../local/schedule-expression.ts';

const SEOUL = 'Asia/Seoul';
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const next = (expression: string, timeZone: string, after: string, count: number): string[] =>
  nextOccurrences(expression, timeZone, after, count).map(iso);

describe('cron expressions in Asia/Seoul', () => {
  test('cron(0 10 * * ? *) fires at 10:00 KST, which is 01:00 UTC, every day', () => {
    expect(next('cron(0 10 * * ? *)', SEOUL, '2028-01-30T00:00:00Z', 3)).toEqual([
      '2028-01-30T01:00:00Z',
      '2028-01-31T01:00:00Z',
      '2028-02-01T01:00:00Z',
    ]);
  });

  test('cron(0 9 L * ? *) fires on the last day of each month, Feb 29 in the leap year 2028', () => {
    expect(next('cron(0 9 L * ? *)', SEOUL, '2028-01-01T00:00:00+09:00', 4)).toEqual([
      '2028-01-31T00:00:00Z',
      '2028-02-29T00:00:00Z',
      '2028-03-31T00:00:00Z',
      '2028-04-30T00:00:00Z',
    ]);
    expect(next('cron(0 9 L FEB ? *)', SEOUL, '2027-01-01T00:00:00Z', 2)).toEqual([
      '2027-02-28T00:00:00Z',
      '2028-02-29T00:00:00Z',
    ]);
  });

  test('cron(30 0 1 * ? *) is 00:30 KST on the 1st, i.e. 15:30 UTC on the last day of the month before', () => {
    expect(next('cron(30 0 1 * ? *)', SEOUL, '2028-01-15T00:00:00Z', 3)).toEqual([
      '2028-01-31T15:30:00Z',
      '2028-02-29T15:30:00Z',
      '2028-03-31T15:30:00Z',
    ]);
  });

  test.each([
    // Increments and ranges.
    ['cron(0/10 * * * ? *)', '2028-01-01T00:05:00+09:00', ['00:10', '00:20', '00:30']],
    ['cron(*/20 * * * ? *)', '2028-01-01T00:05:00+09:00', ['00:20', '00:40', '01:00']],
    ['cron(5/20 * * * ? *)', '2028-01-01T00:00:00+09:00', ['00:05', '00:25', '00:45']],
    ['cron(10-20/5 3 * * ? *)', '2028-01-01T00:00:00+09:00', ['03:10', '03:15', '03:20']],
    ['cron(0 8,12,18 * * ? *)', '2028-01-01T00:00:00+09:00', ['08:00', '12:00', '18:00']],
    ['cron(0 22-23 * * ? *)', '2028-01-01T00:00:00+09:00', ['22:00', '23:00', '22:00']],
  ])('%s', (expression, after, expected) => {
    const times = nextOccurrences(expression, SEOUL, after, 3).map((ms) =>
      new Date(ms + 9 * 3600_000).toISOString().slice(11, 16),
    );
    expect(times).toEqual(expected);
  });

  test.each([
    // 2028-01-01 is a Saturday.
    [
      'cron(0 10 ? * MON-FRI *)',
      ['2028-01-03', '2028-01-04', '2028-01-05', '2028-01-06', '2028-01-07', '2028-01-10'],
    ],
    [
      'cron(0 10 ? * 1,7 *)',
      ['2028-01-01', '2028-01-02', '2028-01-08', '2028-01-09', '2028-01-15', '2028-01-16'],
    ],
    [
      'cron(0 10 ? * 6L *)',
      ['2028-01-28', '2028-02-25', '2028-03-31', '2028-04-28', '2028-05-26', '2028-06-30'],
    ],
    [
      'cron(0 10 ? * 3#2 *)',
      ['2028-01-11', '2028-02-08', '2028-03-14', '2028-04-11', '2028-05-09', '2028-06-13'],
    ],
    [
      'cron(0 10 ? * L *)',
      ['2028-01-01', '2028-01-08', '2028-01-15', '2028-01-22', '2028-01-29', '2028-02-05'],
    ],
    // 1W: Jan 1 is a Saturday, so the Monday 3rd; Apr 1 is a Saturday too; Jul 1 a Saturday.
    [
      'cron(0 10 1W * ? *)',
      ['2028-01-03', '2028-02-01', '2028-03-01', '2028-04-03', '2028-05-01', '2028-06-01'],
    ],
    // 15W: Jan 15 2028 is a Saturday → Friday 14th; Oct 15 is a Sunday → Monday 16th.
    ['cron(0 10 15W JAN,OCT ? 2028)', ['2028-01-14', '2028-10-16']],
    // LW: Apr 30 2028 is a Sunday → Friday 28th; Sep 30 is a Saturday → Friday 29th.
    [
      'cron(0 10 LW APR,SEP ? *)',
      ['2028-04-28', '2028-09-29', '2029-04-30', '2029-09-28', '2030-04-30', '2030-09-30'],
    ],
    [
      'cron(0 10 31 * ? *)',
      ['2028-01-31', '2028-03-31', '2028-05-31', '2028-07-31', '2028-08-31', '2028-10-31'],
    ],
    [
      'cron(0 10 1 JAN-MAR ? 2028-2029)',
      ['2028-01-01', '2028-02-01', '2028-03-01', '2029-01-01', '2029-02-01', '2029-03-01'],
    ],
  ])('%s fires on the right days', (expression, days) => {
    const dates = nextOccurrences(expression, SEOUL, '2027-12-31T15:00:00Z', 6).map((ms) =>
      new Date(ms + 9 * 3600_000).toISOString().slice(0, 10),
    );
    expect(dates).toEqual(days);
  });

  test('an expression that names no real day ends instead of looping', () => {
    expect(nextOccurrences('cron(0 0 30 FEB ? *)', SEOUL, '2028-01-01T00:00:00Z', 3)).toEqual([]);
    expect(next('cron(0 0 1 1 ? 2199)', SEOUL, '2100-01-01T00:00:00Z', 3)).toEqual(['2198-12-31T15:00:00Z']);
  });
});

describe('time zones', () => {
  test('the same cron is read in the zone it is given', () => {
    expect(next('cron(0 10 * * ? *)', 'UTC', '2028-01-30T00:00:00Z', 1)).toEqual(['2028-01-30T10:00:00Z']);
    expect(next('cron(0 10 * * ? *)', 'Asia/Kolkata', '2028-01-30T00:00:00Z', 1)).toEqual([
      '2028-01-30T04:30:00Z',
    ]);
  });

  test('daylight saving time follows EventBridge Scheduler: a skipped time does not fire, a repeated time fires once', () => {
    // New York springs forward at 02:00 on 2028-03-12: there is no 02:30 that day.
    expect(next('cron(30 2 * * ? *)', 'America/New_York', '2028-03-11T00:00:00Z', 3)).toEqual([
      '2028-03-11T07:30:00Z',
      '2028-03-13T06:30:00Z',
      '2028-03-14T06:30:00Z',
    ]);
    // It falls back at 02:00 on 2028-11-05: 01:30 happens twice and fires at the first.
    expect(next('cron(30 1 * * ? *)', 'America/New_York', '2028-11-04T00:00:00Z', 3)).toEqual([
      '2028-11-04T05:30:00Z',
      '2028-11-05T05:30:00Z',
      '2028-11-06T06:30:00Z',
    ]);
  });

  test('an unknown zone is refused', () => {
    expect(() => nextOccurrences('cron(0 10 * * ? *)', 'Asia/Nowhere', 0, 1)).toThrow(InvalidTimeZoneError);
  });

  test('instants written without Z or an offset are refused, because they could mean two things', () => {
    expect(() => toEpochMs('2028-01-31T10:00:00')).toThrow(/needs Z or an offset/);
    expect(toEpochMs('2028-01-31T10:00:00+09:00')).toBe(Date.parse('2028-01-31T01:00:00Z'));
  });
});

describe('rate and at', () => {
  test('rate(n unit) repeats from its anchor, a day being 24 hours', () => {
    expect(next('rate(5 minutes)', SEOUL, '2028-01-01T00:00:00Z', 3)).toEqual([
      '2028-01-01T00:05:00Z',
      '2028-01-01T00:10:00Z',
      '2028-01-01T00:15:00Z',
    ]);
    const anchored = nextOccurrences('rate(2 hours)', SEOUL, '2028-01-01T05:00:00Z', 2, {
      anchor: '2028-01-01T00:30:00Z',
    });
    expect(anchored.map(iso)).toEqual(['2028-01-01T06:30:00Z', '2028-01-01T08:30:00Z']);
    expect(next('rate(1 day)', 'America/New_York', '2028-03-11T12:00:00Z', 2)).toEqual([
      '2028-03-12T12:00:00Z',
      '2028-03-13T12:00:00Z',
    ]);
  });

  test('at(...) fires once, at the wall-clock time in the schedule zone', () => {
    expect(next('at(2028-02-29T10:00:00)', SEOUL, '2028-01-01T00:00:00Z', 3)).toEqual([
      '2028-02-29T01:00:00Z',
    ]);
    expect(next('at(2028-02-29T10:00:00)', SEOUL, '2028-02-29T01:00:00Z', 1)).toEqual([]);
  });
});

describe('invalid expressions', () => {
  test.each([
    ['cron(0 10 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 10 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 10 * * ?)', /6 fields/],
    ['cron(60 10 * * ? *)', /60 is outside 0-59 in the minutes field/],
    ['cron(0 24 * * ? *)', /outside 0-23/],
    ['cron(0 10 0 * ? *)', /outside 1-31/],
    ['cron(0 10 * 13 ? *)', /outside 1-12/],
    ['cron(0 10 ? * 8 *)', /outside 1-7/],
    ['cron(0 10 * * ? 1969)', /outside 1970-2199/],
    ['cron(0 10 5-1 * ? *)', /runs backwards/],
    ['cron(0 10 ? * 1/2 *)', /"\/" is not allowed in the day-of-week field/],
    ['cron(0 10 ? * 3#1,6#3 *)', /must be the only one/],
    ['cron(0 10 ? * 3#6 *)', /1-5/],
    ['cron(0 10 L,15 * ? *)', /stand alone/],
    ['cron(0 10 ? * 6L,2 *)', /stand alone/],
    ['cron(0/0 10 * * ? *)', /positive integer/],
    ['cron(0 ? * * ? *)', /only allowed alone in day-of-month or day-of-week/],
    ['cron(0 10 * FOO ? *)', /"FOO" is not a value in the month field/],
    ['rate(1 minutes)', /singular/],
    ['rate(5 minute)', /plural/],
    ['rate(0 minutes)', /positive integer/],
    ['rate(5 seconds)', /unknown rate unit/],
    ['rate(minutes)', /value unit/],
    ['at(2028-02-30T10:00:00)', /no such date/],
    ['at(2028-02-28 10:00:00)', /yyyy-mm-ddThh:mm:ss/],
    ['every day at ten', /expected cron\(...\), rate\(...\) or at\(...\)/],
  ])('%s is refused with a reason', (expression, reason) => {
    expect(() => parseScheduleExpression(expression)).toThrow(InvalidScheduleExpressionError);
    expect(() => parseScheduleExpression(expression)).toThrow(reason);
  });

  test('names are case-insensitive, as in EventBridge', () => {
    expect(parseScheduleExpression('cron(0 10 ? jan-mar mon-fri *)')).toMatchObject({ months: [1, 2, 3] });
  });
});

describe('calendar arithmetic', () => {
  test('a month after Jan 31 KST is the last day of February, then the anchor-free Mar 29', () => {
    const jan31 = toEpochMs('2028-01-31T10:00:00+09:00');
    const feb = addCalendarDuration(jan31, { months: 1 }, SEOUL);
    expect(iso(feb)).toBe('2028-02-29T01:00:00Z');
    expect(iso(addCalendarDuration(feb, { months: 1 }, SEOUL))).toBe('2028-03-29T01:00:00Z');
    expect(iso(addCalendarDuration(jan31, { months: 2 }, SEOUL))).toBe('2028-03-31T01:00:00Z');
    expect(iso(addCalendarDuration(jan31, { years: 1, months: 1 }, SEOUL))).toBe('2029-02-28T01:00:00Z');
  });

  test('days are calendar days in the zone, hours are elapsed time', () => {
    const start = toEpochMs('2028-03-11T12:00:00-05:00');
    expect(iso(addCalendarDuration(start, { days: 1 }, 'America/New_York'))).toBe('2028-03-12T16:00:00Z');
    expect(iso(addCalendarDuration(start, { hours: 24 }, 'America/New_York'))).toBe('2028-03-12T17:00:00Z');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const numberItem = (min: number, max: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min, max }).map(String),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
      .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: max - min + 1 }))
      .map(([a, step]) => `${a}/${step}`),
    fc.integer({ min: 1, max: max - min + 1 }).map((step) => `*/${step}`),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 10 }))
      .map(([a, b, step]) => `${Math.min(a, b)}-${Math.max(a, b)}/${step}`),
  );
const numberField = (min: number, max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant('*') },
    { weight: 3, arbitrary: numberItem(min, max) },
    {
      weight: 1,
      arbitrary: fc
        .array(numberItem(min, max), { minLength: 2, maxLength: 3 })
        .map((items) => items.join(',')),
    },
  );
const dayOfMonthField = fc.oneof(
  { weight: 3, arbitrary: numberField(1, 31) },
  { weight: 1, arbitrary: fc.constantFrom('L', 'LW') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 31 }).map((day) => `${day}W`) },
);
const weekdayToken = fc.oneof(
  fc.integer({ min: 1, max: 7 }).map(String),
  fc.constantFrom('SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'),
);
const dayOfWeekField = fc.oneof(
  { weight: 2, arbitrary: fc.constant('*') },
  {
    weight: 2,
    arbitrary: fc.array(weekdayToken, { minLength: 1, maxLength: 3 }).map((items) => items.join(',')),
  },
  { weight: 1, arbitrary: fc.tuple(weekdayToken, weekdayToken).map(([a, b]) => `${a}-${b}`) },
  { weight: 1, arbitrary: weekdayToken.map((day) => `${day}L`) },
  {
    weight: 1,
    arbitrary: fc.tuple(weekdayToken, fc.integer({ min: 1, max: 5 })).map(([day, n]) => `${day}#${n}`),
  },
  { weight: 1, arbitrary: fc.constant('L') },
);
const cronExpression = fc
  .tuple(
    numberField(0, 59),
    numberField(0, 23),
    fc.boolean(),
    dayOfMonthField,
    dayOfWeekField,
    fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: numberField(1, 12) }),
    fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: numberField(2027, 2030) }),
  )
  .map(([minutes, hours, byMonthDay, dom, dow, month, year]) =>
    byMonthDay
      ? `cron(${minutes} ${hours} ${dom} ${month} ? ${year})`
      : `cron(${minutes} ${hours} ? ${month} ${dow} ${year})`,
  )
  .filter((expression) => {
    try {
      parseScheduleExpression(expression);
      return true;
    } catch {
      return false; // e.g. a generated range that runs backwards, like MON-SUN
    }
  });
const instant = fc.integer({
  min: Date.parse('2027-01-01T00:00:00Z'),
  max: Date.parse('2030-12-31T00:00:00Z'),
});
const fixedOffsetZone = fc.constantFrom(SEOUL, 'UTC', 'Asia/Kolkata');
const anyZone = fc.constantFrom(
  SEOUL,
  'UTC',
  'Asia/Kolkata',
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe',
);

describe('properties', () => {
  test('occurrences are strictly increasing, later than the start, and each matches the expression', () => {
    fc.assert(
      fc.property(cronExpression, anyZone, instant, (expression, timeZone, after) => {
        const occurrences = nextOccurrences(expression, timeZone, after, 12);
        let previous = after;
        for (const occurrence of occurrences) {
          expect(occurrence).toBeGreaterThan(previous);
          expect(matchesScheduleExpression(expression, timeZone, occurrence)).toBe(true);
          previous = occurrence;
        }
      }),
      { numRuns: 300 },
    );
  });

  test('no matching minute is skipped: a minute-by-minute scan finds exactly the occurrences', () => {
    fc.assert(
      fc.property(cronExpression, fixedOffsetZone, instant, (expression, timeZone, after) => {
        const start = Math.floor(after / 60_000) * 60_000;
        const end = start + 24 * 3600_000;
        const scanned: number[] = [];
        for (let minute = start + 60_000; minute <= end; minute += 60_000) {
          if (minute > after && matchesScheduleExpression(expression, timeZone, minute)) scanned.push(minute);
          if (scanned.length === 20) break;
        }
        const found = nextOccurrences(expression, timeZone, after, scanned.length + 1).filter(
          (t) => t <= end,
        );
        expect(found.slice(0, scanned.length)).toEqual(scanned);
        if (scanned.length < 20) expect(found).toEqual(scanned);
      }),
      { numRuns: 50 },
    );
  });

  test('L, W and # pick the days a naive calendar walk picks', () => {
    const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
    const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;
    const isWorkday = (y: number, m: number, d: number) => weekday(y, m, d) >= 2 && weekday(y, m, d) <= 6;
    // Independent reading of Quartz's W: the nearest workday in the month, searching d, d-1, d+1, d-2, d+2.
    const nearestWorkday = (y: number, m: number, d: number): number | undefined => {
      if (d > lastDay(y, m)) return undefined;
      for (const candidate of [d, d - 1, d + 1, d - 2, d + 2]) {
        if (candidate >= 1 && candidate <= lastDay(y, m) && isWorkday(y, m, candidate)) return candidate;
      }
      return undefined;
    };
    const special = fc.oneof(
      fc.constant({ dom: 'L', oracle: (y: number, m: number, d: number) => d === lastDay(y, m) }),
      fc.constant({
        dom: 'LW',
        oracle: (y: number, m: number, d: number) => d === nearestWorkday(y, m, lastDay(y, m)),
      }),
      fc.integer({ min: 1, max: 31 }).map((n) => ({
        dom: `${n}W`,
        oracle: (y: number, m: number, d: number) => d === nearestWorkday(y, m, n),
      })),
      fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 })).map(([w, n]) => ({
        dow: `${w}#${n}`,
        oracle: (y: number, m: number, d: number) => {
          const matching = Array.from({ length: lastDay(y, m) }, (_, i) => i + 1).filter(
            (x) => weekday(y, m, x) === w,
          );
          return matching[n - 1] === d;
        },
      })),
      fc.integer({ min: 1, max: 7 }).map((w) => ({
        dow: `${w}L`,
        oracle: (y: number, m: number, d: number) => {
          const matching = Array.from({ length: lastDay(y, m) }, (_, i) => i + 1).filter(
            (x) => weekday(y, m, x) === w,
          );
          return matching.at(-1) === d;
        },
      })),
    );
    fc.assert(
      fc.property(special, fc.integer({ min: 2027, max: 2032 }), (rule, year) => {
        const expression =
          'dom' in rule ? `cron(0 0 ${rule.dom} * ? ${year})` : `cron(0 0 ? * ${rule.dow} ${year})`;
        const expected: string[] = [];
        for (let m = 1; m <= 12; m++) {
          for (let d = 1; d <= lastDay(year, m); d++) {
            if (rule.oracle(year, m, d))
              expected.push(new Date(Date.UTC(year, m - 1, d)).toISOString().slice(0, 10));
          }
        }
        const found = nextOccurrences(expression, 'UTC', Date.UTC(year, 0, 1) - 1, 400).map((ms) =>
          new Date(ms).toISOString().slice(0, 10),
        );
        expect(found).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
