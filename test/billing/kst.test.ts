import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  addDays,
  addMonthsClamped,
  calendarDate,
  daysBetween,
  daysInMonth,
  formatCompactDate,
  formatIsoDate,
  formatKstInstant,
  fromEpochDay,
  InvalidCalendarDateError,
  InvalidTimeOfDayError,
  isoWeekday,
  kstCompactDateOf,
  kstDateOf,
  kstDateTimeOf,
  kstInstant,
  nextKstTimeOfDay,
  parseCompactDate,
  parseIsoDate,
  parseTimeOfDay,
  toEpochDay,
} from '../../functions/billing/index.ts';
import { kst } from './factories.ts';

describe('KST calendar dates', () => {
  test('February has 29 days in leap years (2028, 2000) and 28 otherwise (2027, 2100)', () => {
    expect(daysInMonth(2028, 2)).toBe(29);
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(daysInMonth(2027, 2)).toBe(28);
    expect(daysInMonth(2100, 2)).toBe(28);
    expect([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((m) => daysInMonth(2027, m))).toEqual([
      31, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]);
  });

  test('dates that do not exist, or lie outside 2000-9999, are refused', () => {
    for (const [y, m, d] of [
      [2027, 2, 29],
      [2027, 4, 31],
      [2027, 13, 1],
      [2027, 0, 1],
      [2027, 1, 0],
      [1999, 12, 31],
      [2027, 1.5, 1],
    ] as const) {
      expect(() => calendarDate(y, m, d)).toThrow(InvalidCalendarDateError);
    }
    expect(calendarDate(2028, 2, 29)).toEqual({ year: 2028, month: 2, day: 29 });
  });

  test('compact YYYYMMDD and ISO YYYY-MM-DD round-trip and reject non-dates', () => {
    const date = calendarDate(2027, 3, 9);
    expect(formatCompactDate(date)).toBe('20270309');
    expect(formatIsoDate(date)).toBe('2027-03-09');
    expect(parseCompactDate('20270309')).toEqual(date);
    expect(parseIsoDate('2027-03-09')).toEqual(date);
    for (const bad of ['20270229', '2027039', '2027-03-09', 'abcdefgh', '']) {
      expect(() => parseCompactDate(bad)).toThrow(InvalidCalendarDateError);
    }
    expect(() => parseIsoDate('20270309')).toThrow(InvalidCalendarDateError);
  });

  test('day arithmetic crosses months, years and leap days', () => {
    expect(addDays(calendarDate(2028, 2, 28), 1)).toEqual(calendarDate(2028, 2, 29));
    expect(addDays(calendarDate(2027, 2, 28), 1)).toEqual(calendarDate(2027, 3, 1));
    expect(addDays(calendarDate(2027, 12, 31), 1)).toEqual(calendarDate(2028, 1, 1));
    expect(addDays(calendarDate(2027, 3, 1), -1)).toEqual(calendarDate(2027, 2, 28));
    expect(daysBetween(calendarDate(2028, 1, 1), calendarDate(2029, 1, 1))).toBe(366);
    expect(isoWeekday(calendarDate(2027, 3, 1))).toBe(1); // a Monday
    expect(isoWeekday(calendarDate(2027, 3, 7))).toBe(7);
  });

  test('adding months clamps to short months without remembering the clamp', () => {
    const jan31 = calendarDate(2027, 1, 31);
    expect(addMonthsClamped(jan31, 1)).toEqual(calendarDate(2027, 2, 28));
    expect(addMonthsClamped(jan31, 13)).toEqual(calendarDate(2028, 2, 29));
    expect(addMonthsClamped(jan31, 2)).toEqual(calendarDate(2027, 3, 31));
    expect(addMonthsClamped(calendarDate(2027, 3, 31), -1)).toEqual(calendarDate(2027, 2, 28));
  });

  test('an instant converts to its KST date and time, nine hours ahead of UTC', () => {
    const instant = Date.parse('2027-03-30T15:00:00Z');
    expect(kstDateOf(instant)).toEqual(calendarDate(2027, 3, 31));
    expect(kstCompactDateOf(instant)).toBe('20270331');
    expect(kstDateTimeOf(instant)).toMatchObject({ hour: 0, minute: 0, second: 0 });
    expect(kstDateOf(instant - 1)).toEqual(calendarDate(2027, 3, 30));
    expect(formatKstInstant(instant)).toBe('2027-03-31T00:00:00+09:00');
  });

  test('a KST date and time converts to its instant', () => {
    expect(new Date(kstInstant(calendarDate(2027, 3, 31), { hour: 10, minute: 0 })).toISOString()).toBe(
      '2027-03-31T01:00:00.000Z',
    );
    expect(new Date(kstInstant(calendarDate(2028, 1, 1), { hour: 0, minute: 30 })).toISOString()).toBe(
      '2027-12-31T15:30:00.000Z',
    );
  });

  test('the next occurrence of a time of day is today when it is still ahead, else tomorrow', () => {
    const ten = { hour: 10, minute: 0 };
    expect(nextKstTimeOfDay(kst('2027-03-31 09:59'), ten)).toBe(kst('2027-03-31 10:00'));
    expect(nextKstTimeOfDay(kst('2027-03-31 10:00'), ten)).toBe(kst('2027-03-31 10:00'));
    expect(nextKstTimeOfDay(kst('2027-03-31 10:00:01'), ten)).toBe(kst('2027-04-01 10:00'));
  });

  test('times of day are HH:MM, 00:00-23:59', () => {
    expect(parseTimeOfDay('09:05')).toEqual({ hour: 9, minute: 5 });
    for (const bad of ['24:00', '9:05', '12:60', '1200', '']) {
      expect(() => parseTimeOfDay(bad)).toThrow(InvalidTimeOfDayError);
    }
  });

  test('property: KST date and instant conversions agree with the platform ISO parser', () => {
    fc.assert(
      fc.property(
        fc.integer({
          min: toEpochDay(calendarDate(2000, 1, 2)),
          max: toEpochDay(calendarDate(9998, 12, 30)),
        }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (epochDay, hour, minute) => {
          const date = fromEpochDay(epochDay);
          const instant = kstInstant(date, { hour, minute });
          const hh = String(hour).padStart(2, '0');
          const mm = String(minute).padStart(2, '0');
          expect(instant).toBe(Date.parse(`${formatIsoDate(date)}T${hh}:${mm}:00+09:00`));
          expect(kstDateOf(instant)).toEqual(date);
          expect(parseCompactDate(formatCompactDate(date))).toEqual(date);
        },
      ),
    );
  });
});
