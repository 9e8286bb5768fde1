import { describe, expect, test } from 'vitest';
import {
  AttemptInFlightError,
  AttemptNotClaimableError,
  AttemptNotInFlightError,
  calendarDate,
  cancel,
  ChargeTimeInMaintenanceWindowError,
  claimAttempt,
  createSubscription,
  dueAttempt,
  dunningPolicy,
  IllegalTransitionError,
  InvalidOidPartError,
  InvalidRefundError,
  InvalidSubscriptionError,
  outcomeKindFor,
  pause,
  recordRefund,
  releaseHold,
  replacePaymentMethod,
  resume,
  scheduledAttempt,
  settleAttempt,
  subscriptionLogFields,
  terminatePaymentMethod,
  type ClaimRefusal,
  type DomainEvent,
  type Subscription,
  type Transition,
} from '../../functions/billing/index.ts';
import {
  activeSubscription,
  chargeDue,
  created,
  CUSTOMER_EMAIL,
  CUSTOMER_NAME,
  CUSTOMER_PHONE,
  eventTypes,
  kst,
  newSubscription,
  SECRET_BILLING_KEY,
} from './factories.ts';

/** Taken out on 2027-01-31 at 09:00 KST: bills on the 31st (clamped), 10:00 KST. */
const SIGNUP = kst('2027-01-31 09:00');
const active = (): Subscription => activeSubscription(SIGNUP);

function refusal(run: () => unknown): ClaimRefusal {
  try {
    run();
  } catch (error) {
    if (error instanceof AttemptNotClaimableError) return error.reason;
    throw error;
  }
  throw new Error('the claim was not refused');
}

function expectNothingDueUntil(sub: Subscription, until: number): void {
  expect(sub.nextChargeAt).toBeNull();
  expect(dueAttempt(sub, until)).toBeUndefined();
}

describe('creating a subscription', () => {
  test('a new subscription is incomplete, version 1, with period 0 due at once', () => {
    const { subscription, events } = createSubscription(newSubscription(), SIGNUP);
    expect(subscription).toMatchObject({
      status: 'incomplete',
      version: 1,
      currentPeriod: 0,
      attemptsMade: 0,
      nextChargeAt: SIGNUP,
      inFlight: null,
      hold: null,
      paymentMethod: { status: 'valid', revision: 1 },
    });
    expect(subscription.schedule.interval).toEqual({ unit: 'month', count: 1, anchorDay: 31 });
    expect(dueAttempt(subscription, SIGNUP)).toEqual({ period: 0, attempt: 1 });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'subscription.created',
        subscriptionId: 'sub01',
        sequence: 1,
        status: 'incomplete',
        firstBillingDate: '2027-01-31',
        firstChargeAt: SIGNUP,
        amount: 9_900,
      }),
    ]);
  });

  test('a later first billing date is due at its charge time; an earlier one is refused', () => {
    const later = created(SIGNUP, { firstBillingDate: calendarDate(2027, 2, 15) });
    expect(later.nextChargeAt).toBe(kst('2027-02-15 10:00'));
    expect(dueAttempt(later, kst('2027-02-15 09:59'))).toBeUndefined();
    expect(() => created(SIGNUP, { firstBillingDate: calendarDate(2027, 1, 30) })).toThrow(
      InvalidSubscriptionError,
    );
  });

  test('an explicit anchor keeps a clamped start on its anchor (Feb 28 start, anchor 31)', () => {
    const sub = created(kst('2027-02-28 12:00'), { anchorDay: 31 });
    expect(sub.schedule.interval).toEqual({ unit: 'month', count: 1, anchorDay: 31 });
  });

  test('signing up inside the maintenance window makes period 0 due at 00:30 KST', () => {
    expect(created(kst('2027-01-31 23:45')).nextChargeAt).toBe(kst('2027-02-01 00:30'));
  });

  test('amounts Payple cannot charge, bad ids and charge times inside the maintenance window are refused', () => {
    const plan = newSubscription().plan;
    expect(() => created(SIGNUP, { plan: { ...plan, amount: 99 } })).toThrow(InvalidSubscriptionError);
    expect(() => created(SIGNUP, { plan: { ...plan, amount: 99.5 } })).toThrow(InvalidSubscriptionError);
    expect(() => created(SIGNUP, { payType: 'transfer', plan: { ...plan, amount: 999 } })).toThrow(
      InvalidSubscriptionError,
    );
    expect(() => created(SIGNUP, { payType: 'transfer', plan: { ...plan, amount: 2_000_001 } })).toThrow(
      InvalidSubscriptionError,
    );
    expect(() => created(SIGNUP, { id: 'sub-1' })).toThrow(InvalidOidPartError);
    expect(() => created(SIGNUP, { chargeTimeOfDay: { hour: 23, minute: 30 } })).toThrow(
      ChargeTimeInMaintenanceWindowError,
    );
  });
});

