import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { PaypleClient } from '../../functions/payple/index.ts';
import { refundPayment } from '../../functions/use-cases/refund-payment.ts';
import { LOCAL_REFERER } from '../../local/billing.ts';
import { defaultPartner, type FaultSpec } from '../../local/payple-sandbox/index.ts';
import {
  cancelBody,
  chargeNow,
  eventsOf,
  MINUTE,
  paidPayment,
  postWebhook,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  unknownPayment,
  type TestPayment,
  type WebhookHarness,
} from '../webhook/support.ts';
import { InterruptedStore, isoFromKstTime, RecordingRefundGateway, refundDeps } from './support.ts';

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

/** The refunds Payple's ledger holds for the payment, with their times as we record them. */
function ledgerRefunds(made: TestPayment) {
  const entry = harness.stack.sandbox.admin.ledgerEntry(made.oid);
  return (entry?.refunds ?? []).map((refund) => ({
    amount: refund.amount,
    refundedAt: isoFromKstTime(refund.refundTime),
  }));
}

/** Payple's cancellation webhooks are held until `releaseWebhooks`, then posted to our webhook. */
function holdCancelWebhooks(made: TestPayment) {
  const { admin } = harness.stack.sandbox;
  admin.setWebhookUrl(harness.url);
  admin.addFault({ kind: 'webhookDelay', ms: 600_000, operation: 'cancel', oid: made.oid });
}

function cancelDeliveries(made: TestPayment) {
  return harness.stack.sandbox.admin.webhooks().filter((d) => d.operation === 'cancel' && d.oid === made.oid);
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** `before` with the payment's item changed by `change`: what a refund's claim writes, and nothing else. */
function withPayment(
  before: Snapshot,
  made: TestPayment,
  change: (item: Record<string, unknown>) => Record<string, unknown>,
): Snapshot {
  return {
    ...before,
    payments: before.payments.map((item) => (item.oid === made.oid ? change(item) : item)),
  };
}

/** A refund claimed, then its claim cleared (nothing refunded): the payment as it was, two versions on. */
function claimedAndCleared(before: Snapshot, made: TestPayment): Snapshot {
  return withPayment(before, made, (item) => ({ ...item, version: made.payment.version + 2 }));
}

/** A refund claimed and left pending (outcome unknown, unrecorded): the claim is all that changed. */
function claimLeft(before: Snapshot, made: TestPayment, amount: number, requestId: string): Snapshot {
  return withPayment(before, made, (item) => ({
    ...item,
    pendingRefund: { amount, requestedAt: harness.stack.clock.now(), requestId },
    version: made.payment.version + 1,
  }));
}

describe('a refund is made at Payple and recorded as the webhook records one', () => {
  test('without an amount, everything is refunded: payment refunded, payment.refunded published', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const subscriptionBefore = await stack.billing.store.getSubscription(made.subscription.id);

    const result = await refundPayment(refundDeps(harness), { oid: made.oid, requestId: 'R-1' });

    const [atPayple] = ledgerRefunds(made);
    expect(atPayple).toMatchObject({ amount: 9_900 });
    expect(result).toEqual({
      kind: 'refunded',
      oid: made.oid,
      subscriptionId: made.subscription.id,
      amount: 9_900,
      refundedTotal: 9_900,
      fullyRefunded: true,
      refundedAt: atPayple?.refundedAt,
      recorded: 'now',
    });
    expect(stack.sandbox.admin.ledgerEntry(made.oid)).toMatchObject({ status: 'refunded', chargedAmount: 0 });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
      refunds: [atPayple],
      // The claim, then the refund recorded with the claim cleared.
      version: made.payment.version + 2,
    });
    expect((await stack.billing.store.getPayment(made.oid))?.pendingRefund).toBeUndefined();
    expect(refundEvents(made.subscription.id)).toMatchObject([
      { oid: made.oid, refundedAmount: 9_900, refundedTotal: 9_900, fullyRefunded: true },
    ]);
    // A refund does not change the subscription: whether service continues is the merchant's call.
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toEqual(subscriptionBefore);
  });

  test('partial refunds add up to the amount; more than is left is refused without asking Payple', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const first = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'R-2' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const second = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'R-3' });
    const before = await snapshot(harness);
    const tooMuch = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'R-4' });

    expect(first).toMatchObject({ kind: 'refunded', refundedTotal: 3_000, fullyRefunded: false });
    expect(second).toMatchObject({ kind: 'refunded', refundedTotal: 6_000, fullyRefunded: false });
    expect(tooMuch).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'exceeds_remaining',
      state: 'partially_refunded',
      remaining: 3_900,
    });
    expect(gateway.inputs).toHaveLength(2);
    expect(await snapshot(harness)).toEqual(before);

    const rest = await refundPayment(deps, { oid: made.oid, requestId: 'R-5' });
    const after = await refundPayment(deps, { oid: made.oid, amount: 1, requestId: 'R-6' });

    expect(rest).toMatchObject({
      kind: 'refunded',
      amount: 3_900,
      refundedTotal: 9_900,
      fullyRefunded: true,
    });
    expect(after).toMatchObject({ kind: 'refused', reason: 'already_refunded', state: 'refunded' });
    expect(gateway.inputs.map((input) => input.amount)).toEqual([3_000, 3_000, 3_900]);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
      refunds: ledgerRefunds(made),
    });
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([3_000, 3_000, 3_900]);
    expect(refundEvents(made.subscription.id)).toMatchObject([
      { refundedAmount: 3_000, refundedTotal: 3_000, fullyRefunded: false },
      { refundedAmount: 3_000, refundedTotal: 6_000, fullyRefunded: false },
      { refundedAmount: 3_900, refundedTotal: 9_900, fullyRefunded: true },
    ]);
  });

  test("the request names the payment's OID, Payple's pay date, pay type and the month guard it was charged with", async () => {
    const made = await paidPayment(harness);
    const entry = harness.stack.sandbox.admin.ledgerEntry(made.oid);
    const gateway = new RecordingRefundGateway(harness.payple);

    await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      amount: 1_000,
      requestId: 'R-7',
    });

    expect(entry?.monthGuard).toEqual({ year: 2027, month: 3 });
    expect(made.payment.monthGuard).toEqual({ year: 2027, month: 3 });
    expect(gateway.inputs).toEqual([
      {
        oid: made.oid,
        payDate: entry?.payDate,
        amount: 1_000,
        payType: 'card',
        monthGuard: entry?.monthGuard,
      },
    ]);
  });

  test('a payment charged without a month guard (weekly plan) is refunded without one', async () => {
    const made = await paidPayment(harness, { interval: { unit: 'week', count: 1 } });
    const gateway = new RecordingRefundGateway(harness.payple);

    const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      requestId: 'R-8',
    });

    expect(result).toMatchObject({ kind: 'refunded', fullyRefunded: true });
    expect(harness.stack.sandbox.admin.ledgerEntry(made.oid)?.monthGuard).toBeUndefined();
    expect(gateway.inputs).toEqual([
      { oid: made.oid, payDate: made.payment.requestDate, amount: 9_900, payType: 'card' },
    ]);
  });
});

