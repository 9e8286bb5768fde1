/**
 * Calendar dates and times of day in Korean Standard Time, and the conversion between them and
 * instants (epoch milliseconds).
 *
 * KST is a fixed UTC+9 here, on purpose: Asia/Seoul has kept UTC+9 without daylight saving since
 * 1988 (the last DST was in the summers of 1987-88), and this module only accepts dates from the
 * year 2000 on, so the fixed offset is exact for every date it handles. A fixed offset also keeps
 * the domain free of the host's time zone and of `Intl` data versions.
 *
 * Dates are plain `{year, month, day}` values (month 1-12); Payple writes them `YYYYMMDD` (the
 * "compact" form: `PCD_PAY_DATE`, our period keys), people and ISO 8601 write `YYYY-MM-DD`.
 */
import { InvalidCalendarDateError, InvalidTimeOfDayError } from './errors.ts';

export const KST_OFFSET_MS = 9 * 60 * 60 * 1000;
export const MS_PER_MINUTE = 60 * 1000;
export const MS_PER_DAY = 24 * 60 * 60 * 1000;
/** Earliest supported year: the fixed UTC+9 offset is exact from 1989 on. */
export const MIN_YEAR = 2000;
/** Latest supported year: compact dates keep four year digits. */
export const MAX_YEAR = 9999;

/** A day of the KST calendar. */
export interface CalendarDate {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
  /** 1-31, within the month's length. */
  readonly day: number;
}

/** A wall-clock time of day in KST, to the minute. */
export interface TimeOfDay {
  /** 0-23. */
  readonly hour: number;
  /** 0-59. */
  readonly minute: number;
}

/** A KST date and time of day (with seconds and milliseconds) of an instant. */
export interface KstDateTime {
  readonly date: CalendarDate;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_LENGTHS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Days in a month of the Gregorian calendar (February has 29 in leap years). */
export function daysInMonth(year: number, month: number): number {
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new InvalidCalendarDateError('month', `month ${month} is not 1-12`);
  }
  return month === 2 && isLeapYear(year) ? 29 : (MONTH_LENGTHS[month - 1] ?? 31);
}

/** Whether the three numbers form a real date in the supported years. */
export function isValidCalendarDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    year >= MIN_YEAR &&
    year <= MAX_YEAR &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

/** A validated calendar date; throws `InvalidCalendarDateError` for anything that does not exist. */
export function calendarDate(year: number, month: number, day: number): CalendarDate {
  if (!isValidCalendarDate(year, month, day)) {
    throw new InvalidCalendarDateError(
      'date',
      `${year}-${month}-${day} is not a calendar date in ${MIN_YEAR}-${MAX_YEAR}`,
    );
  }
  return { year, month, day };
}

/** The same date, or a validation error: use at the edge on dates read from storage or requests. */
export function assertCalendarDate(date: CalendarDate): CalendarDate {
  return calendarDate(date.year, date.month, date.day);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYYMMDD`, the form of Payple's `PCD_PAY_DATE` and of our period keys. */
export function formatCompactDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}${pad(date.month, 2)}${pad(date.day, 2)}`;
}