describe('the first payment', () => {
  test('paid: active, period 1 due on its billing date', () => {
    const result = chargeDue(created(SIGNUP), SIGNUP, { kind: 'paid' });
    expect(result.oid).toBe('sub01-20270131-1');
    expect(result.subscription).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      attemptsMade: 0,
      lastPaidPeriod: 0,
      nextChargeAt: kst('2027-02-28 10:00'),
    });
    expect(eventTypes(result)).toEqual(['payment.succeeded', 'subscription.activated']);
    expect(result.events[0]).toMatchObject({ oid: 'sub01-20270131-1', amount: 9_900, period: 0, attempt: 1 });
  });

  test.each(['soft_declined', 'hard_declined'] as const)(
    '%s: the subscription is canceled (first_payment_failed), not sent to dunning',
    (kind) => {
      const result = chargeDue(created(SIGNUP), SIGNUP, { kind });
      expect(result.subscription.status).toBe('canceled');
      expect(result.subscription.cancellation).toMatchObject({ reason: 'first_payment_failed' });
      expect(eventTypes(result)).toEqual(['payment.failed', 'subscription.canceled']);
      expectNothingDueUntil(result.subscription, kst('2028-01-01 10:00'));
    },
  );

  test('config error: held, still incomplete; releasing the hold charges attempt 2 at once', () => {
    const held = chargeDue(created(SIGNUP), SIGNUP, { kind: 'config_error', code: 'AUTH0004' });
    expect(held.subscription).toMatchObject({
      status: 'incomplete',
      hold: { reason: 'config_error', code: 'AUTH0004' },
    });
    expect(eventTypes(held)).toEqual(['payment.failed', 'subscription.held']);
    const released = releaseHold(held.subscription, kst('2027-01-31 11:00'));
    expect(dueAttempt(released.subscription, kst('2027-01-31 11:00'))).toEqual({ period: 0, attempt: 2 });
  });
});

