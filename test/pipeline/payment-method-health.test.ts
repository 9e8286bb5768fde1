import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';

describe('a hard decline says whether the billing key or the card is the problem', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-05-01T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('an expired card with a live billing key is a card problem', async () => {
    const subscription = await seedSubscription(stack, {
      card: 'expired',
      firstBillingDate: { year: 2027, month: 5, day: 2 },
    });

    await billAt(stack, '2027-05-02T10:05:00+09:00');

    const after = await stack.billing.store.getSubscription(subscription.id);
    expect(after?.paymentMethod).toMatchObject({ status: 'needs_replacement', problem: 'declined_hard' });
  });

  test('a billing key terminated in Payple’s admin is a key problem', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 5, day: 3 },
    });
    stack.sandbox.admin.terminateBillingKey(subscription.paymentMethod.billingKeyRef);

    await billAt(stack, '2027-05-03T10:05:00+09:00');

    const after = await stack.billing.store.getSubscription(subscription.id);
    expect(after?.paymentMethod).toMatchObject({ status: 'needs_replacement', problem: 'key_terminated' });
    expect(
      stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(subscription.id) && e.status === 'charged'),
    ).toEqual([]);
  });
});
