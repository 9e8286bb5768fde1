/**
 * Billing calendars: when period n of a subscription is billed, when its charge is due, and which
 * days it covers. All dates are KST (see `kst.ts`).
 *
 * Periods are numbered 0, 1, 2, ... from the subscription's first billing date, and period n's date
 * is computed directly from the anchor and n, never from period n-1's date: chaining clamped dates
 * drifts (Jan 31 → Feb 28 → Mar 28 → ...), while computing from the anchor returns to it whenever
 * the month is long enough (Jan 31 → Feb 28/29 → Mar 31 → Apr 30).
 */
import { ChargeTimeInMaintenanceWindowError, InvalidScheduleError, PeriodOutOfRangeError } from './errors.ts';
import {
  addDays,
  calendarDate,
  compareDates,
  daysBetween,
  daysInMonth,
  formatCompactDate,
  formatIsoDate,
  formatTimeOfDay,
  fromMonthIndex,
  isValidCalendarDate,
  kstDateOf,
  kstInstant,
  kstMinuteOfDay,
  MAX_YEAR,
  minuteOfDay,
  nextKstTimeOfDay,
  sameDate,
  startOfKstDay,
  timeOfDay,
  toMonthIndex,
  type CalendarDate,
  type TimeOfDay,
} from './kst.ts';

/**
 * How often a subscription bills, with its anchor.
 * - `month`: every `count` months on `anchorDay` (1-31), or on the month's last day when it is
 *   shorter; the next long-enough month returns to the anchor.
 * - `week`: every `count` weeks, on the weekday of the first billing date.
 * - `year`: every `count` years on `anchorMonth`/`anchorDay`; a Feb 29 anchor bills Feb 28 in common
 *   years and Feb 29 in leap years.
 */
export type BillingInterval =
  | { readonly unit: 'month'; readonly count: number; readonly anchorDay: number }
  | { readonly unit: 'week'; readonly count: number }
  | {
      readonly unit: 'year';
      readonly count: number;
      readonly anchorMonth: number;
      readonly anchorDay: number;
    };

export type IntervalUnit = BillingInterval['unit'];

/** A plan's interval before it is anchored on a subscription's dates: "every 1 month". */
export interface PlanInterval {
  readonly unit: IntervalUnit;
  readonly count: number;
}

/** Largest `count` per unit: ten years of periods either way, enough for any plan we sell. */
export const MAX_INTERVAL_COUNT: Readonly<Record<IntervalUnit, number>> = { month: 120, week: 520, year: 10 };

/** An interval plus the date of period 0. `billingDate(schedule, 0)` is `firstBillingDate`. */
export interface BillingSchedule {
  readonly interval: BillingInterval;
  readonly firstBillingDate: CalendarDate;
}

/** The period key: the KST billing date `YYYYMMDD` (unique per subscription: dates only increase). */
export type PeriodKey = string;

/** A period's days, as a half-open range [start, end): `end` is the next period's billing date. */
export interface PeriodCoverage {
  readonly period: number;
  readonly start: CalendarDate;
  /** Exclusive. */
  readonly end: CalendarDate;
  /** 00:00 KST of `start`. */
  readonly startsAt: number;
  /** 00:00 KST of `end` (exclusive). */
  readonly endsAt: number;
  readonly days: number;
}

/** 10:00 KST: office hours for the customer's bank or card company, far from the maintenance window. */
export const DEFAULT_CHARGE_TIME_OF_DAY: TimeOfDay = { hour: 10, minute: 0 };

/**
 * The banks' nightly maintenance window, 23:30-00:30 KST, half-open: 23:30 is inside, 00:30 is the
 * first minute outside. Payple answers transfers in it with `xxxx9998`; card companies have
 * their own night work too, so no charge of ours is scheduled inside it.
 */
export const BANK_MAINTENANCE_WINDOW = {
  start: { hour: 23, minute: 30 },
  end: { hour: 0, minute: 30 },
} as const satisfies { start: TimeOfDay; end: TimeOfDay };

function isMaintenanceMinute(minute: number): boolean {
  return (
    minute >= minuteOfDay(BANK_MAINTENANCE_WINDOW.start) || minute < minuteOfDay(BANK_MAINTENANCE_WINDOW.end)
  );
}

/** Whether a KST time of day is inside the maintenance window. */
export function isInBankMaintenanceWindow(time: TimeOfDay): boolean {
  return isMaintenanceMinute(minuteOfDay(time));
}

/** Whether an instant is inside the maintenance window (the dispatcher skips its runs there). */
export function isInstantInBankMaintenanceWindow(instant: number): boolean {
  return isMaintenanceMinute(kstMinuteOfDay(instant));
}

/**
 * `instant`, or the end of the maintenance window when `instant` falls inside it: the earliest
 * moment a charge that is due "at once" may be sent.
 */
export function earliestChargeInstant(instant: number): number {
  return isInstantInBankMaintenanceWindow(instant)
    ? nextKstTimeOfDay(instant, BANK_MAINTENANCE_WINDOW.end)
    : instant;
}

