import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  billingDate,
  billingSchedule,
  calendarDate,
  chargeInstant,
  chargeTimeOfDay,
  ChargeTimeInMaintenanceWindowError,
  daysInMonth,
  earliestChargeInstant,
  firstAnchorDateOnOrAfter,
  formatIsoDate,
  fromEpochDay,
  InvalidScheduleError,
  isInstantInBankMaintenanceWindow,
  monthGuardFor,
  nextPeriodAfter,
  periodCoverage,
  periodIndexDueAt,
  periodKey,
  PeriodOutOfRangeError,
  toEpochDay,
  unusedAmount,
  type BillingInterval,
  type BillingSchedule,
  type CalendarDate,
} from '../../functions/billing/index.ts';
import { kst } from './factories.ts';

const date = (iso: string): CalendarDate => {
  const [y, m, d] = iso.split('-').map(Number);
  return calendarDate(y!, m!, d!);
};
const monthly = (first: string, anchorDay: number, count = 1): BillingSchedule =>
  billingSchedule({ unit: 'month', count, anchorDay }, date(first));
const dates = (schedule: BillingSchedule, periods: number): string[] =>
  Array.from({ length: periods }, (_, n) => formatIsoDate(billingDate(schedule, n)));

describe('monthly billing dates', () => {
  test('anchor 31 clamps to Feb 29 in a leap year and returns to the 31st', () => {
    expect(dates(monthly('2028-01-31', 31), 7)).toEqual([
      '2028-01-31',
      '2028-02-29',
      '2028-03-31',
      '2028-04-30',
      '2028-05-31',
      '2028-06-30',
      '2028-07-31',
    ]);
  });

  test('anchor 31 clamps to Feb 28 in a common year and returns to the 31st', () => {
    expect(dates(monthly('2027-01-31', 31), 4)).toEqual([
      '2027-01-31',
      '2027-02-28',
      '2027-03-31',
      '2027-04-30',
    ]);
  });

  test.each([
    [30, '2027', ['2027-01-30', '2027-02-28', '2027-03-30', '2027-04-30']],
    [30, '2028', ['2028-01-30', '2028-02-29', '2028-03-30', '2028-04-30']],
    [29, '2027', ['2027-01-29', '2027-02-28', '2027-03-29', '2027-04-29']],
    [29, '2028', ['2028-01-29', '2028-02-29', '2028-03-29', '2028-04-29']],
    [28, '2027', ['2027-01-28', '2027-02-28', '2027-03-28', '2027-04-28']],
    [28, '2028', ['2028-01-28', '2028-02-28', '2028-03-28', '2028-04-28']],
  ])('anchor %i in %s', (anchor, year, expected) => {
    expect(dates(monthly(`${year}-01-${anchor}`, anchor), 4)).toEqual(expected);
  });

  test('a subscription that starts on a clamped day keeps its anchor (Feb 28 with anchor 31 → Mar 31)', () => {
    expect(dates(monthly('2027-02-28', 31), 3)).toEqual(['2027-02-28', '2027-03-31', '2027-04-30']);
  });

  test('every two months from Dec 31 crosses the leap February and returns to the 31st', () => {
    expect(dates(monthly('2027-12-31', 31, 2), 5)).toEqual([
      '2027-12-31',
      '2028-02-29',
      '2028-04-30',
      '2028-06-30',
      '2028-08-31',
    ]);
  });

  test('the period key is the KST billing date YYYYMMDD', () => {
    expect(periodKey(monthly('2027-01-31', 31), 1)).toBe('20270228');
  });

  test('a first billing date off the anchor, a bad anchor or count is refused', () => {
    expect(() => monthly('2027-03-30', 31)).toThrow(InvalidScheduleError);
    expect(() => monthly('2027-03-31', 32)).toThrow(InvalidScheduleError);
    expect(() => monthly('2027-03-31', 31, 0)).toThrow(InvalidScheduleError);
    expect(() => monthly('2027-03-31', 31, 1.5)).toThrow(InvalidScheduleError);
    expect(() => billingDate(monthly('2027-03-31', 31), -1)).toThrow(PeriodOutOfRangeError);
  });

  test('the first anchor date on or after a day: this month when still ahead, else next month clamped', () => {
    const onThe31st: BillingInterval = { unit: 'month', count: 1, anchorDay: 31 };
    const onThe1st: BillingInterval = { unit: 'month', count: 1, anchorDay: 1 };
    expect(firstAnchorDateOnOrAfter(onThe31st, date('2027-02-10'))).toEqual(date('2027-02-28'));
    expect(firstAnchorDateOnOrAfter(onThe1st, date('2027-02-10'))).toEqual(date('2027-03-01'));
    expect(firstAnchorDateOnOrAfter(onThe1st, date('2027-12-01'))).toEqual(date('2027-12-01'));
    expect(firstAnchorDateOnOrAfter(onThe1st, date('2027-12-02'))).toEqual(date('2028-01-01'));
  });

  test("Payple's month guard names the billing date's month, for monthly schedules only", () => {
    expect(monthGuardFor(monthly('2027-01-31', 31), 1)).toEqual({ year: 2027, month: 2 });
    expect(monthGuardFor(billingSchedule({ unit: 'week', count: 1 }, date('2027-01-31')), 1)).toBeUndefined();
  });
});

