import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';

interface Detail {
  id: string;
  type: string;
  subscriptionId: string;
  sequence: number;
}

describe('domain events', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-07-01T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  const outboxSize = async () =>
    (await documentClient(stack.dynamo).send(new ScanCommand({ TableName: stack.tables.outbox }))).Items
      ?.length ?? 0;
  const detailsOf = (subscriptionId: string) =>
    stack.eventBus
      .events()
      .map((event) => ({ ...(event.detail as Detail), detailType: event.detailType }))
      .filter((detail) => detail.subscriptionId === subscriptionId);

  test('every outcome is published with the subscription’s growing sequence, and the outbox empties', async () => {
    const subscription = await seedSubscription(stack, {
      card: 'insufficientFunds',
      firstBillingDate: { year: 2027, month: 7, day: 2 },
    });

    await billAt(stack, '2027-07-02T10:05:00+09:00');
    await billAt(stack, '2027-07-03T10:05:00+09:00');

    const details = detailsOf(subscription.id);
    expect(details.map((d) => d.detailType)).toEqual(
      expect.arrayContaining(['subscription.created', 'payment.failed']),
    );
    const sequences = details.map((d) => d.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(details.map((d) => d.id)).size).toBe(details.length);
    expect(await outboxSize()).toBe(0);
  });

  test('events EventBridge refused stay in the outbox and a later dispatcher run publishes them', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 7, day: 4 },
    });
    // EventBridge accepts the call but rejects every entry (the SDK retries whole-call errors itself).
    stack.eventBus.failNext(1, 'reject');

    await billAt(stack, '2027-07-04T10:05:00+09:00');
    expect(detailsOf(subscription.id).map((d) => d.detailType)).not.toContain('payment.succeeded');
    expect(await outboxSize()).toBeGreaterThan(0);

    await billAt(stack, '2027-07-04T10:15:00+09:00');

    expect(detailsOf(subscription.id).map((d) => d.detailType)).toContain('payment.succeeded');
    expect(await outboxSize()).toBe(0);
  });
});
