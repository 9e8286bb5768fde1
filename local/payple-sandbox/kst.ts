/**
 * Payple's dates and times are Korean Standard Time (UTC+9, no daylight saving), whatever the
 * sandbox host's time zone is; every one of them is derived from the injected clock.
 */

const KST_OFFSET_MS = 9 * 60 * 60 * 1000;

function kstParts(epochMs: number): { year: number; month: number; day: number; time: string } {
  const shifted = new Date(epochMs + KST_OFFSET_MS);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    time: `${pad(shifted.getUTCHours())}${pad(shifted.getUTCMinutes())}${pad(shifted.getUTCSeconds())}`,
  };
}

/** `YYYYMMDD` in KST: the form of `PCD_PAY_DATE`. */
export function kstDate(epochMs: number): string {
  const { year, month, day } = kstParts(epochMs);
  return `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
}

/** `YYYYMMDDhhmmss` in KST: the form of `PCD_PAY_TIME` in charge answers. */
export function kstDateTime(epochMs: number): string {
  return `${kstDate(epochMs)}${kstParts(epochMs).time}`;
}

/**
 * `YYYY-MM-DD hh:mm:ss` in KST: the form Payple's result-lookup page documents for `PCD_PAY_TIME`
 * (different from the charge answer's; the sandbox keeps the difference so clients parse both).
 */
export function kstDisplayTime(epochMs: number): string {
  const compact = kstDateTime(epochMs);
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)} ${compact.slice(8, 10)}:${compact.slice(10, 12)}:${compact.slice(12, 14)}`;
}