describe("Payple's webhook for a refund made here is a duplicate", () => {
  test('delivered afterwards: answered 200, nothing changes, a second copy says duplicate', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    // Our clock has moved on when the answer arrives: only Payple's refund time can match its webhook.
    const later = new RecordingRefundGateway(harness.payple, {
      after: () => stack.clock.set(stack.clock.now() + MINUTE),
    });

    const result = await refundPayment(refundDeps(harness, { payple: later }), {
      oid: made.oid,
      amount: 4_000,
      requestId: 'R-9',
    });
    const before = await snapshot(harness);
    await releaseWebhooks(harness);

    expect(result).toMatchObject({ kind: 'refunded', recorded: 'now', refundedTotal: 4_000 });
    const [delivery] = cancelDeliveries(made);
    expect(delivery).toMatchObject({ status: 'delivered', httpStatus: 200 });
    expect(await snapshot(harness)).toEqual(before);
    const copy = await postWebhook(harness, delivery?.body);
    expect(copy).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 4_000,
      refunds: ledgerRefunds(made),
    });
    expect(refundEvents(made.subscription.id)).toHaveLength(1);
  });

  test('delivered while the refund is being recorded: the record is re-read and the refund counted once', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    // The webhook lands between Payple's answer and our commit (the second: the first is the claim).
    const store = new InterruptedStore(stack.billing.store, {
      beforeCommit: () => releaseWebhooks(harness),
      interruptAt: 2,
    });

    const result = await refundPayment(refundDeps(harness, { store }), { oid: made.oid, requestId: 'R-10' });

    expect(cancelDeliveries(made)).toMatchObject([{ httpStatus: 200 }]);
    expect(store.commits.slice(0, 2)).toEqual([
      { committed: true },
      { committed: false, reason: 'conflict' },
    ]);
    expect(result).toMatchObject({
      kind: 'refunded',
      recorded: 'already',
      amount: 9_900,
      refundedTotal: 9_900,
      fullyRefunded: true,
    });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
      refunds: ledgerRefunds(made),
    });
    // The webhook's report of the claimed refund cleared the claim as it recorded the refund.
    expect((await stack.billing.store.getPayment(made.oid))?.pendingRefund).toBeUndefined();
    expect(refundEvents(made.subscription.id)).toHaveLength(1);
  });

  test('another refund recorded by the webhook meanwhile: this one is recorded on top of it', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    const store = new InterruptedStore(stack.billing.store, {
      interruptAt: 2,
      beforeCommit: async () => {
        // Someone refunds 2,000 in Payple's admin; its webhook arrives before our commit. It is
        // recorded, and leaves our claim of 3,000 in place.
        await stack.clock.set(stack.clock.now() + MINUTE);
        const other = await harness.payple.refund({
          oid: made.oid,
          payDate: made.payment.requestDate,
          amount: 2_000,
          payType: 'card',
        });
        if (other.kind !== 'success') throw new Error(`other refund: ${other.kind}`);
        const answer = await postWebhook(harness, cancelBody(made, 2_000, stack.clock.now()));
        if (answer.json?.result !== 'refund_recorded') throw new Error(`webhook: ${answer.text}`);
        const between = await stack.billing.store.getPayment(made.oid);
        if (between?.pendingRefund?.amount !== 3_000) throw new Error('the claim did not survive');
      },
    });

    const result = await refundPayment(refundDeps(harness, { store }), {
      oid: made.oid,
      amount: 3_000,
      requestId: 'R-11',
    });

    expect(store.commits.slice(0, 2)).toEqual([
      { committed: true },
      { committed: false, reason: 'conflict' },
    ]);
    expect(result).toMatchObject({ kind: 'refunded', recorded: 'now', refundedTotal: 5_000 });
    const [ours, theirs] = ledgerRefunds(made);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 5_000,
      refunds: [theirs, ours],
    });
    expect((await stack.billing.store.getPayment(made.oid))?.pendingRefund).toBeUndefined();
    expect(refundEvents(made.subscription.id)).toMatchObject([
      { refundedAmount: 2_000, refundedTotal: 2_000 },
      { refundedAmount: 3_000, refundedTotal: 5_000 },
    ]);

    // Payple's own webhooks for both refunds change nothing now.
    const before = await snapshot(harness);
    await releaseWebhooks(harness);
    expect(cancelDeliveries(made).map((d) => d.httpStatus)).toEqual([200, 200]);
    expect(await snapshot(harness)).toEqual(before);
  });
});