/**
 * A validated charge time of day; throws `ChargeTimeInMaintenanceWindowError` for 23:30-00:29 and
 * `InvalidTimeOfDayError` for anything that is not a time.
 */
export function chargeTimeOfDay(hour: number, minute: number): TimeOfDay {
  const time = timeOfDay(hour, minute);
  if (isInBankMaintenanceWindow(time)) {
    throw new ChargeTimeInMaintenanceWindowError(
      'chargeTimeOfDay',
      `charge time ${formatTimeOfDay(time)} KST is inside the banks' maintenance window 23:30-00:30 KST`,
    );
  }
  return time;
}

/** The same time, or the error `chargeTimeOfDay` throws (for values read from config or storage). */
export function assertChargeTimeOfDay(time: TimeOfDay): TimeOfDay {
  return chargeTimeOfDay(time.hour, time.minute);
}

function assertCount(unit: IntervalUnit, count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_INTERVAL_COUNT[unit]) {
    throw new InvalidScheduleError(
      'interval.count',
      `every ${count} ${unit}s: count must be 1-${MAX_INTERVAL_COUNT[unit]}`,
    );
  }
}

/** Validates an interval (count range, anchor day 1-31, anchor month/day a date of some year). */
export function assertBillingInterval(interval: BillingInterval): BillingInterval {
  assertCount(interval.unit, interval.count);
  switch (interval.unit) {
    case 'week':
      return interval;
    case 'month':
      if (!Number.isInteger(interval.anchorDay) || interval.anchorDay < 1 || interval.anchorDay > 31) {
        throw new InvalidScheduleError('interval.anchorDay', `anchor day ${interval.anchorDay} is not 1-31`);
      }
      return interval;
    case 'year':
      // 2000 is a leap year: any month/day that exists in some year exists in 2000.
      if (!isValidCalendarDate(2000, interval.anchorMonth, interval.anchorDay)) {
        throw new InvalidScheduleError(
          'interval.anchor',
          `anchor ${interval.anchorMonth}/${interval.anchorDay} is not a day of the year`,
        );
      }
      return interval;
  }
}

/**
 * The interval of `unit`/`count` anchored on `date` (the usual case: a subscription bills on the day
 * it was taken out), e.g. `anchoredInterval('month', 1, 2027-01-31)` → every month on the 31st.
 */
export function anchoredInterval(unit: IntervalUnit, count: number, date: CalendarDate): BillingInterval {
  switch (unit) {
    case 'month':
      return assertBillingInterval({ unit, count, anchorDay: date.day });
    case 'week':
      return assertBillingInterval({ unit, count });
    case 'year':
      return assertBillingInterval({ unit, count, anchorMonth: date.month, anchorDay: date.day });
  }
}

function monthlyDate(year: number, month: number, anchorDay: number): CalendarDate {
  return calendarDate(year, month, Math.min(anchorDay, daysInMonth(year, month)));
}

/** The billing date of period n, unchecked against the first billing date (used to validate it). */
function dateOfPeriod(interval: BillingInterval, first: CalendarDate, n: number): CalendarDate {
  switch (interval.unit) {
    case 'month': {
      const { year, month } = fromMonthIndex(toMonthIndex(first.year, first.month) + n * interval.count);
      return monthlyDate(year, month, interval.anchorDay);
    }
    case 'week':
      return addDays(first, 7 * interval.count * n);
    case 'year':
      return monthlyDate(first.year + n * interval.count, interval.anchorMonth, interval.anchorDay);
  }
}

/**
 * A validated schedule. The first billing date must lie on the interval's anchor (for a month, the
 * anchor day or the last day of a shorter month; for a year, also the anchor month).
 */
export function billingSchedule(interval: BillingInterval, firstBillingDate: CalendarDate): BillingSchedule {
  assertBillingInterval(interval);
  const first = calendarDate(firstBillingDate.year, firstBillingDate.month, firstBillingDate.day);
  if (!sameDate(dateOfPeriod(interval, first, 0), first)) {
    throw new InvalidScheduleError(
      'firstBillingDate',
      `first billing date ${formatIsoDate(first)} is not on the interval's anchor`,
    );
  }
  return { interval, firstBillingDate: first };
}

/**
 * The first date on or after `date` that lies on the interval's anchor: the first billing date of a
 * subscription whose anchor is not the day it was taken out (e.g. "bill on the 1st").
 */
export function firstAnchorDateOnOrAfter(interval: BillingInterval, date: CalendarDate): CalendarDate {
  assertBillingInterval(interval);
  switch (interval.unit) {
    case 'week':
      return date;
    case 'month': {
      const thisMonth = monthlyDate(date.year, date.month, interval.anchorDay);
      if (compareDates(thisMonth, date) >= 0) return thisMonth;
      const { year, month } = fromMonthIndex(toMonthIndex(date.year, date.month) + 1);
      return monthlyDate(year, month, interval.anchorDay);
    }
    case 'year': {
      const thisYear = monthlyDate(date.year, interval.anchorMonth, interval.anchorDay);
      return compareDates(thisYear, date) >= 0
        ? thisYear
        : monthlyDate(date.year + 1, interval.anchorMonth, interval.anchorDay);
    }
  }
}