describe('claiming an attempt', () => {
  test('the charger gets everything it sends to Payple, and the attempt is in flight', () => {
    const sub = active();
    const claimed = claimAttempt(sub, { period: 1, attempt: 1 }, kst('2027-02-28 10:00'));
    expect(claimed.charge).toEqual({
      subscriptionId: 'sub01',
      oid: 'sub01-20270228-1',
      period: 1,
      periodKey: '20270228',
      attempt: 1,
      payType: 'card',
      billingKeyRef: SECRET_BILLING_KEY,
      amount: 9_900,
      goodsName: 'Basic plan',
      monthGuard: { year: 2027, month: 2 },
    });
    expect(claimed.subscription.inFlight).toMatchObject({
      oid: 'sub01-20270228-1',
      claimedAt: kst('2027-02-28 10:00'),
    });
    expect(claimed.subscription.version).toBe(sub.version + 1);
    expect(claimed.subscription.nextChargeAt).toBeNull();
    expect(claimed.events).toEqual([]);
  });

  test('only the due period and attempt, only once, only when due, and never in the maintenance window', () => {
    const sub = active();
    const due = kst('2027-02-28 10:00');
    expect(refusal(() => claimAttempt(sub, { period: 1, attempt: 1 }, due - 1))).toBe('not_yet_due');
    expect(refusal(() => claimAttempt(sub, { period: 1, attempt: 2 }, due))).toBe('different_attempt');
    expect(refusal(() => claimAttempt(sub, { period: 0, attempt: 1 }, due))).toBe('different_attempt');
    expect(refusal(() => claimAttempt(sub, { period: 1, attempt: 1 }, kst('2027-02-28 23:35')))).toBe(
      'maintenance_window',
    );
    const claimed = claimAttempt(sub, { period: 1, attempt: 1 }, due).subscription;
    expect(refusal(() => claimAttempt(claimed, { period: 1, attempt: 1 }, due))).toBe('attempt_in_flight');
    const canceled = cancel(sub, { reason: 'requested_by_customer' }, due).subscription;
    expect(refusal(() => claimAttempt(canceled, { period: 1, attempt: 1 }, due))).toBe('not_scheduled');
  });

  test('a refused claim is an IllegalTransitionError and is not retryable', () => {
    const error = (() => {
      try {
        claimAttempt(active(), { period: 1, attempt: 1 }, SIGNUP);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect(error).toMatchObject({ retryable: false, subscriptionId: 'sub01', action: 'claim_attempt' });
  });
});

describe('paying periods', () => {
  test('each paid period schedules the next on its own billing date: Feb 28, Mar 31, Apr 30', () => {
    let sub = active();
    const charged: string[] = [];
    for (const at of ['2027-02-28 10:00', '2027-03-31 10:00', '2027-04-30 10:00']) {
      const result = chargeDue(sub, kst(at), { kind: 'paid' });
      charged.push(result.oid);
      expect(eventTypes(result)).toEqual(['payment.succeeded']);
      sub = result.subscription;
    }
    expect(charged).toEqual(['sub01-20270228-1', 'sub01-20270331-1', 'sub01-20270430-1']);
    expect(sub.nextChargeAt).toBe(kst('2027-05-31 10:00'));
  });
});

describe('dunning after soft declines', () => {
  test('retries on days 1, 3, 5 and 7 after the first failure, each a new attempt, then unpaid', () => {
    let sub = active();
    const at = [
      '2027-02-28 10:00',
      '2027-03-01 10:00',
      '2027-03-03 10:00',
      '2027-03-05 10:00',
      '2027-03-07 10:00',
    ];
    const oids: string[] = [];
    const statuses: string[] = [];
    const next: (number | null)[] = [];
    const types: string[][] = [];
    for (const when of at) {
      const result = chargeDue(sub, kst(when), { kind: 'soft_declined', code: '3133' });
      sub = result.subscription;
      oids.push(result.oid);
      statuses.push(sub.status);
      next.push(sub.nextChargeAt);
      types.push(eventTypes(result));
    }
    expect(oids).toEqual([1, 2, 3, 4, 5].map((n) => `sub01-20270228-${n}`));
    expect(statuses).toEqual(['past_due', 'past_due', 'past_due', 'past_due', 'unpaid']);
    expect(next).toEqual([...at.slice(1).map(kst), null]);
    expect(types).toEqual([
      ['payment.failed', 'subscription.past_due'],
      ['payment.failed'],
      ['payment.failed'],
      ['payment.failed'],
      ['payment.failed', 'subscription.unpaid'],
    ]);
    expect(sub.dunning).toEqual({ retriesUsed: 4, firstFailedAt: kst('2027-02-28 10:00') });
    expectNothingDueUntil(sub, kst('2028-06-01 10:00'));
  });

  test('the failure event says when the next attempt runs', () => {
    const result = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined', code: '3133' });
    expect(result.events[0]).toMatchObject({
      type: 'payment.failed',
      declineClass: 'soft',
      code: '3133',
      nextAttemptAt: kst('2027-03-01 10:00'),
    });
  });

  test('a retry that succeeds recovers the subscription; the next period keeps its own date', () => {
    const failed = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined' }).subscription;
    const recovered = chargeDue(failed, kst('2027-03-01 10:00'), { kind: 'paid' });
    expect(recovered.subscription).toMatchObject({
      status: 'active',
      currentPeriod: 2,
      attemptsMade: 0,
      dunning: { retriesUsed: 0, firstFailedAt: null },
      nextChargeAt: kst('2027-03-31 10:00'),
    });
    expect(eventTypes(recovered)).toEqual(['payment.succeeded', 'subscription.recovered']);
  });

  test('a custom policy and a policy without retries', () => {
    const custom = dunningPolicy([2]);
    const once = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined' }, custom).subscription;
    expect(once.nextChargeAt).toBe(kst('2027-03-02 10:00'));
    const none = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined' }, dunningPolicy([]));
    expect(none.subscription.status).toBe('unpaid');
  });
});

describe('hard declines', () => {
  test('stop automatic charges and ask for a new payment method', () => {
    const result = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'hard_declined', code: '3100' });
    expect(result.subscription).toMatchObject({
      status: 'past_due',
      paymentMethod: { status: 'needs_replacement', problem: 'declined_hard' },
    });
    expect(eventTypes(result)).toEqual([
      'payment.failed',
      'subscription.past_due',
      'subscription.payment_method_required',
    ]);
    expect(result.events[1]).toMatchObject({ nextAttemptAt: null });
    expectNothingDueUntil(result.subscription, kst('2028-02-28 10:00'));
  });

  test('a hard decline during dunning cancels the remaining retries', () => {
    const soft = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined' }).subscription;
    const hard = chargeDue(soft, kst('2027-03-01 10:00'), { kind: 'hard_declined' });
    expect(hard.subscription.status).toBe('past_due');
    expect(eventTypes(hard)).toEqual(['payment.failed', 'subscription.payment_method_required']);
    expectNothingDueUntil(hard.subscription, kst('2027-12-01 10:00'));
  });
});

describe('configuration errors', () => {
  test('hold the subscription without using a retry; releasing re-arms with the next attempt', () => {
    const soft = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'soft_declined' }).subscription;
    const held = chargeDue(soft, kst('2027-03-01 10:00'), { kind: 'config_error', code: 'AUTH0004' });
    expect(held.subscription).toMatchObject({
      status: 'past_due',
      hold: { period: 1, attempt: 2, since: kst('2027-03-01 10:00') },
      dunning: { retriesUsed: 1 },
    });
    expectNothingDueUntil(held.subscription, kst('2027-06-01 10:00'));

    const released = releaseHold(held.subscription, kst('2027-03-02 15:00'));
    expect(eventTypes(released)).toEqual(['subscription.hold_released']);
    expect(dueAttempt(released.subscription, kst('2027-03-02 15:00'))).toEqual({ period: 1, attempt: 3 });

    // The third attempt's soft decline takes retry 2 (day 3 after the first failure), not retry 1.
    const retried = chargeDue(released.subscription, kst('2027-03-02 15:00'), { kind: 'soft_declined' });
    expect(retried.subscription.dunning.retriesUsed).toBe(2);
    expect(retried.subscription.nextChargeAt).toBe(kst('2027-03-03 10:00'));
  });

  test('releasing without a hold is illegal', () => {
    expect(() => releaseHold(active(), SIGNUP)).toThrow(IllegalTransitionError);
  });
});