describe('weekly and yearly billing dates', () => {
  test('every week and every two weeks keep the weekday across months and years', () => {
    const weekly = billingSchedule({ unit: 'week', count: 1 }, date('2027-12-22'));
    expect(dates(weekly, 4)).toEqual(['2027-12-22', '2027-12-29', '2028-01-05', '2028-01-12']);
    const biweekly = billingSchedule({ unit: 'week', count: 2 }, date('2028-02-15'));
    expect(dates(biweekly, 3)).toEqual(['2028-02-15', '2028-02-29', '2028-03-14']);
  });

  test('a Feb 29 yearly anchor bills Feb 28 in common years and Feb 29 in leap years', () => {
    const yearly = billingSchedule(
      { unit: 'year', count: 1, anchorMonth: 2, anchorDay: 29 },
      date('2028-02-29'),
    );
    expect(dates(yearly, 5)).toEqual(['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']);
  });

  test('a Feb 29 anchor starting in a common year starts on Feb 28', () => {
    const yearly = billingSchedule(
      { unit: 'year', count: 1, anchorMonth: 2, anchorDay: 29 },
      date('2027-02-28'),
    );
    expect(dates(yearly, 2)).toEqual(['2027-02-28', '2028-02-29']);
  });

  test('a yearly anchor that is no day of any year is refused', () => {
    expect(() =>
      billingSchedule({ unit: 'year', count: 1, anchorMonth: 2, anchorDay: 30 }, date('2027-02-28')),
    ).toThrow(InvalidScheduleError);
  });
});

describe('charge instants', () => {
  const schedule = monthly('2027-01-31', 31);

  test('the default charge time is 10:00 KST: 2027-03-31 10:00 KST is 01:00 UTC', () => {
    expect(new Date(chargeInstant(schedule, 2)).toISOString()).toBe('2027-03-31T01:00:00.000Z');
  });

  test('a charge time just after the maintenance window falls on the previous UTC day', () => {
    expect(new Date(chargeInstant(schedule, 2, chargeTimeOfDay(0, 30))).toISOString()).toBe(
      '2027-03-30T15:30:00.000Z',
    );
    expect(chargeInstant(schedule, 2, chargeTimeOfDay(23, 29))).toBe(kst('2027-03-31 23:29'));
  });

  test.each([
    [23, 30],
    [23, 45],
    [23, 59],
    [0, 0],
    [0, 29],
  ])('a charge time of %i:%i KST is inside the banks maintenance window and refused', (hour, minute) => {
    expect(() => chargeTimeOfDay(hour, minute)).toThrow(ChargeTimeInMaintenanceWindowError);
    expect(() => chargeTimeOfDay(hour, minute)).toThrow(/maintenance window 23:30-00:30 KST/);
    expect(() => chargeInstant(schedule, 0, { hour, minute })).toThrow(ChargeTimeInMaintenanceWindowError);
  });

  test('"at once" inside the maintenance window means 00:30 KST', () => {
    expect(earliestChargeInstant(kst('2027-03-31 23:40'))).toBe(kst('2027-04-01 00:30'));
    expect(earliestChargeInstant(kst('2027-04-01 00:10'))).toBe(kst('2027-04-01 00:30'));
    expect(earliestChargeInstant(kst('2027-03-31 15:00'))).toBe(kst('2027-03-31 15:00'));
    expect(isInstantInBankMaintenanceWindow(kst('2027-03-31 23:29:59'))).toBe(false);
    expect(isInstantInBankMaintenanceWindow(kst('2027-03-31 23:30'))).toBe(true);
    expect(isInstantInBankMaintenanceWindow(kst('2027-04-01 00:30'))).toBe(false);
  });

  test('the period due at an instant is the last one whose charge instant has come', () => {
    expect(periodIndexDueAt(schedule, kst('2027-01-31 09:59'))).toBeUndefined();
    expect(periodIndexDueAt(schedule, kst('2027-01-31 10:00'))).toBe(0);
    expect(periodIndexDueAt(schedule, kst('2027-02-28 09:59'))).toBe(0);
    expect(periodIndexDueAt(schedule, kst('2027-02-28 10:00'))).toBe(1);
    expect(periodIndexDueAt(schedule, kst('2027-03-30 23:00'))).toBe(1);
    expect(nextPeriodAfter(schedule, kst('2027-02-28 10:00'))).toBe(2);
    expect(nextPeriodAfter(schedule, kst('2027-01-01 00:00'))).toBe(0);
  });
});