function assertPeriod(period: number): void {
  if (!Number.isSafeInteger(period) || period < 0) {
    throw new PeriodOutOfRangeError('period', `period ${period} is not a whole number ≥ 0`);
  }
}

/** The KST billing date of period `n` (0 = the first billing date). */
export function billingDate(schedule: BillingSchedule, period: number): CalendarDate {
  assertPeriod(period);
  try {
    return dateOfPeriod(schedule.interval, schedule.firstBillingDate, period);
  } catch (error) {
    throw new PeriodOutOfRangeError('period', `period ${period} lies past the year ${MAX_YEAR}`, {
      cause: error,
    });
  }
}

/** Period n's key: its KST billing date `YYYYMMDD` (part of every OID of the period). */
export function periodKey(schedule: BillingSchedule, period: number): PeriodKey {
  return formatCompactDate(billingDate(schedule, period));
}

/**
 * The instant period n's charge is due: its KST billing date at `time` (default 10:00 KST). Throws
 * `ChargeTimeInMaintenanceWindowError` for a time inside 23:30-00:30 KST.
 */
export function chargeInstant(
  schedule: BillingSchedule,
  period: number,
  time: TimeOfDay = DEFAULT_CHARGE_TIME_OF_DAY,
): number {
  return kstInstant(billingDate(schedule, period), assertChargeTimeOfDay(time));
}

/** A first guess at the last period billed on or before `date`; corrected by the callers. */
function estimatePeriodOn(schedule: BillingSchedule, date: CalendarDate): number {
  const { interval, firstBillingDate: first } = schedule;
  switch (interval.unit) {
    case 'month':
      return Math.floor(
        (toMonthIndex(date.year, date.month) - toMonthIndex(first.year, first.month)) / interval.count,
      );
    case 'week':
      return Math.floor(daysBetween(first, date) / (7 * interval.count));
    case 'year':
      return Math.floor((date.year - first.year) / interval.count);
  }
}

function chargeInstantOrInfinity(schedule: BillingSchedule, period: number, time: TimeOfDay): number {
  try {
    return chargeInstant(schedule, period, time);
  } catch (error) {
    if (error instanceof PeriodOutOfRangeError) return Number.POSITIVE_INFINITY;
    throw error;
  }
}

/**
 * The last period whose charge instant is at or before `instant`, or `undefined` when even period 0
 * is still in the future: the period a subscription "is in" at that instant.
 */
export function periodIndexDueAt(
  schedule: BillingSchedule,
  instant: number,
  time: TimeOfDay = DEFAULT_CHARGE_TIME_OF_DAY,
): number | undefined {
  assertChargeTimeOfDay(time);
  let period = Math.max(0, estimatePeriodOn(schedule, kstDateOf(instant)));
  // The estimate is off by at most one period either way (clamping, time of day); step to the answer.
  while (period > 0 && chargeInstantOrInfinity(schedule, period, time) > instant) period -= 1;
  if (chargeInstant(schedule, 0, time) > instant) return undefined;
  while (chargeInstantOrInfinity(schedule, period + 1, time) <= instant) period += 1;
  return period;
}

/** The first period whose charge instant is strictly after `instant`. */
export function nextPeriodAfter(
  schedule: BillingSchedule,
  instant: number,
  time: TimeOfDay = DEFAULT_CHARGE_TIME_OF_DAY,
): number {
  return (periodIndexDueAt(schedule, instant, time) ?? -1) + 1;
}

/** Period n's days [billing date of n, billing date of n+1), for display and refund proration. */
export function periodCoverage(schedule: BillingSchedule, period: number): PeriodCoverage {
  const start = billingDate(schedule, period);
  const end = billingDate(schedule, period + 1);
  return {
    period,
    start,
    end,
    startsAt: startOfKstDay(start),
    endsAt: startOfKstDay(end),
    days: daysBetween(start, end),
  };
}

/**
 * The share of `amount` (whole KRW) for the coverage's days from `from` (inclusive) to its end,
 * rounded down to the won: a refund for the unused part of a period. 0 once `from` is past the end,
 * the whole amount when `from` is on or before the start.
 */
export function unusedAmount(amount: number, coverage: PeriodCoverage, from: CalendarDate): number {
  const unusedDays = Math.min(coverage.days, Math.max(0, daysBetween(from, coverage.end)));
  return Math.floor((amount * unusedDays) / coverage.days);
}

/**
 * Payple's month guard (`PCD_REGULER_FLAG`, `PCD_PAY_YEAR`, `PCD_PAY_MONTH`) for period n of a
 * schedule that bills at most once per calendar month (monthly intervals): the billing date's
 * year and month, so every attempt of the period, retries included, names the same month. Other
 * intervals can bill twice in a month (every week) and get no guard. Payple refuses a second charge
 * on the same billing key in the same month, so a customer's two subscriptions on one key must not
 * both use it.
 */
export function monthGuardFor(
  schedule: BillingSchedule,
  period: number,
): { readonly year: number; readonly month: number } | undefined {
  if (schedule.interval.unit !== 'month') return undefined;
  const date = billingDate(schedule, period);
  return { year: date.year, month: date.month };
}