describe('unknown outcomes and the reconciler', () => {
  const due = kst('2027-02-28 10:00');

  test('unknown changes nothing and blocks the period', () => {
    const sub = active();
    const claimed = claimAttempt(sub, { period: 1, attempt: 1 }, due).subscription;
    const result = settleAttempt(claimed, { period: 1, attempt: 1 }, { kind: 'unknown' }, due + 15_000);
    expect(result.subscription).toBe(claimed);
    expect(eventTypes(result)).toEqual(['payment.unknown']);
    expect(result.events[0]).toMatchObject({ sequence: claimed.version, oid: 'sub01-20270228-1' });
    expect(dueAttempt(result.subscription, kst('2027-03-30 10:00'))).toBeUndefined();
    expect(refusal(() => claimAttempt(result.subscription, { period: 1, attempt: 2 }, due))).toBe(
      'attempt_in_flight',
    );
  });

  test('not_charged makes exactly one new attempt of the same period, due at once, using no retry', () => {
    const claimed = claimAttempt(active(), { period: 1, attempt: 1 }, due).subscription;
    const found = kst('2027-02-28 10:20');
    const result = settleAttempt(
      claimed,
      { period: 1, attempt: 1 },
      { kind: 'not_charged', resolvedBy: 'result_lookup' },
      found,
    );
    expect(result.subscription).toMatchObject({
      status: 'active',
      dunning: { retriesUsed: 0 },
      nextChargeAt: found,
    });
    expect(result.events).toEqual([
      expect.objectContaining({
        type: 'payment.settled',
        result: 'not_charged',
        resolvedBy: 'result_lookup',
      }),
    ]);
    expect(dueAttempt(result.subscription, found)).toEqual({ period: 1, attempt: 2 });
    const second = claimAttempt(result.subscription, { period: 1, attempt: 2 }, found);
    expect(second.charge.oid).toBe('sub01-20270228-2');
    expect(refusal(() => claimAttempt(second.subscription, { period: 1, attempt: 2 }, found))).toBe(
      'attempt_in_flight',
    );
    expect(refusal(() => claimAttempt(result.subscription, { period: 1, attempt: 3 }, found))).toBe(
      'different_attempt',
    );
  });

  test('a webhook that settles an unknown attempt as paid reports both the payment and the settlement', () => {
    const claimed = claimAttempt(active(), { period: 1, attempt: 1 }, due).subscription;
    const result = settleAttempt(
      claimed,
      { period: 1, attempt: 1 },
      { kind: 'paid', resolvedBy: 'webhook' },
      due + 60_000,
    );
    expect(eventTypes(result)).toEqual(['payment.succeeded', 'payment.settled']);
    expect(result.events[1]).toMatchObject({ result: 'paid', resolvedBy: 'webhook' });
  });

  test('an outcome for an attempt that is not in flight is refused (late webhook, second reconciler run)', () => {
    const sub = active();
    expect(() => settleAttempt(sub, { period: 1, attempt: 1 }, { kind: 'paid' }, due)).toThrow(
      AttemptNotInFlightError,
    );
    const claimed = claimAttempt(sub, { period: 1, attempt: 1 }, due).subscription;
    expect(() => settleAttempt(claimed, { period: 1, attempt: 2 }, { kind: 'paid' }, due)).toThrow(
      AttemptNotInFlightError,
    );
    const paid = settleAttempt(claimed, { period: 1, attempt: 1 }, { kind: 'paid' }, due).subscription;
    expect(() => settleAttempt(paid, { period: 1, attempt: 1 }, { kind: 'soft_declined' }, due)).toThrow(
      AttemptNotInFlightError,
    );
  });
});