describe('period coverage', () => {
  test('a period covers its billing date up to the next one (Jan 31 - Feb 29 in 2028: 29 days)', () => {
    const coverage = periodCoverage(monthly('2028-01-31', 31), 0);
    expect(formatIsoDate(coverage.start)).toBe('2028-01-31');
    expect(formatIsoDate(coverage.end)).toBe('2028-02-29');
    expect(coverage.days).toBe(29);
    expect(coverage.startsAt).toBe(kst('2028-01-31 00:00'));
    expect(coverage.endsAt).toBe(kst('2028-02-29 00:00'));
  });

  test('the unused share of a period is prorated by days and rounded down to the won', () => {
    const coverage = periodCoverage(monthly('2027-04-30', 30), 0); // Apr 30 - May 30: 30 days
    expect(unusedAmount(10_000, coverage, date('2027-04-30'))).toBe(10_000);
    expect(unusedAmount(10_000, coverage, date('2027-05-20'))).toBe(3_333);
    expect(unusedAmount(10_000, coverage, date('2027-05-30'))).toBe(0);
    expect(unusedAmount(10_000, coverage, date('2027-01-01'))).toBe(10_000);
  });
});

// ----- properties -----

const epochDayIn = (fromYear: number, toYear: number) =>
  fc.integer({
    min: toEpochDay(calendarDate(fromYear, 1, 1)),
    max: toEpochDay(calendarDate(toYear, 12, 31)),
  });

/** Anchors 28-31 are the interesting ones; any day 1-31 is allowed. */
const anchorDay = fc.oneof(fc.integer({ min: 28, max: 31 }), fc.integer({ min: 1, max: 31 }));

const monthlySchedule = fc
  .record({ count: fc.integer({ min: 1, max: 12 }), anchorDay, month: epochDayIn(2001, 2090) })
  .map(({ count, anchorDay: anchor, month }) => {
    const interval: BillingInterval = { unit: 'month', count, anchorDay: anchor };
    return billingSchedule(interval, firstAnchorDateOnOrAfter(interval, fromEpochDay(month)));
  });

const anySchedule = fc.oneof(
  monthlySchedule,
  fc
    .record({ count: fc.integer({ min: 1, max: 8 }), start: epochDayIn(2001, 2090) })
    .map(({ count, start }) => billingSchedule({ unit: 'week', count }, fromEpochDay(start))),
  fc
    .record({
      count: fc.integer({ min: 1, max: 4 }),
      anchor: fc.oneof(fc.constant(calendarDate(2028, 2, 29)), epochDayIn(2028, 2028).map(fromEpochDay)),
      year: fc.integer({ min: 2001, max: 2090 }),
    })
    .map(({ count, anchor, year }) => {
      const interval: BillingInterval = {
        unit: 'year',
        count,
        anchorMonth: anchor.month,
        anchorDay: anchor.day,
      };
      return billingSchedule(interval, firstAnchorDateOnOrAfter(interval, calendarDate(year, 1, 1)));
    }),
);

