/**
 * Payple sends amounts, dates and times as strings. These parse them at the edge: whole KRW as safe
 * integers (never "1.5", "", "abc", "-100", "1e3", "0100" or a number past 2^53), KST dates and
 * times into ISO 8601 with an explicit `+09:00`.
 */
import { z } from 'zod';

const KST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** Whole KRW as Payple sends it (a digit string; a JSON integer is accepted too). */
export const wholeKrw = z
  .union([z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'not a whole number of won'), z.number()])
  .transform(Number)
  .pipe(z.number().int('not a whole number of won').nonnegative().max(Number.MAX_SAFE_INTEGER));

/** The amount, or `undefined` when the value is not a valid whole KRW amount. */
export function parseAmount(value: unknown): number | undefined {
  const parsed = wholeKrw.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Whether `value` is a real calendar date written `YYYYMMDD`. */
export function isKstDate(value: string): boolean {
  const match = /^([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(value);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** The KST calendar date (`YYYYMMDD`) of an instant, as Payple's `PCD_PAY_DATE` wants it. */
export function kstDate(epochMs: number): string {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * `PCD_PAY_TIME` (`YYYYMMDDhhmmss` in charge answers, `YYYY-MM-DD hh:mm:ss` in lookup answers) as
 * ISO 8601 in KST, or `undefined` when it is neither or not a real date and time.
 */
export function parseKstTime(value: string): string | undefined {
  const match =
    /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(value) ??
    /^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})$/.exec(value);
  if (match === null) return undefined;
  const [, y = '', mo = '', d = '', h = '', mi = '', s = ''] = match;
  const validTime = Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59;
  if (!validTime || !isCalendarDate(Number(y), Number(mo), Number(d))) return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}+09:00`;
}