/** `YYYY-MM-DD` (ISO 8601). */
export function formatIsoDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** Parses `YYYYMMDD`; throws `InvalidCalendarDateError` unless it is a real date. */
export function parseCompactDate(value: string): CalendarDate {
  const match = /^([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(value);
  if (match === null) throw new InvalidCalendarDateError('date', 'expected YYYYMMDD');
  return calendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** Parses `YYYY-MM-DD`; throws `InvalidCalendarDateError` unless it is a real date. */
export function parseIsoDate(value: string): CalendarDate {
  const match = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
  if (match === null) throw new InvalidCalendarDateError('date', 'expected YYYY-MM-DD');
  return calendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** Days since 1970-01-01 (a date's position on a line, for day arithmetic). */
export function toEpochDay(date: CalendarDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / MS_PER_DAY;
}

/** The date `epochDay` days after 1970-01-01. */
export function fromEpochDay(epochDay: number): CalendarDate {
  const utc = new Date(epochDay * MS_PER_DAY);
  return calendarDate(utc.getUTCFullYear(), utc.getUTCMonth() + 1, utc.getUTCDate());
}

/** `date` plus `days` (negative goes back). */
export function addDays(date: CalendarDate, days: number): CalendarDate {
  return fromEpochDay(toEpochDay(date) + days);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: CalendarDate, to: CalendarDate): number {
  return toEpochDay(to) - toEpochDay(from);
}

/** Negative, zero or positive as `a` is before, on or after `b`. */
export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return toEpochDay(a) - toEpochDay(b);
}

export function sameDate(a: CalendarDate, b: CalendarDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** Months counted from year 0 (`year * 12 + month - 1`): month arithmetic without carries. */
export function toMonthIndex(year: number, month: number): number {
  return year * 12 + (month - 1);
}

/** The `{year, month}` of a month index. */
export function fromMonthIndex(monthIndex: number): { readonly year: number; readonly month: number } {
  return { year: Math.floor(monthIndex / 12), month: (monthIndex % 12) + 1 };
}

/**
 * `day` of the month `months` after `date`'s month, or the month's last day when it is shorter
 * (Jan 31 + 1 month = Feb 28/29). Billing dates do not chain this: see `calendar.ts`.
 */
export function addMonthsClamped(date: CalendarDate, months: number, day: number = date.day): CalendarDate {
  const { year, month } = fromMonthIndex(toMonthIndex(date.year, date.month) + months);
  return calendarDate(year, month, Math.min(day, daysInMonth(year, month)));
}

/** ISO weekday: 1 = Monday ... 7 = Sunday. */
export function isoWeekday(date: CalendarDate): number {
  // 1970-01-01 was a Thursday (ISO 4).
  return ((((toEpochDay(date) + 3) % 7) + 7) % 7) + 1;
}

function assertInstant(instant: number): void {
  if (!Number.isSafeInteger(instant)) {
    throw new InvalidCalendarDateError('instant', 'an instant is a whole number of epoch milliseconds');
  }
}

/** The KST date and time of day of an instant. */
export function kstDateTimeOf(instant: number): KstDateTime {
  assertInstant(instant);
  const shifted = new Date(instant + KST_OFFSET_MS);
  return {
    date: calendarDate(shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, shifted.getUTCDate()),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    second: shifted.getUTCSeconds(),
    millisecond: shifted.getUTCMilliseconds(),
  };
}

/** The KST calendar date of an instant. */
export function kstDateOf(instant: number): CalendarDate {
  return kstDateTimeOf(instant).date;
}

/** `YYYYMMDD` in KST of an instant (Payple's `PCD_PAY_DATE` for a request sent at that instant). */
export function kstCompactDateOf(instant: number): string {
  return formatCompactDate(kstDateOf(instant));
}

/** Minutes since KST midnight of an instant (0-1439). */
export function kstMinuteOfDay(instant: number): number {
  const time = kstDateTimeOf(instant);
  return time.hour * 60 + time.minute;
}

/** The instant of `date` at `time` KST (seconds zero). */
export function kstInstant(date: CalendarDate, time: TimeOfDay = { hour: 0, minute: 0 }): number {
  return toEpochDay(date) * MS_PER_DAY + (time.hour * 60 + time.minute) * MS_PER_MINUTE - KST_OFFSET_MS;
}

/** 00:00 KST of `date`. */
export function startOfKstDay(date: CalendarDate): number {
  return kstInstant(date);
}

/** A validated time of day; throws `InvalidTimeOfDayError`. */
export function timeOfDay(hour: number, minute: number): TimeOfDay {
  if (
    !Number.isInteger(hour) ||
    !Number.isInteger(minute) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59
  ) {
    throw new InvalidTimeOfDayError('timeOfDay', `${hour}:${minute} is not a time of day`);
  }
  return { hour, minute };
}

/** Parses `HH:MM` (24-hour). */
export function parseTimeOfDay(value: string): TimeOfDay {
  const match = /^([0-9]{2}):([0-9]{2})$/.exec(value);
  if (match === null) throw new InvalidTimeOfDayError('timeOfDay', 'expected HH:MM');
  return timeOfDay(Number(match[1]), Number(match[2]));
}

/** `HH:MM`. */
export function formatTimeOfDay(time: TimeOfDay): string {
  return `${pad(time.hour, 2)}:${pad(time.minute, 2)}`;
}

/** Minutes since midnight (0-1439). */
export function minuteOfDay(time: TimeOfDay): number {
  return time.hour * 60 + time.minute;
}

/** The first instant at or after `instant` whose KST wall clock reads `time` (seconds zero). */
export function nextKstTimeOfDay(instant: number, time: TimeOfDay): number {
  const today = kstInstant(kstDateOf(instant), time);
  return today >= instant ? today : kstInstant(addDays(kstDateOf(instant), 1), time);
}

/** ISO 8601 with the KST offset, e.g. `2027-03-31T10:00:00+09:00` (for display and logs). */
export function formatKstInstant(instant: number): string {
  const t = kstDateTimeOf(instant);
  return `${formatIsoDate(t.date)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}+09:00`;
}