describe('replacing the payment method', () => {
  test('an unpaid subscription is charged at once with a new attempt and a fresh dunning cycle', () => {
    let sub = active();
    for (const when of [
      '2027-02-28 10:00',
      '2027-03-01 10:00',
      '2027-03-03 10:00',
      '2027-03-05 10:00',
      '2027-03-07 10:00',
    ]) {
      sub = chargeDue(sub, kst(when), { kind: 'soft_declined' }).subscription;
    }
    expect(sub.status).toBe('unpaid');
    const replacedAt = kst('2027-03-12 14:00');
    const replaced = replacePaymentMethod(sub, { payType: 'card', billingKeyRef: 'NEW-KEY' }, replacedAt);
    expect(replaced.subscription).toMatchObject({
      status: 'unpaid',
      paymentMethod: { billingKeyRef: 'NEW-KEY', revision: 2, status: 'valid' },
      dunning: { retriesUsed: 0, firstFailedAt: null },
      nextChargeAt: replacedAt,
    });
    expect(replaced.events[0]).toMatchObject({
      type: 'subscription.payment_method_replaced',
      nextAttemptAt: replacedAt,
    });
    expect(replaced.events[0]).not.toHaveProperty('billingKeyRef');
    expect(dueAttempt(replaced.subscription, replacedAt)).toEqual({ period: 1, attempt: 6 });

    const declined = chargeDue(replaced.subscription, replacedAt, { kind: 'soft_declined' });
    expect(declined.subscription).toMatchObject({
      status: 'past_due',
      nextChargeAt: kst('2027-03-13 10:00'),
    });
    expect(eventTypes(declined)).toEqual(['payment.failed', 'subscription.past_due']);
  });

  test('after a hard decline the new key recovers the subscription', () => {
    const hard = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'hard_declined' }).subscription;
    const replacedAt = kst('2027-03-04 20:00');
    const replaced = replacePaymentMethod(
      hard,
      { payType: 'transfer', billingKeyRef: 'BANK-KEY' },
      replacedAt,
    ).subscription;
    expect(dueAttempt(replaced, replacedAt)).toEqual({ period: 1, attempt: 2 });
    const paid = chargeDue(replaced, replacedAt, { kind: 'paid' });
    expect(paid.subscription).toMatchObject({
      status: 'active',
      currentPeriod: 2,
      nextChargeAt: kst('2027-03-31 10:00'),
    });
    expect(paid.events[0]).toMatchObject({ type: 'payment.succeeded', payType: 'transfer' });
    expect(eventTypes(paid)).toContain('subscription.recovered');
  });

  test('an active subscription just switches keys; its schedule does not move', () => {
    const sub = active();
    const replaced = replacePaymentMethod(
      sub,
      { payType: 'card', billingKeyRef: 'NEW-KEY' },
      kst('2027-02-10 12:00'),
    );
    expect(replaced.subscription.nextChargeAt).toBe(sub.nextChargeAt);
    expect(replaced.subscription.attemptsMade).toBe(0);
  });

  test('a decline of the old key while the new one was registered charges the new key at once', () => {
    const due = kst('2027-02-28 10:00');
    const claimed = claimAttempt(active(), { period: 1, attempt: 1 }, due).subscription;
    const replaced = replacePaymentMethod(
      claimed,
      { payType: 'card', billingKeyRef: 'NEW-KEY' },
      due + 1_000,
    ).subscription;
    const declined = settleAttempt(
      replaced,
      { period: 1, attempt: 1 },
      { kind: 'hard_declined' },
      due + 2_000,
    );
    expect(declined.subscription).toMatchObject({ status: 'active', paymentMethod: { status: 'valid' } });
    expect(eventTypes(declined)).toEqual(['payment.failed']);
    expect(dueAttempt(declined.subscription, due + 2_000)).toEqual({ period: 1, attempt: 2 });
  });

  test('a transfer key is refused when the plan amount is beyond the transfer limits', () => {
    const sub = activeSubscription(SIGNUP, { plan: { ...newSubscription().plan, amount: 500 } });
    expect(() => replacePaymentMethod(sub, { payType: 'transfer', billingKeyRef: 'BANK' }, SIGNUP)).toThrow(
      InvalidSubscriptionError,
    );
  });
});

