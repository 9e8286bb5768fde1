import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';

describe('with Payple’s webhooks delivered, as in npm start', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-09-01T09:00:00+09:00', deliverWebhooks: true });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('a charge whose answer was lost is settled paid by the webhook, before any lookup, and charged once', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 9, day: 2 },
    });
    stack.sandbox.admin.addFault({
      kind: 'httpError',
      execute: true,
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });

    await billAt(stack, '2027-09-02T10:05:00+09:00');
    await stack.sandbox.admin.webhooksIdle();

    const oid = `${subscription.id}-20270902-1`;
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid', resolvedBy: 'webhook' });
    expect(stack.sandbox.admin.lookupUsage().count).toBe(0);
    expect(stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(subscription.id))).toHaveLength(1);
  });

  test('a webhook for a charge already recorded changes nothing', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 9, day: 3 },
    });

    await billAt(stack, '2027-09-03T10:05:00+09:00');
    await stack.sandbox.admin.webhooksIdle();

    const payment = await stack.billing.store.getPayment(`${subscription.id}-20270903-1`);
    expect(payment).toMatchObject({ state: 'paid', resolvedBy: 'charge_answer', version: 2 });
    const delivered = stack.sandbox.admin
      .webhooks()
      .filter((w) => JSON.stringify(w).includes(subscription.id));
    expect(delivered.length).toBeGreaterThan(0);
  });
});
