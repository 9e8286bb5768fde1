import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  cancelBody,
  chargeNow,
  eventsOf,
  MINUTE,
  paidPayment,
  postWebhook,
  refundAtPayple,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  unknownPayment,
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
  harness.stack.sandbox.admin.clearFaults();
  await releaseWebhooks(harness);
});

function refundEvents(subscriptionId: string) {
  return eventsOf(harness, subscriptionId).filter((event) => event.type === 'payment.refunded');
}

describe("refunds reported by Payple's cancellation webhook are recorded", () => {
  test('a full refund at Payple: the payment is refunded and payment.refunded is published', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const subscriptionBefore = await stack.billing.store.getSubscription(made.subscription.id);
    stack.sandbox.admin.setWebhookUrl(harness.url);

    await refundAtPayple(harness, made, made.payment.amount);
    await stack.sandbox.admin.webhooksIdle();

    expect(
      stack.sandbox.admin.webhooks().find((d) => d.operation === 'cancel' && d.oid === made.oid),
    ).toMatchObject({
      httpStatus: 200,
    });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: made.payment.amount,
      refunds: [{ amount: made.payment.amount }],
    });
    expect(refundEvents(made.subscription.id)).toMatchObject([
      { oid: made.oid, refundedAmount: 9_900, refundedTotal: 9_900, fullyRefunded: true },
    ]);
    // A refund does not change the subscription: whether service continues is the merchant's call.
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toEqual(subscriptionBefore);
  });

  test('partial refunds add up, each once, until the payment is fully refunded', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const subscriptionBefore = await stack.billing.store.getSubscription(made.subscription.id);
    stack.sandbox.admin.setWebhookUrl(harness.url);

    await refundAtPayple(harness, made, 3_000);
    await stack.sandbox.admin.webhooksIdle();
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 3_000,
    });

    // The same amount again, a minute later: a second refund, not a duplicate.
    await stack.clock.set(stack.clock.now() + MINUTE);
    await refundAtPayple(harness, made, 3_000);
    // Delivered before the next refund: two webhooks in flight may arrive in either order.
    await stack.sandbox.admin.webhooksIdle();
    await stack.clock.set(stack.clock.now() + MINUTE);
    await refundAtPayple(harness, made, 3_900);
    await stack.sandbox.admin.webhooksIdle();

    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
      refunds: [{ amount: 3_000 }, { amount: 3_000 }, { amount: 3_900 }],
    });
    expect(refundEvents(made.subscription.id)).toMatchObject([
      { refundedAmount: 3_000, refundedTotal: 3_000, fullyRefunded: false },
      { refundedAmount: 3_000, refundedTotal: 6_000, fullyRefunded: false },
      { refundedAmount: 3_900, refundedTotal: 9_900, fullyRefunded: true },
    ]);
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toEqual(subscriptionBefore);
  });

  test('the same cancellation delivered twice is recorded once; the copy answers 200', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    stack.sandbox.admin.setWebhookUrl(harness.url);
    stack.sandbox.admin.addFault({ kind: 'webhookDuplicate', copies: 2, operation: 'cancel', oid: made.oid });

    await refundAtPayple(harness, made, 5_000);
    await stack.sandbox.admin.webhooksIdle();

    const copies = stack.sandbox.admin
      .webhooks()
      .filter((d) => d.operation === 'cancel' && d.oid === made.oid);
    expect(copies.map((d) => d.httpStatus)).toEqual([200, 200]);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 5_000,
      refunds: [{ amount: 5_000 }],
    });
    expect(refundEvents(made.subscription.id)).toHaveLength(1);
  });

  test('a late copy of an earlier refund, after a later one, is still a duplicate', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const first = stack.clock.now();
    await postWebhook(harness, cancelBody(made, 2_000, first));
    await postWebhook(harness, cancelBody(made, 1_000, first + MINUTE));
    const before = await snapshot(harness);

    const late = await postWebhook(harness, cancelBody(made, 2_000, first));

    expect(late).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    expect(await snapshot(harness)).toEqual(before);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({ refundedTotal: 3_000 });
  });
});

describe('a cancellation that does not fit a paid payment of ours changes nothing', () => {
  test('more than was paid: 409', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 10_000, harness.stack.clock.now()));

    expect(answer).toMatchObject({ status: 409, json: { result: 'conflict' } });
    expect(await snapshot(harness)).toEqual(before);
  });

  test('more than is left after earlier refunds: 409', async () => {
    const made = await paidPayment(harness);
    const now = harness.stack.clock.now();
    await postWebhook(harness, cancelBody(made, 6_000, now));
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 6_000, now + MINUTE));

    expect(answer).toMatchObject({ status: 409 });
    expect(answer.json?.message).toContain('exceeds amount');
    expect(await snapshot(harness)).toEqual(before);
  });

  test.each([
    ['another billing key', { PCD_PAYER_ID: 'someone-elses-billing-key' }],
    ['another payment amount', { PCD_PAY_TOTAL: '19900' }],
  ])('%s: 409', async (_what, overrides) => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 1_000, harness.stack.clock.now(), overrides));

    expect(answer.status).toBe(409);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a payment we hold as declined: 409', async () => {
    const made = await chargeNow(harness, { card: 'insufficientFunds' });
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 1_000, harness.stack.clock.now()));

    expect(answer).toMatchObject({ status: 409 });
    expect(answer.json?.message).toContain('not paid');
    expect(await snapshot(harness)).toEqual(before);
  });

  test('an unsettled payment: 409, and its lookup is brought forward (a refund says money was taken)', async () => {
    const { stack } = harness;
    const made = await unknownPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 1_000, stack.clock.now()));

    expect(answer).toMatchObject({ status: 409 });
    const after = await snapshot(harness);
    expect({ ...after, payments: undefined }).toEqual({ ...before, payments: undefined });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'unknown',
      reconcile: { nextAt: stack.clock.now() },
    });
  });

  test('an OID that is not ours: 404', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(
      harness,
      cancelBody(made, 1_000, harness.stack.clock.now(), { PCD_PAY_OID: 'other-20270301-1' }),
    );

    expect(answer.status).toBe(404);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a failed cancellation is acknowledged and records nothing', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(
      harness,
      cancelBody(made, 1_000, harness.stack.clock.now(), { PCD_PAY_RST: 'error', PCD_PAY_CODE: 'PAYC0012' }),
    );

    expect(answer).toMatchObject({ status: 200, json: { result: 'acknowledged' } });
    expect(await snapshot(harness)).toEqual(before);
  });

  test.each([
    ['without a refund time', { PCD_REFUND_TIME: '' }],
    ['of 0 won', { PCD_REFUND_TOTAL: '0' }],
    ['with a non-numeric refund', { PCD_REFUND_TOTAL: '1,000' }],
  ])('a cancellation %s: 400', async (_what, overrides) => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, cancelBody(made, 1_000, harness.stack.clock.now(), overrides));

    expect(answer.status).toBe(400);
    expect(await snapshot(harness)).toEqual(before);
  });
});
