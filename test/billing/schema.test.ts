import { describe, expect, test } from 'vitest';
import { ZodError } from 'zod';
import {
  attemptRefSchema,
  cancel,
  claimAttempt,
  parseSubscription,
  terminatePaymentMethod,
  type Subscription,
} from '../../functions/billing/index.ts';
import {
  activeSubscription,
  chargeDue,
  created,
  CUSTOMER_NAME,
  kst,
  SECRET_BILLING_KEY,
} from './factories.ts';

const SIGNUP = kst('2027-01-31 09:00');
/** What a store gives back: JSON-shaped, plus attributes of its own (index keys). */
const stored = (sub: Subscription): unknown => ({
  ...JSON.parse(JSON.stringify(sub)),
  dueShard: 3,
  dueAt: 0,
});

describe('reading subscriptions back from the store', () => {
  test('subscriptions in every shape the transitions produce parse back unchanged', () => {
    const active = activeSubscription(SIGNUP);
    const inFlight = claimAttempt(active, { period: 1, attempt: 1 }, kst('2027-02-28 10:00')).subscription;
    const held = chargeDue(active, kst('2027-02-28 10:00'), {
      kind: 'config_error',
      code: 'AUTH0004',
    }).subscription;
    const flagged = terminatePaymentMethod(active, SECRET_BILLING_KEY, SIGNUP).subscription;
    const canceled = cancel(inFlight, { reason: 'requested_by_customer' }, SIGNUP).subscription;
    for (const sub of [created(SIGNUP), active, inFlight, held, flagged, canceled]) {
      expect(parseSubscription(stored(sub))).toEqual(sub);
    }
  });

  test('an item that breaks a domain rule is refused, and the error carries no secret or personal data', () => {
    const sub = activeSubscription(SIGNUP);
    const broken = [
      { ...sub, chargeTimeOfDay: { hour: 23, minute: 45 } },
      { ...sub, schedule: { ...sub.schedule, firstBillingDate: { year: 2027, month: 1, day: 30 } } },
      { ...sub, status: 'trialing' },
      { ...sub, plan: { ...sub.plan, amount: 9.5 } },
      { ...sub, id: 'sub-01' },
      { ...sub, nextChargeAt: undefined },
    ];
    for (const item of broken) {
      let error: unknown;
      try {
        parseSubscription(item);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ZodError);
      expect((error as ZodError).message).not.toContain(SECRET_BILLING_KEY);
      expect((error as ZodError).message).not.toContain(CUSTOMER_NAME);
    }
  });

  test('queue messages name a period and an attempt number', () => {
    expect(attemptRefSchema.parse({ period: 3, attempt: 2 })).toEqual({ period: 3, attempt: 2 });
    expect(() => attemptRefSchema.parse({ period: -1, attempt: 1 })).toThrow(ZodError);
    expect(() => attemptRefSchema.parse({ period: 1, attempt: 0 })).toThrow(ZodError);
    expect(() => attemptRefSchema.parse({ period: '1', attempt: 1 })).toThrow(ZodError);
  });
});