describe('terminated billing keys', () => {
  test('flag the method at once; the scheduled charge is still tried and its refusal makes it past_due', () => {
    const sub = active();
    const flagged = terminatePaymentMethod(sub, SECRET_BILLING_KEY, kst('2027-02-10 08:00'));
    expect(flagged.subscription.paymentMethod).toMatchObject({
      status: 'needs_replacement',
      problem: 'key_terminated',
    });
    expect(eventTypes(flagged)).toEqual(['subscription.payment_method_required']);
    expect(flagged.subscription.nextChargeAt).toBe(sub.nextChargeAt);

    const refused = chargeDue(flagged.subscription, kst('2027-02-28 10:00'), {
      kind: 'hard_declined',
      code: 'SPCD0011',
    });
    expect(refused.subscription).toMatchObject({
      status: 'past_due',
      paymentMethod: { problem: 'key_terminated' },
    });
    expect(eventTypes(refused)).toEqual(['payment.failed', 'subscription.past_due']);
  });

  test('a replaced key or an already flagged one changes nothing', () => {
    const sub = active();
    const other = terminatePaymentMethod(sub, 'SOME-OLD-KEY', SIGNUP);
    expect(other.subscription).toBe(sub);
    expect(other.events).toEqual([]);
  });
});

describe('pause and resume', () => {
  test('a pause stops charges; resuming within the paid period bills on the next billing date', () => {
    const paused = pause(active(), kst('2027-02-10 12:00'));
    expect(paused.subscription.status).toBe('paused');
    expectNothingDueUntil(paused.subscription, kst('2027-03-01 10:00'));
    const resumed = resume(paused.subscription, kst('2027-02-20 12:00'));
    expect(resumed.subscription).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      nextChargeAt: kst('2027-02-28 10:00'),
    });
    expect(eventTypes(resumed)).toEqual(['subscription.resumed']);
  });

  test('resuming later skips the periods spent paused and charges the current one at once', () => {
    const paused = pause(active(), kst('2027-02-10 12:00')).subscription;
    const resumedAt = kst('2027-04-15 12:00');
    const resumed = resume(paused, resumedAt);
    // Feb 28's period began and ended while paused: skipped. Mar 31's is in progress: charged at once.
    expect(resumed.subscription).toMatchObject({ currentPeriod: 2, nextChargeAt: resumedAt });
    expect(eventTypes(resumed)).toEqual(['subscription.resumed', 'subscription.periods_skipped']);
    expect(resumed.events[1]).toMatchObject({ fromPeriod: 1, toPeriod: 2, reason: 'resumed' });
    expect(chargeDue(resumed.subscription, resumedAt, { kind: 'paid' }).oid).toBe('sub01-20270331-1');
  });

  test('pausing and resuming on the billing day before the charge ran still charges that period', () => {
    const paused = pause(active(), kst('2027-02-28 10:01')).subscription;
    const resumed = resume(paused, kst('2027-02-28 10:02')).subscription;
    expect(dueAttempt(resumed, kst('2027-02-28 10:02'))).toEqual({ period: 1, attempt: 1 });
  });

  test('only an active subscription with nothing in flight can be paused; only a paused one resumed', () => {
    const due = kst('2027-02-28 10:00');
    const claimed = claimAttempt(active(), { period: 1, attempt: 1 }, due).subscription;
    expect(() => pause(claimed, due)).toThrow(AttemptInFlightError);
    expect(() => pause(claimed, due)).toThrow(expect.objectContaining({ retryable: true }));
    const pastDue = chargeDue(active(), due, { kind: 'soft_declined' }).subscription;
    expect(() => pause(pastDue, due)).toThrow(IllegalTransitionError);
    expect(() => resume(active(), due)).toThrow(IllegalTransitionError);
  });
});

