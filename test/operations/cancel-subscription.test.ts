import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  cancel,
  createSubscription,
  pause,
  periodCoverage,
  type Subscription,
} from '../../functions/billing/index.ts';
import { cancelSubscription, releaseBillingKey } from '../../functions/use-cases/cancel-subscription.ts';
import { seedSubscription } from '../support/local-stack.ts';
import {
  eventsOf,
  MINUTE,
  paidPayment,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  unknownPayment,
  type WebhookHarness,
} from '../webhook/support.ts';
import { cancelDeps, InterruptedStore } from './support.ts';

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(async () => {
  await harness.stop();
});
afterEach(async () => {
  harness.stack.sandbox.admin.clearFaults();
  await releaseWebhooks(harness);
});

function keyAtPayple(billingKey: string) {
  return harness.stack.sandbox.admin.billingKeys().find((key) => key.PCD_PAYER_ID === billingKey);
}

/** A second subscription charging a billing key another one already charges. */
async function seedOnKey(billingKey: string): Promise<Subscription> {
  const { stack } = harness;
  const { subscription, events } = createSubscription(
    {
      id: `sub${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      customer: { id: 'cust1', name: '홍길동', phone: '01012345678', email: 'hong@example.com' },
      plan: { id: 'plus', goodsName: '플러스 구독', amount: 4_900, interval: { unit: 'week', count: 1 } },
      payType: 'card',
      billingKeyRef: billingKey,
    },
    stack.clock.now(),
  );
  const result = await stack.billing.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    events,
  });
  if (!result.committed) throw new Error('could not seed');
  return subscription;
}

describe('a subscription is canceled with the domain transition, committed once', () => {
  test('period_end: charges stop at once, service runs to the end of the paid period', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const before = await stack.billing.store.getSubscription(made.subscription.id);
    if (!before) throw new Error('no subscription');
    const now = stack.clock.now();
    const paidThrough = periodCoverage(before.schedule, 0).endsAt;

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      reason: 'requested_by_customer',
    });

    expect(paidThrough).toBe(Date.parse('2027-04-01T00:00:00+09:00'));
    expect(result).toEqual({
      kind: 'canceled',
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      cancellationReason: 'requested_by_customer',
      canceledAt: now,
      serviceEndsAt: paidThrough,
      attemptInFlight: null,
      billingKey: { outcome: 'not_requested' },
    });
    const after = await stack.billing.store.getSubscription(made.subscription.id);
    expect(after).toMatchObject({
      status: 'canceled',
      version: before.version + 1,
      nextChargeAt: null,
      cancellation: {
        reason: 'requested_by_customer',
        effect: 'period_end',
        at: now,
        serviceEndsAt: paidThrough,
      },
    });
    expect(eventsOf(harness, made.subscription.id).at(-1)).toMatchObject({
      type: 'subscription.canceled',
      sequence: before.version + 1,
      status: 'canceled',
      reason: 'requested_by_customer',
      effect: 'period_end',
      serviceEndsAt: paidThrough,
    });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'active' });
  });

  test('immediately: service ends now', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const now = stack.clock.now();

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_merchant',
    });

    expect(result).toMatchObject({ kind: 'canceled', effect: 'immediately', serviceEndsAt: now });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'canceled',
      nextChargeAt: null,
      cancellation: { reason: 'requested_by_merchant', effect: 'immediately', at: now, serviceEndsAt: now },
    });
    expect(eventsOf(harness, made.subscription.id).at(-1)).toMatchObject({
      type: 'subscription.canceled',
      reason: 'requested_by_merchant',
      effect: 'immediately',
      serviceEndsAt: now,
    });
  });

  test("a second cancel is refused with the first one's facts, and nothing changes", async () => {
    const made = await paidPayment(harness);
    const first = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
    });
    const before = await snapshot(harness);

    const second = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      reason: 'requested_by_merchant',
      deleteBillingKey: true,
    });

    expect(first.kind).toBe('canceled');
    expect(second).toEqual({
      kind: 'refused',
      reason: 'already_canceled',
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      cancellationReason: 'requested_by_customer',
      canceledAt: first.kind === 'canceled' ? first.canceledAt : -1,
      serviceEndsAt: first.kind === 'canceled' ? first.serviceEndsAt : -1,
    });
    expect(await snapshot(harness)).toEqual(before);
  });

  test('an unknown subscription or an invalid command: refused, nothing changes', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const missing = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: 'subnosuchone',
      effect: 'immediately',
      reason: 'requested_by_customer',
    });
    const invalid = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'someday' as 'immediately',
      reason: 'first_payment_failed' as 'requested_by_customer',
    });

    expect(missing).toEqual({ kind: 'refused', subscriptionId: 'subnosuchone', reason: 'not_found' });
    expect(invalid).toMatchObject({ kind: 'refused', reason: 'invalid_command' });
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a concurrent change is re-read and the cancel applied on top of it', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const store = new InterruptedStore(stack.billing.store, {
      beforeCommit: async () => {
        const current = await stack.billing.store.getSubscription(made.subscription.id);
        if (!current) throw new Error('no subscription');
        const paused = pause(current, stack.clock.now());
        await stack.billing.store.commit({
          subscription: { expectedVersion: current.version, next: paused.subscription },
          events: paused.events,
        });
        await stack.billing.publisher.publish(paused.events);
      },
    });

    const result = await cancelSubscription(cancelDeps(harness, { store }), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
    });

    expect(store.commits).toEqual([{ committed: false, reason: 'conflict' }, { committed: true }]);
    expect(result).toMatchObject({ kind: 'canceled' });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'canceled',
      pausedAt: null,
      version: made.subscription.version + 4,
    });
    expect(
      eventsOf(harness, made.subscription.id)
        .slice(-2)
        .map((event) => [event.type, event.sequence]),
    ).toEqual([
      ['subscription.paused', made.subscription.version + 3],
      ['subscription.canceled', made.subscription.version + 4],
    ]);
  });

  test('canceled concurrently by someone else: refused as already canceled, written once', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const store = new InterruptedStore(stack.billing.store, {
      beforeCommit: async () => {
        const current = await stack.billing.store.getSubscription(made.subscription.id);
        if (!current) throw new Error('no subscription');
        const canceled = cancel(
          current,
          { reason: 'requested_by_customer', effect: 'period_end' },
          stack.clock.now(),
        );
        await stack.billing.store.commit({
          subscription: { expectedVersion: current.version, next: canceled.subscription },
          events: canceled.events,
        });
      },
    });

    const result = await cancelSubscription(cancelDeps(harness, { store }), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_merchant',
      deleteBillingKey: true,
    });

    expect(result).toMatchObject({ kind: 'refused', reason: 'already_canceled', effect: 'period_end' });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'active' });
  });

  test('nothing is charged after a cancel, not even on the next billing date', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      reason: 'requested_by_customer',
    });
    const charges = () => stack.sandbox.admin.ledger().filter((entry) => entry.payerId === made.billingKey);
    expect(charges()).toHaveLength(1);

    await stack.clock.set(stack.clock.now() + 40 * 24 * 60 * MINUTE);
    await stack.billing.dispatch();
    await stack.billing.drain();

    expect(charges()).toHaveLength(1);
  });
});

describe('the billing key is deleted at Payple only when nothing else may charge it', () => {
  test('a key only this subscription charges is deleted (PUSERDEL) after the cancel', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(result).toMatchObject({ kind: 'canceled', billingKey: { outcome: 'deleted' } });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'deleted', deletedBy: 'PUSERDEL' });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'canceled',
    });
    expect(JSON.stringify(result)).not.toContain(made.billingKey);
  });

  test('a key another subscription still charges is kept; canceling that one too deletes it', async () => {
    const made = await paidPayment(harness);
    const other = await seedOnKey(made.billingKey);

    const first = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(first).toMatchObject({
      kind: 'canceled',
      billingKey: { outcome: 'kept', reason: 'shared', sharedWith: [other.id] },
    });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'active' });

    const second = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: other.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(second).toMatchObject({ kind: 'canceled', billingKey: { outcome: 'deleted' } });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'deleted', deletedBy: 'PUSERDEL' });
  });

  test('a key with an attempt in flight is kept; once the attempt is settled it can be released', async () => {
    const { stack } = harness;
    const made = await unknownPayment(harness);

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(result).toMatchObject({
      kind: 'canceled',
      attemptInFlight: made.oid,
      billingKey: { outcome: 'kept', reason: 'attempt_in_flight', oid: made.oid },
    });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'active' });

    // The attempt in flight is still settled after the cancel (its money is real).
    await stack.clock.set(stack.clock.now() + 6 * MINUTE);
    await stack.billing.reconcile();
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({ state: 'paid' });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'canceled',
      inFlight: null,
    });

    const released = await releaseBillingKey(cancelDeps(harness), { subscriptionId: made.subscription.id });

    expect(released).toEqual({
      kind: 'released',
      subscriptionId: made.subscription.id,
      billingKey: { outcome: 'deleted' },
    });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'deleted' });
  });

  test('a deletion Payple does not answer: reported as failed, the cancel stands, a release retries it', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    stack.sandbox.admin.addFault({ kind: 'httpError', status: 502, operation: 'userDel', times: 1 });

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'period_end',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(result).toMatchObject({
      kind: 'canceled',
      billingKey: { outcome: 'failed', classification: 'no_answer', retryable: true },
    });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'canceled',
    });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'active' });

    const released = await releaseBillingKey(cancelDeps(harness), { subscriptionId: made.subscription.id });

    expect(released).toMatchObject({ kind: 'released', billingKey: { outcome: 'deleted' } });
    expect(keyAtPayple(made.billingKey)).toMatchObject({ status: 'deleted' });
  });

  test("a key already ended in Payple's admin is reported as already deleted", async () => {
    const made = await paidPayment(harness);
    harness.stack.sandbox.admin.terminateBillingKey(made.billingKey);

    const result = await cancelSubscription(cancelDeps(harness), {
      subscriptionId: made.subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
    });

    expect(result).toMatchObject({
      kind: 'canceled',
      billingKey: { outcome: 'already_deleted', code: 'PUER0012' },
    });
  });

  test('a release of a subscription that is not canceled is refused and deletes nothing', async () => {
    const subscription = await seedSubscription(harness.stack);

    const released = await releaseBillingKey(cancelDeps(harness), { subscriptionId: subscription.id });

    expect(released).toEqual({ kind: 'refused', subscriptionId: subscription.id, reason: 'not_canceled' });
    expect(keyAtPayple(subscription.paymentMethod.billingKeyRef)).toMatchObject({ status: 'active' });
  });
});