describe('calendar properties', () => {
  test('billing dates strictly increase and the schedule starts on its first billing date', () => {
    fc.assert(
      fc.property(anySchedule, (schedule) => {
        expect(billingDate(schedule, 0)).toEqual(schedule.firstBillingDate);
        let previous = toEpochDay(billingDate(schedule, 0));
        for (let n = 1; n <= 60; n++) {
          const current = toEpochDay(billingDate(schedule, n));
          expect(current).toBeGreaterThan(previous);
          previous = current;
        }
      }),
    );
  });

  test('monthly: period n bills in exactly the n·count-th month after the first, on the anchor or the last day', () => {
    fc.assert(
      fc.property(monthlySchedule, (schedule) => {
        if (schedule.interval.unit !== 'month') return;
        const { count, anchorDay: anchor } = schedule.interval;
        const first = schedule.firstBillingDate;
        for (let n = 0; n <= 60; n++) {
          const billed = billingDate(schedule, n);
          const monthsAfter = (billed.year - first.year) * 12 + (billed.month - first.month);
          expect(monthsAfter).toBe(n * count);
          const length = daysInMonth(billed.year, billed.month);
          // Returns to the anchor whenever the month has that day, else bills on the month's last day.
          expect(billed.day).toBe(Math.min(anchor, length));
        }
      }),
    );
  });

  test('monthly count 1: every calendar month gets exactly one billing date, none skipped or repeated', () => {
    fc.assert(
      fc.property(anchorDay, epochDayIn(2001, 2090), (anchor, start) => {
        const interval: BillingInterval = { unit: 'month', count: 1, anchorDay: anchor };
        const schedule = billingSchedule(interval, firstAnchorDateOnOrAfter(interval, fromEpochDay(start)));
        const months = Array.from({ length: 48 }, (_, n) => {
          const billed = billingDate(schedule, n);
          return billed.year * 12 + billed.month;
        });
        expect(new Set(months).size).toBe(48);
        expect(months.every((month, i) => i === 0 || month === months[i - 1]! + 1)).toBe(true);
      }),
    );
  });

  test('weekly: consecutive billing dates are exactly 7·count days apart; yearly: same month every count years', () => {
    fc.assert(
      fc.property(anySchedule, (schedule) => {
        const { interval } = schedule;
        for (let n = 0; n < 30; n++) {
          const a = billingDate(schedule, n);
          const b = billingDate(schedule, n + 1);
          if (interval.unit === 'week') expect(toEpochDay(b) - toEpochDay(a)).toBe(7 * interval.count);
          if (interval.unit === 'year') {
            expect(b.year - a.year).toBe(interval.count);
            expect(b.month).toBe(interval.anchorMonth);
            expect(b.day).toBe(Math.min(interval.anchorDay, daysInMonth(b.year, b.month)));
          }
        }
      }),
    );
  });

  test('the period due at any instant lies between its charge instant and the next one', () => {
    fc.assert(
      fc.property(
        anySchedule,
        fc.integer({ min: -40 * 86_400_000, max: 4_000 * 86_400_000 }),
        fc.constantFrom(chargeTimeOfDay(10, 0), chargeTimeOfDay(0, 30), chargeTimeOfDay(23, 29)),
        (schedule, offset, time) => {
          const instant = chargeInstant(schedule, 0, time) + offset;
          const period = periodIndexDueAt(schedule, instant, time);
          if (period === undefined) {
            expect(instant).toBeLessThan(chargeInstant(schedule, 0, time));
            return;
          }
          expect(chargeInstant(schedule, period, time)).toBeLessThanOrEqual(instant);
          expect(chargeInstant(schedule, period + 1, time)).toBeGreaterThan(instant);
          expect(nextPeriodAfter(schedule, instant, time)).toBe(period + 1);
        },
      ),
    );
  });

  test('at its own charge instant a period is due, a millisecond earlier the previous one', () => {
    fc.assert(
      fc.property(anySchedule, fc.integer({ min: 0, max: 100 }), (schedule, n) => {
        const at = chargeInstant(schedule, n);
        expect(periodIndexDueAt(schedule, at)).toBe(n);
        expect(periodIndexDueAt(schedule, at - 1)).toBe(n === 0 ? undefined : n - 1);
      }),
    );
  });
});
