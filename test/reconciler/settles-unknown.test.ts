import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';

const MINUTE = 60_000;

describe('the reconciler settles attempts whose outcome never arrived', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({
      startAt: '2027-03-01T09:00:00+09:00',
      billing: { paypleTimeouts: { chargeMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('charged at Payple but the answer was a 5xx: the lookup settles it paid, nothing is charged again', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 3, day: 2 },
    });
    const billingKey = subscription.paymentMethod.billingKeyRef;
    stack.sandbox.admin.addFault({
      kind: 'httpError',
      execute: true,
      operation: 'charge',
      payerId: billingKey,
      times: 1,
    });

    await billAt(stack, '2027-03-02T10:05:00+09:00');
    const oid = `${subscription.id}-20270302-1`;
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'unknown' });

    await stack.clock.set(Date.parse('2027-03-02T10:05:00+09:00') + 6 * MINUTE);
    const report = await stack.billing.reconcile();
    await billAt(stack, '2027-03-02T10:30:00+09:00');

    // Requested at 10:05, looked up six minutes later.
    expect(report).toMatchObject({ settled: 1, oldestUnsettledAgeMs: 6 * MINUTE });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
    expect(stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(subscription.id))).toHaveLength(1);
    expect(await stack.billing.store.getSubscription(subscription.id)).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      inFlight: null,
    });
  });

  test('never reached Payple: after the grace period it is not_charged and exactly one new attempt follows', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 3, day: 3 },
    });
    const billingKey = subscription.paymentMethod.billingKeyRef;
    stack.sandbox.admin.addFault({
      kind: 'noAnswer',
      execute: false,
      operation: 'charge',
      payerId: billingKey,
      times: 1,
    });

    await billAt(stack, '2027-03-03T10:05:00+09:00');
    const firstOid = `${subscription.id}-20270303-1`;
    expect(await stack.billing.store.getPayment(firstOid)).toMatchObject({ state: 'unknown' });

    await stack.clock.set(Date.parse('2027-03-03T10:05:00+09:00') + 10 * MINUTE);
    await stack.billing.reconcile();
    expect(await stack.billing.store.getPayment(firstOid)).toMatchObject({ state: 'unknown' });

    await stack.clock.set(Date.parse('2027-03-03T10:05:00+09:00') + 70 * MINUTE);
    await stack.billing.reconcile();
    await billAt(stack, '2027-03-03T11:20:00+09:00');
    await billAt(stack, '2027-03-03T11:30:00+09:00');

    expect(await stack.billing.store.getPayment(firstOid)).toMatchObject({ state: 'not_charged' });
    expect(await stack.billing.store.getPayment(`${subscription.id}-20270303-2`)).toMatchObject({
      state: 'paid',
    });
    const charges = stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(subscription.id));
    expect(charges.map((e) => e.oid)).toEqual([`${subscription.id}-20270303-2`]);
  });
});
