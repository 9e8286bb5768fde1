import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';

describe('a due subscription is charged once through dispatcher, queue and charger', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-01-30T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('the billing date charges the card once, records it paid and moves to the next period', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 1, day: 31 },
    });

    await billAt(stack, '2027-01-30T10:05:00+09:00');
    expect(stack.sandbox.admin.ledger()).toHaveLength(0);

    await billAt(stack, '2027-01-31T10:05:00+09:00');
    await billAt(stack, '2027-01-31T10:15:00+09:00');

    const ledger = stack.sandbox.admin.ledger();
    expect(ledger).toHaveLength(1);
    const oid = `${subscription.id}-20270131-1`;
    expect(ledger[0]).toMatchObject({ oid, amount: 9_900 });
    const payment = await stack.billing.store.getPayment(oid);
    expect(payment).toMatchObject({ state: 'paid', amount: 9_900, requestDate: '20270131', period: 0 });
    const after = await stack.billing.store.getSubscription(subscription.id);
    expect(after).toMatchObject({ status: 'active', currentPeriod: 1, inFlight: null });
    expect(after?.nextChargeAt).toBe(Date.parse('2027-02-28T10:00:00+09:00'));
    const types = stack.eventBus.events().map((e) => e.detailType);
    expect(types).toContain('payment.succeeded');
  });
});