describe('cancellation', () => {
  test('at period end: no more charges, service until the end of the last paid period', () => {
    const result = cancel(active(), { reason: 'requested_by_customer' }, kst('2027-02-10 12:00'));
    expect(result.subscription.status).toBe('canceled');
    expect(result.subscription.cancellation).toEqual({
      reason: 'requested_by_customer',
      effect: 'period_end',
      at: kst('2027-02-10 12:00'),
      serviceEndsAt: kst('2027-02-28 00:00'),
    });
    expect(eventTypes(result)).toEqual(['subscription.canceled']);
    expectNothingDueUntil(result.subscription, kst('2028-01-01 10:00'));
  });

  test('immediately: service ends now', () => {
    const now = kst('2027-02-10 12:00');
    const result = cancel(active(), { reason: 'requested_by_merchant', effect: 'immediately' }, now);
    expect(result.subscription.cancellation?.serviceEndsAt).toBe(now);
  });

  test('an attempt in flight when canceled is still settled; a payment extends the paid service', () => {
    const due = kst('2027-02-28 10:00');
    const claimed = claimAttempt(active(), { period: 1, attempt: 1 }, due).subscription;
    const canceled = cancel(claimed, { reason: 'requested_by_customer' }, due + 1_000).subscription;
    expect(canceled.inFlight).not.toBeNull();
    const paid = settleAttempt(canceled, { period: 1, attempt: 1 }, { kind: 'paid' }, due + 2_000);
    expect(paid.subscription).toMatchObject({
      status: 'canceled',
      inFlight: null,
      nextChargeAt: null,
      lastPaidPeriod: 1,
    });
    expect(paid.subscription.cancellation?.serviceEndsAt).toBe(kst('2027-03-31 00:00'));
    expect(eventTypes(paid)).toEqual(['payment.succeeded']);

    const declined = settleAttempt(
      canceled,
      { period: 1, attempt: 1 },
      { kind: 'soft_declined' },
      due + 2_000,
    );
    expect(declined.subscription).toMatchObject({ status: 'canceled', inFlight: null, nextChargeAt: null });
    expect(declined.events[0]).toMatchObject({ type: 'payment.failed', nextAttemptAt: null });
  });

  test('a canceled subscription cannot be canceled, resumed, re-keyed or released', () => {
    const canceled = cancel(active(), { reason: 'requested_by_customer' }, SIGNUP).subscription;
    expect(() => cancel(canceled, { reason: 'requested_by_customer' }, SIGNUP)).toThrow(
      IllegalTransitionError,
    );
    expect(() => resume(canceled, SIGNUP)).toThrow(IllegalTransitionError);
    expect(() => replacePaymentMethod(canceled, { payType: 'card', billingKeyRef: 'K' }, SIGNUP)).toThrow(
      IllegalTransitionError,
    );
    expect(() => releaseHold(canceled, SIGNUP)).toThrow(IllegalTransitionError);
    expect(() => terminatePaymentMethod(canceled, SECRET_BILLING_KEY, SIGNUP)).toThrow(
      IllegalTransitionError,
    );
    expect(() => pause(canceled, SIGNUP)).toThrow(IllegalTransitionError);
  });
});

describe('catching up after a long hold', () => {
  test('the held period is charged, whole periods in between are skipped, the current one charged at once', () => {
    const held = chargeDue(active(), kst('2027-02-28 10:00'), { kind: 'config_error' }).subscription;
    const releasedAt = kst('2027-05-15 09:00');
    const released = releaseHold(held, releasedAt).subscription;
    const paid = chargeDue(released, releasedAt, { kind: 'paid' });
    expect(paid.oid).toBe('sub01-20270228-2');
    // Mar 31 (period 2) passed entirely; Apr 30 (period 3) is the period we are in: due at once.
    expect(paid.subscription).toMatchObject({ currentPeriod: 3, nextChargeAt: releasedAt });
    expect(paid.events).toContainEqual(
      expect.objectContaining({
        type: 'subscription.periods_skipped',
        fromPeriod: 2,
        toPeriod: 3,
        reason: 'caught_up',
      }),
    );
    expect(chargeDue(paid.subscription, releasedAt, { kind: 'paid' }).subscription.nextChargeAt).toBe(
      kst('2027-05-31 10:00'),
    );
  });
});