describe('a refund that cannot be confirmed is never retried and never recorded; its claim stays', () => {
  test.each<[string, FaultSpec, number]>([
    ['a 5xx after Payple refunded', { kind: 'httpError', status: 502, execute: true }, 1],
    ['a connection reset after Payple refunded', { kind: 'answerLost' }, 1],
    ['a 5xx before Payple refunded', { kind: 'httpError', status: 500, execute: false }, 0],
    ['an unreadable answer after Payple refunded', { kind: 'garbage' }, 1],
  ])(
    '%s: outcome unknown, claim left; the webhook records it (and clears the claim) if it happened',
    async (_what, fault, refundsAtPayple) => {
      const { stack } = harness;
      const made = await paidPayment(harness);
      holdCancelWebhooks(made);
      stack.sandbox.admin.addFault({ ...fault, operation: 'cancel', oid: made.oid, times: 1 });
      const gateway = new RecordingRefundGateway(harness.payple);
      const before = await snapshot(harness);

      const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
        oid: made.oid,
        amount: 5_000,
        requestId: 'R-12',
      });

      const claim = { amount: 5_000, requestedAt: stack.clock.now(), requestId: 'R-12' };
      expect(result).toMatchObject({
        kind: 'outcome_unknown',
        oid: made.oid,
        subscriptionId: made.subscription.id,
        amount: 5_000,
        pendingRefund: claim,
      });
      expect(gateway.inputs).toHaveLength(1);
      expect(ledgerRefunds(made)).toHaveLength(refundsAtPayple);
      const after = await snapshot(harness);
      expect({ ...after, ledger: undefined }).toEqual({
        ...claimLeft(before, made, 5_000, 'R-12'),
        ledger: undefined,
      });

      await releaseWebhooks(harness);
      const payment = await stack.billing.store.getPayment(made.oid);
      if (refundsAtPayple === 1) {
        expect(payment).toMatchObject({
          state: 'partially_refunded',
          refundedTotal: 5_000,
          refunds: ledgerRefunds(made),
        });
        expect(payment?.pendingRefund).toBeUndefined();
      } else {
        expect(payment).toMatchObject({
          state: 'paid',
          version: made.payment.version + 1,
          pendingRefund: claim,
        });
      }
      expect(refundEvents(made.subscription.id)).toHaveLength(refundsAtPayple);
    },
  );

  test('a failed partner auth sent nothing: declined, safe to ask again', async () => {
    const made = await paidPayment(harness);
    harness.stack.sandbox.admin.addFault({ kind: 'httpError', status: 503, operation: 'auth', times: 1 });
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness), { oid: made.oid, requestId: 'R-13' });

    expect(result).toMatchObject({
      kind: 'declined',
      stage: 'auth',
      classification: 'unknown',
      retryable: true,
    });
    expect(result).not.toHaveProperty('pendingRefund');
    expect(await snapshot(harness)).toEqual(claimedAndCleared(before, made));
  });
});

