/**
 * Charge attempts and their deterministic OIDs (`PCD_PAY_OID`).
 *
 * An OID is `{subscriptionId}-{periodKey}-{attempt}`, e.g. `01JQ4ZC7Y9K2ABCD-20270131-2`:
 * - only `[A-Za-z0-9-]` (Payple allows `[A-Za-z0-9_-]`), at most 54 characters;
 * - injective: subscription ids contain no `-`, the period key is exactly eight digits and the
 *   attempt has no leading zeros, so the string splits back into one triple only (`parseOid`);
 * - deterministic: the charger, the reconciler and the webhook all compute the same OID for an
 *   attempt, and a retried queue message can never mint a second OID for it.
 */
import { InvalidOidPartError } from './errors.ts';
import { formatCompactDate, parseCompactDate } from './kst.ts';
import type { PeriodKey } from './calendar.ts';

/** Subscription ids: 1-40 ASCII letters and digits (e.g. a ULID, or a UUID without hyphens). */
export const SUBSCRIPTION_ID_PATTERN = /^[A-Za-z0-9]{1,40}$/;
/** Attempts per period are numbered 1, 2, ...; a period never needs more than a handful. */
export const MAX_ATTEMPT = 9999;
/** Upper bound of an OID's length (40 + 1 + 8 + 1 + 4). */
export const MAX_OID_LENGTH = 54;

/** One charge attempt of a subscription: period index and attempt number (from 1). */
export interface AttemptRef {
  readonly period: number;
  readonly attempt: number;
}

/** The parts of an OID. */
export interface ParsedOid {
  readonly subscriptionId: string;
  readonly periodKey: PeriodKey;
  readonly attempt: number;
}

/** Whether `value` is a valid subscription id. */
export function isSubscriptionId(value: string): boolean {
  return SUBSCRIPTION_ID_PATTERN.test(value);
}

/** `value` if it is a valid subscription id, else `InvalidOidPartError`. */
export function assertSubscriptionId(value: string): string {
  if (!isSubscriptionId(value)) {
    throw new InvalidOidPartError('subscriptionId', 'a subscription id is 1-40 letters and digits');
  }
  return value;
}

/** `attempt` if it is a whole number 1-`MAX_ATTEMPT`, else `InvalidOidPartError`. */
export function assertAttemptNumber(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPT) {
    throw new InvalidOidPartError('attempt', `attempt ${attempt} is not 1-${MAX_ATTEMPT}`);
  }
  return attempt;
}

function assertPeriodKey(periodKey: string): PeriodKey {
  try {
    return formatCompactDate(parseCompactDate(periodKey));
  } catch (error) {
    throw new InvalidOidPartError('periodKey', 'a period key is a KST date YYYYMMDD', { cause: error });
  }
}

/** The OID of attempt `attempt` of the period `periodKey` of a subscription. */
export function oidFor(subscriptionId: string, periodKey: PeriodKey, attempt: number): string {
  return `${assertSubscriptionId(subscriptionId)}-${assertPeriodKey(periodKey)}-${assertAttemptNumber(attempt)}`;
}

const OID_PATTERN = /^([A-Za-z0-9]{1,40})-([0-9]{8})-([1-9][0-9]{0,3})$/;

/**
 * The parts of one of our OIDs, or `undefined` for anything `oidFor` cannot have produced (someone
 * else's OID in a webhook, a typo, an invented date): callers treat that as "not ours".
 */
export function parseOid(oid: string): ParsedOid | undefined {
  const match = OID_PATTERN.exec(oid);
  if (match === null) return undefined;
  const [, subscriptionId = '', periodKey = '', attempt = ''] = match;
  try {
    assertPeriodKey(periodKey);
  } catch {
    return undefined;
  }
  return { subscriptionId, periodKey, attempt: Number(attempt) };
}
