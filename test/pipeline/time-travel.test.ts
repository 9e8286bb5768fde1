import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { seedSubscription, startTestStack } from '../support/local-stack.ts';

describe('moving the clock fires the deployed schedules', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-08-30T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('three months of time travel charge each billing date once, at the first dispatcher run after it', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 8, day: 31 },
    });

    await stack.clock.advanceBy({ months: 3 });

    const charges = stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(subscription.id));
    // Nov 30 09:00 KST: the November date's 10:00 charge is still ahead.
    expect(
      charges.map((entry) => [entry.oid.slice(subscription.id.length + 1), entry.payDate, entry.status]),
    ).toEqual([
      ['20270831-1', '20270831', 'charged'],
      ['20270930-1', '20270930', 'charged'],
      ['20271031-1', '20271031', 'charged'],
    ]);
    expect(stack.clock.errors).toEqual([]);
  });
});
