/** Factories and small drivers for the billing domain tests. Time is always passed in, never read. */
import {
  claimAttempt,
  createSubscription,
  dueAttempt,
  settleAttempt,
  type AttemptOutcome,
  type DunningPolicy,
  type NewSubscription,
  type Subscription,
  type Transition,
} from '../../functions/billing/index.ts';

/**
 * The instant of a KST wall-clock time written `YYYY-MM-DD HH:MM` (or `...:SS`), computed with the
 * platform's own ISO parser so the domain's arithmetic is checked against something independent.
 */
export function kst(local: string): number {
  const [date, time = '00:00'] = local.split(' ');
  const withSeconds = time.length === 5 ? `${time}:00` : time;
  const instant = Date.parse(`${date}T${withSeconds}+09:00`);
  if (Number.isNaN(instant)) throw new Error(`bad KST time ${local}`);
  return instant;
}

export const SECRET_BILLING_KEY = 'BILLINGKEY-SECRET-0001';
export const CUSTOMER_NAME = '홍길동';
export const CUSTOMER_PHONE = '01012345678';
export const CUSTOMER_EMAIL = 'gildong@example.com';

/** A monthly card subscription taken out at `now` (period 0 due at once). */
export function newSubscription(overrides: Partial<NewSubscription> = {}): NewSubscription {
  return {
    id: 'sub01',
    customer: { id: 'cus_1', name: CUSTOMER_NAME, phone: CUSTOMER_PHONE, email: CUSTOMER_EMAIL },
    plan: { id: 'plan_basic', goodsName: 'Basic plan', amount: 9_900, interval: { unit: 'month', count: 1 } },
    payType: 'card',
    billingKeyRef: SECRET_BILLING_KEY,
    ...overrides,
  };
}

/** Creates a subscription at `now`. */
export function created(now: number, overrides: Partial<NewSubscription> = {}): Subscription {
  return createSubscription(newSubscription(overrides), now).subscription;
}

/** Claims the due attempt at `now` and settles it with `outcome`. Fails when nothing is due. */
export function chargeDue(
  sub: Subscription,
  now: number,
  outcome: AttemptOutcome,
  policy?: DunningPolicy,
): Transition & { readonly oid: string } {
  const ref = dueAttempt(sub, now);
  if (ref === undefined) throw new Error(`nothing due at ${new Date(now).toISOString()}`);
  const claimed = claimAttempt(sub, ref, now);
  const settled = settleAttempt(claimed.subscription, ref, outcome, now, policy);
  return { ...settled, oid: claimed.charge.oid };
}

/** A subscription created at `now` whose first payment succeeded at `now`. */
export function activeSubscription(now: number, overrides: Partial<NewSubscription> = {}): Subscription {
  return chargeDue(created(now, overrides), now, { kind: 'paid' }).subscription;
}

export const eventTypes = (transition: Transition): string[] => transition.events.map((event) => event.type);
