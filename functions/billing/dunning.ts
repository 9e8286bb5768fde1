/**
 * Dunning: when a soft-declined period is charged again.
 *
 * Retries are counted in whole KST days after the FIRST failed attempt of the period (default days
 * 1, 3, 5 and 7), not after the previous attempt: the customer is told one fixed schedule up front
 * ("we try again on the 2nd, 4th, 6th and 8th"), and an attempt that settles late (an `unknown`
 * resolved by the reconciler a day later) does not push the later retries back. Each retry is a new
 * attempt with a new OID, at the subscription's charge time of day (never inside the banks'
 * 23:30-00:30 maintenance window). When a retry's day has already gone by when it is scheduled,
 * it runs at the next occurrence of the charge time of day. After the last retry fails the
 * subscription is `unpaid`: no more automatic charges.
 *
 * Only soft declines use up retries. Configuration errors, `not_charged` findings and declines of
 * a billing key the customer has since replaced create new attempts without consuming one, and a
 * new billing key starts a fresh cycle (its first failure is a new day 0).
 */
import { InvalidDunningPolicyError } from './errors.ts';
import { addDays, kstDateOf, kstInstant, nextKstTimeOfDay, type TimeOfDay } from './kst.ts';
import { assertChargeTimeOfDay } from './calendar.ts';

/** Retry delays in whole days after the first failed attempt of a period, strictly increasing. */
export interface DunningPolicy {
  readonly retryDelaysDays: readonly number[];
}

/** A period's progress through the dunning schedule. */
export interface DunningState {
  /** Retries scheduled so far in this period (0 until the first soft decline). */
  readonly retriesUsed: number;
  /** Request instant of the period's first soft-declined attempt (day 0), or `null`. */
  readonly firstFailedAt: number | null;
}

export const MAX_RETRIES = 20;
export const MAX_RETRY_DELAY_DAYS = 60;

/** A validated policy; an empty list means "no retries: the first soft decline makes it unpaid". */
export function dunningPolicy(retryDelaysDays: readonly number[]): DunningPolicy {
  if (retryDelaysDays.length > MAX_RETRIES) {
    throw new InvalidDunningPolicyError('retryDelaysDays', `at most ${MAX_RETRIES} retries`);
  }
  let previous = 0;
  for (const delay of retryDelaysDays) {
    if (!Number.isInteger(delay) || delay <= previous || delay > MAX_RETRY_DELAY_DAYS) {
      throw new InvalidDunningPolicyError(
        'retryDelaysDays',
        `retry delays must be strictly increasing whole days 1-${MAX_RETRY_DELAY_DAYS}`,
      );
    }
    previous = delay;
  }
  return { retryDelaysDays: [...retryDelaysDays] };
}

/** Retries on days 1, 3, 5 and 7 after the first failure, then `unpaid`. */
export const DEFAULT_DUNNING_POLICY: DunningPolicy = dunningPolicy([1, 3, 5, 7]);

/** The state of a period that has not failed yet. */
export const NO_DUNNING: DunningState = { retriesUsed: 0, firstFailedAt: null };

/** Whether every retry of the policy has been scheduled already. */
export function isDunningExhausted(policy: DunningPolicy, state: DunningState): boolean {
  return state.retriesUsed >= policy.retryDelaysDays.length;
}

/**
 * Every retry instant of the policy for a first failure at `firstFailedAt`: the dates to show the
 * customer. Each is the KST date of the failure plus the delay, at `time`.
 */
export function retrySchedule(policy: DunningPolicy, firstFailedAt: number, time: TimeOfDay): number[] {
  assertChargeTimeOfDay(time);
  const day0 = kstDateOf(firstFailedAt);
  return policy.retryDelaysDays.map((delay) => kstInstant(addDays(day0, delay), time));
}

/**
 * When retry number `retryIndex` (0-based) runs, as seen at `now`: its scheduled instant, or the
 * next occurrence of `time` when that has passed; `undefined` when the policy has no such retry.
 */
export function retryInstant(
  policy: DunningPolicy,
  retryIndex: number,
  firstFailedAt: number,
  time: TimeOfDay,
  now: number,
): number | undefined {
  const scheduled = retrySchedule(policy, firstFailedAt, time)[retryIndex];
  if (scheduled === undefined) return undefined;
  return scheduled >= now ? scheduled : nextKstTimeOfDay(now, time);
}
