import { Duration } from 'aws-cdk-lib';
import { nextOccurrences, parseScheduleExpression } from '../local/schedule-expression.ts';

/** A fixed start keeps synthesis deterministic; eight days cover every weekday and a weekend. */
const SAMPLE_FROM = Date.UTC(2030, 0, 1);
const SAMPLE_MS = 8 * 24 * 3600 * 1000;
const MAX_SAMPLES = 2000;

/**
 * The longest wait between two consecutive runs of a Scheduler expression: how stale a missed run
 * may be before the next one supersedes it, and how long a heartbeat alarm waits. A `rate(...)` is
 * its period; a `cron(...)` is sampled over eight days in its time zone.
 */
export function longestGap(expression: string, timeZone: string): Duration {
  const parsed = parseScheduleExpression(expression);
  if (parsed.kind === 'rate') return Duration.millis(parsed.periodMs);
  const runs = nextOccurrences(parsed, timeZone, SAMPLE_FROM, MAX_SAMPLES).filter(
    (instant) => instant <= SAMPLE_FROM + SAMPLE_MS,
  );
  if (runs.length < 2) return Duration.millis(SAMPLE_MS);
  let longest = 0;
  runs.reduce((previous, run) => {
    longest = Math.max(longest, run - previous);
    return run;
  });
  return Duration.millis(longest);
}
