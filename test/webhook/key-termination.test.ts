import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cancel, createSubscription, type Subscription } from '../../functions/billing/index.ts';
import { seedSubscription } from '../support/local-stack.ts';
import {
  eventsOf,
  keyTerminatedBody,
  postWebhook,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  type WebhookHarness,
} from './support.ts';

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(async () => {
  await harness.stop();
});
afterEach(async () => {
  harness.stack.sandbox.admin.setWebhookUrl(undefined);
  await releaseWebhooks(harness);
});

/** A second subscription charging the same billing key as `first` (a customer with two plans). */
async function secondSubscriptionOn(first: Subscription): Promise<Subscription> {
  const { subscription, events } = createSubscription(
    {
      id: `${first.id}b`,
      customer: first.customer,
      plan: { ...first.plan, id: 'extra' },
      payType: first.paymentMethod.payType,
      billingKeyRef: first.paymentMethod.billingKeyRef,
    },
    harness.stack.clock.now(),
  );
  const result = await harness.stack.billing.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    events,
  });
  if (!result.committed) throw new Error('could not store the second subscription');
  return subscription;
}

describe("billing keys ended in Payple's admin", () => {
  test("Payple's PUSERDEL webhook flags every subscription charging the key and asks the customer", async () => {
    const { stack } = harness;
    const first = await seedSubscription(stack);
    const second = await secondSubscriptionOn(first);
    stack.sandbox.admin.setWebhookUrl(harness.url);

    stack.sandbox.admin.terminateBillingKey(first.paymentMethod.billingKeyRef);
    await stack.sandbox.admin.webhooksIdle();

    const delivery = stack.sandbox.admin.webhooks().find((d) => d.operation === 'keyTerminated');
    expect(delivery).toMatchObject({ status: 'delivered', httpStatus: 200 });
    for (const subscription of [first, second]) {
      const stored = await stack.billing.store.getSubscription(subscription.id);
      expect(stored).toMatchObject({
        status: subscription.status,
        nextChargeAt: subscription.nextChargeAt,
        paymentMethod: { status: 'needs_replacement', problem: 'key_terminated' },
        version: subscription.version + 1,
      });
      expect(eventsOf(harness, subscription.id).map((e) => e.type)).toContain(
        'subscription.payment_method_required',
      );
    }
    expect(harness.metrics.at(-1)).toBe('WebhookKeyTerminations');
    expect(JSON.stringify(harness.logs)).not.toContain(first.paymentMethod.billingKeyRef);
  });

  test('a second copy changes nothing', async () => {
    const { stack } = harness;
    const subscription = await seedSubscription(stack);
    const key = subscription.paymentMethod.billingKeyRef;
    await postWebhook(harness, keyTerminatedBody(key));
    const before = await snapshot(harness);

    const again = await postWebhook(harness, keyTerminatedBody(key));

    expect(again).toMatchObject({ status: 200, json: { result: 'processed' } });
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a key that is not ours: the same 200 answer, nothing changes', async () => {
    const { stack } = harness;
    const known = await seedSubscription(stack);
    const before = await snapshot(harness);

    const unknownKey = await postWebhook(harness, keyTerminatedBody('not-a-key-of-ours'));
    const afterUnknown = await snapshot(harness);
    const knownKey = await postWebhook(harness, keyTerminatedBody(known.paymentMethod.billingKeyRef));

    expect(unknownKey.status).toBe(200);
    expect(afterUnknown).toEqual(before);
    expect(unknownKey.text).toBe(knownKey.text);
  });

  test('a canceled subscription is left alone', async () => {
    const { stack } = harness;
    const subscription = await seedSubscription(stack);
    const canceled = cancel(subscription, { reason: 'requested_by_customer' }, stack.clock.now());
    await stack.billing.store.commit({
      subscription: { expectedVersion: subscription.version, next: canceled.subscription },
      events: canceled.events,
    });
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, keyTerminatedBody(subscription.paymentMethod.billingKeyRef));

    expect(answer.status).toBe(200);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('another partner id: 403 and nothing changes', async () => {
    const subscription = await seedSubscription(harness.stack);
    const before = await snapshot(harness);

    const answer = await postWebhook(
      harness,
      keyTerminatedBody(subscription.paymentMethod.billingKeyRef, { PCD_CST_ID: 'other' }),
    );

    expect(answer.status).toBe(403);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('without PCD_PAYER_ID: 400', async () => {
    const answer = await postWebhook(harness, keyTerminatedBody(''));

    expect(answer.status).toBe(400);
    expect(answer.json?.message).toContain('PCD_PAYER_ID');
  });
});