describe('refunds', () => {
  test('a refund is reported without changing the subscription', () => {
    const sub = active();
    const result = recordRefund(
      sub,
      {
        period: 0,
        attempt: 1,
        payType: 'card',
        paidAmount: 9_900,
        refundedAmount: 4_000,
        refundedTotal: 4_000,
      },
      kst('2027-02-01 12:00'),
    );
    expect(result.subscription).toBe(sub);
    expect(result.events[0]).toMatchObject({
      type: 'payment.refunded',
      oid: 'sub01-20270131-1',
      refundedAmount: 4_000,
      fullyRefunded: false,
      sequence: sub.version,
    });
  });

  test('refunds beyond the payment or in fractions of a won are refused', () => {
    const base = { period: 0, attempt: 1, payType: 'card' as const, paidAmount: 9_900 };
    expect(() =>
      recordRefund(active(), { ...base, refundedAmount: 10_000, refundedTotal: 10_000 }, SIGNUP),
    ).toThrow(InvalidRefundError);
    expect(() =>
      recordRefund(active(), { ...base, refundedAmount: 0.5, refundedTotal: 0.5 }, SIGNUP),
    ).toThrow(InvalidRefundError);
  });
});

describe('Payple classifications', () => {
  test('map onto outcomes; a token expiry resends the same OID and a duplicate OID is unknown', () => {
    expect(outcomeKindFor('success')).toBe('paid');
    expect(outcomeKindFor('soft_decline')).toBe('soft_declined');
    expect(outcomeKindFor('hard_decline')).toBe('hard_declined');
    expect(outcomeKindFor('config_error')).toBe('config_error');
    expect(outcomeKindFor('token_expired')).toBe('resend_same_oid');
    expect(outcomeKindFor('duplicate_oid')).toBe('unknown');
    expect(outcomeKindFor('unknown')).toBe('unknown');
  });
});

describe('events', () => {
  test('carry ids, the new version and status, and no billing key or personal data', () => {
    const events: DomainEvent[] = [];
    const collect = (t: Transition): Subscription => {
      events.push(...t.events);
      for (const event of t.events) expect(event.sequence).toBe(t.subscription.version);
      return t.subscription;
    };
    let sub = collect(createSubscription(newSubscription(), SIGNUP));
    sub = collect(chargeDue(sub, SIGNUP, { kind: 'paid' }));
    sub = collect(chargeDue(sub, kst('2027-02-28 10:00'), { kind: 'hard_declined' }));
    sub = collect(
      replacePaymentMethod(sub, { payType: 'card', billingKeyRef: 'SECRET-2' }, kst('2027-03-01 09:00')),
    );
    sub = collect(chargeDue(sub, kst('2027-03-01 09:00'), { kind: 'paid' }));
    collect(cancel(sub, { reason: 'requested_by_customer' }, kst('2027-03-02 09:00')));
    const json = JSON.stringify(events);
    for (const secret of [SECRET_BILLING_KEY, 'SECRET-2', CUSTOMER_NAME, CUSTOMER_PHONE, CUSTOMER_EMAIL]) {
      expect(json).not.toContain(secret);
    }
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    expect(events.every((event) => event.subscriptionId === 'sub01' && event.customerId === 'cus_1')).toBe(
      true,
    );
  });
});

test('log fields carry identifiers and states, never the billing key or personal data', () => {
  const fields = JSON.stringify(subscriptionLogFields(active()));
  for (const secret of [SECRET_BILLING_KEY, CUSTOMER_NAME, CUSTOMER_PHONE, CUSTOMER_EMAIL]) {
    expect(fields).not.toContain(secret);
  }
  expect(subscriptionLogFields(active())).toMatchObject({ subscriptionId: 'sub01', status: 'active' });
});

test('scheduledAttempt exposes what the dispatcher enqueues, due or not', () => {
  expect(scheduledAttempt(active())).toEqual({ period: 1, attempt: 1, dueAt: kst('2027-02-28 10:00') });
});