describe('a refund Payple confirms without its refund time is left to the webhook', () => {
  test('not recorded here (any time of ours would make the webhook count it twice); the webhook records it', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    const withoutTime = new RecordingRefundGateway(harness.payple, {
      alter: (outcome) =>
        outcome.kind === 'success'
          ? { ...outcome, value: { ...outcome.value, refundedAt: undefined, refundedAtField: undefined } }
          : outcome,
    });
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness, { payple: withoutTime }), {
      oid: made.oid,
      requestId: 'R-14',
    });

    expect(result).toEqual({
      kind: 'refunded_unrecorded',
      oid: made.oid,
      subscriptionId: made.subscription.id,
      amount: 9_900,
      refundedAt: undefined,
      reason: 'no_refund_time',
      pendingRefund: { amount: 9_900, requestedAt: stack.clock.now(), requestId: 'R-14' },
    });
    const after = await snapshot(harness);
    // The claim stays until the refund is recorded.
    expect({ ...after, ledger: undefined }).toEqual({
      ...claimLeft(before, made, 9_900, 'R-14'),
      ledger: undefined,
    });

    await releaseWebhooks(harness);
    const payment = await stack.billing.store.getPayment(made.oid);
    expect(payment).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
      refunds: ledgerRefunds(made),
    });
    expect(payment?.pendingRefund).toBeUndefined();
    expect(refundEvents(made.subscription.id)).toHaveLength(1);
  });

  test("an answer whose only time is PCD_PAY_TIME is not taken for the refund's time", async () => {
    const made = await paidPayment(harness);
    const payTimeOnly = new RecordingRefundGateway(harness.payple, {
      alter: (outcome) =>
        outcome.kind === 'success'
          ? { ...outcome, value: { ...outcome.value, refundedAtField: 'PCD_PAY_TIME' as const } }
          : outcome,
    });

    const result = await refundPayment(refundDeps(harness, { payple: payTimeOnly }), {
      oid: made.oid,
      requestId: 'R-15',
    });

    expect(result).toMatchObject({ kind: 'refunded_unrecorded', reason: 'no_refund_time' });
    expect(await harness.stack.billing.store.getPayment(made.oid)).toMatchObject({ state: 'paid' });
  });

  test('a store failure after Payple refunded is reported as an unrecorded refund, not thrown', async () => {
    const made = await paidPayment(harness);
    // The claim is written; the store fails from the next write on.
    const store = new InterruptedStore(harness.stack.billing.store, { failFrom: 2 });

    const result = await refundPayment(refundDeps(harness, { store }), { oid: made.oid, requestId: 'R-16' });

    const claim = { amount: 9_900, requestedAt: harness.stack.clock.now(), requestId: 'R-16' };
    expect(result).toMatchObject({
      kind: 'refunded_unrecorded',
      reason: 'store_failed',
      error: 'StoreDown',
      pendingRefund: claim,
    });
    expect(ledgerRefunds(made)).toHaveLength(1);
    expect(await harness.stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'paid',
      pendingRefund: claim,
    });
  });

  test('a store failure before the claim is written: thrown, nothing sent', async () => {
    const made = await paidPayment(harness);
    const store = new InterruptedStore(harness.stack.billing.store, { failCommits: true });
    const gateway = new RecordingRefundGateway(harness.payple);
    const before = await snapshot(harness);

    await expect(
      refundPayment(refundDeps(harness, { store, payple: gateway }), { oid: made.oid, requestId: 'R-17' }),
    ).rejects.toThrow('simulated store failure');

    expect(gateway.inputs).toEqual([]);
    expect(await snapshot(harness)).toEqual(before);
  });
});

describe('refused refunds change nothing; declined ones only claim and clear', () => {
  test.each([
    ['declined', (h: WebhookHarness) => chargeNow(h, { card: 'insufficientFunds' }), 'declined'],
    ['unknown', (h: WebhookHarness) => unknownPayment(h), 'unknown'],
  ])('a payment we hold as %s: refused, nothing sent to Payple', async (_what, make, state) => {
    const made = await make(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      requestId: 'R-18',
    });

    expect(result).toEqual({ kind: 'refused', oid: made.oid, reason: 'not_paid', state });
    expect(gateway.inputs).toEqual([]);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('an OID we have no payment for: refused', async () => {
    const gateway = new RecordingRefundGateway(harness.payple);

    const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: 'nosuch-20270301-1',
      requestId: 'R-19',
    });

    expect(result).toEqual({ kind: 'refused', oid: 'nosuch-20270301-1', reason: 'not_found' });
    expect(gateway.inputs).toEqual([]);
  });

  test.each([0, -100, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])(
    'an amount of %s: refused before anything is read or sent',
    async (amount) => {
      const made = await paidPayment(harness);
      const gateway = new RecordingRefundGateway(harness.payple);
      const before = await snapshot(harness);

      const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
        oid: made.oid,
        amount,
        requestId: 'R-20',
      });

      expect(result).toEqual({ kind: 'refused', oid: made.oid, reason: 'invalid_amount' });
      expect(gateway.inputs).toEqual([]);
      expect(await snapshot(harness)).toEqual(before);
    },
  );

  test('Payple refuses a refund of a payment already cancelled in its admin (webhook lost): declined, claim cleared', async () => {
    const made = await paidPayment(harness);
    const elsewhere = await harness.payple.refund({
      oid: made.oid,
      payDate: made.payment.requestDate,
      amount: 9_900,
      payType: 'card',
    });
    expect(elsewhere.kind).toBe('success');
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness), {
      oid: made.oid,
      amount: 1_000,
      requestId: 'R-21',
    });

    expect(result).toMatchObject({
      kind: 'declined',
      oid: made.oid,
      classification: 'hard_decline',
      stage: 'operation',
      code: 'PAYC0012',
      retryable: false,
    });
    expect(await snapshot(harness)).toEqual(claimedAndCleared(before, made));
  });

  test.each([
    ['no refund key configured', undefined, { classification: 'config_error', stage: 'not_sent' }],
    [
      'a refund key Payple does not know',
      'not-our-refund-key',
      { classification: 'config_error', stage: 'operation', code: 'PAYC0005' },
    ],
  ])('%s: declined as a configuration error, claim cleared', async (_what, refundKey, expected) => {
    const made = await paidPayment(harness);
    const client = new PaypleClient({
      host: harness.stack.sandbox.url,
      cstId: defaultPartner.cstId,
      custKey: defaultPartner.custKey,
      referer: LOCAL_REFERER,
      clock: harness.stack.clock,
      logger: new Logger({ serviceName: 'test-payple', logLevel: 'SILENT' }),
      ...(refundKey === undefined ? {} : { refundKey }),
    });
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness, { payple: client }), {
      oid: made.oid,
      requestId: 'R-22',
    });

    expect(result).toMatchObject({ kind: 'declined', retryable: false, ...expected });
    expect(result).not.toHaveProperty('pendingRefund');
    expect(await snapshot(harness)).toEqual(claimedAndCleared(before, made));
  });
});

test('results carry no billing key and no personal data', async () => {
  const made = await paidPayment(harness);
  const unknown = await paidPayment(harness);
  harness.stack.sandbox.admin.addFault({
    kind: 'answerLost',
    operation: 'cancel',
    oid: unknown.oid,
    times: 1,
  });

  const results = [
    await refundPayment(refundDeps(harness), { oid: made.oid, amount: 1_000, requestId: 'R-23' }),
    await refundPayment(refundDeps(harness), { oid: unknown.oid, requestId: 'R-24' }),
    await refundPayment(refundDeps(harness), { oid: made.oid, amount: 100_000, requestId: 'R-25' }),
  ];

  const text = JSON.stringify(results);
  for (const secret of [made.billingKey, unknown.billingKey, '홍길동', '01012345678', 'hong@example.com']) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toContain(defaultPartner.refundKey);
});
