import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { replacePaymentMethod } from '../../functions/billing/index.ts';
import {
  chargeNow,
  declineBody,
  eventsOf,
  MINUTE,
  paidPayment,
  postForm,
  postWebhook,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  successBody,
  unknownPayment,
  type WebhookHarness,
} from './support.ts';

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(async () => {
  // Billing keys and the payer's phone and e-mail never reach a log line.
  const logged = JSON.stringify(harness.logs);
  const keys = harness.stack.sandbox.admin.billingKeys().map((key) => key.PCD_PAYER_ID);
  expect(keys.length).toBeGreaterThan(10);
  for (const secret of [...keys, '01012345678', 'hong@example.com', harness.secret]) {
    expect(logged).not.toContain(secret);
  }
  await harness.stop();
});
afterEach(async () => {
  harness.stack.sandbox.admin.setWebhookUrl(undefined);
  harness.stack.sandbox.admin.clearFaults();
  await releaseWebhooks(harness);
});

describe('a success that matches our payment settles it paid', () => {
  test("Payple's own webhook settles a payment whose charge answer was lost", async () => {
    const { stack } = harness;
    stack.sandbox.admin.setWebhookUrl(harness.url);
    const made = await unknownPayment(harness, { holdWebhook: true });

    await releaseWebhooks(harness);

    const delivery = stack.sandbox.admin.webhooks().find((d) => d.oid === made.oid);
    expect(delivery).toMatchObject({ status: 'delivered', httpStatus: 200 });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'webhook',
      answer: { code: 'SPCD0000', cardName: expect.any(String) as string },
    });
    expect(await stack.billing.store.getSubscription(made.subscription.id)).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      inFlight: null,
    });
    expect(eventsOf(harness, made.subscription.id).map((e) => e.type)).toEqual(
      expect.arrayContaining(['payment.succeeded', 'payment.settled', 'subscription.activated']),
    );
    expect(stack.sandbox.admin.ledger().filter((e) => e.oid === made.oid)).toHaveLength(1);
  });

  test('a hand-built success settles it; a second copy is a duplicate and changes nothing', async () => {
    const { stack } = harness;
    const made = await unknownPayment(harness);

    const first = await postWebhook(harness, successBody(made, stack.clock.now()));
    const afterFirst = await snapshot(harness);
    const second = await postWebhook(harness, successBody(made, stack.clock.now()));

    expect(first).toMatchObject({ status: 200, json: { result: 'settled' } });
    expect(second).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    expect(await snapshot(harness)).toEqual(afterFirst);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'webhook',
    });
    const succeeded = eventsOf(harness, made.subscription.id).filter((e) => e.type === 'payment.succeeded');
    expect(succeeded).toHaveLength(1);
  });

  test('a form-encoded body (base64 through the gateway) is read like JSON', async () => {
    const made = await unknownPayment(harness);
    const fields = successBody(made, harness.stack.clock.now());

    const answer = await postForm(harness, fields);

    expect(answer).toMatchObject({ status: 200, json: { result: 'settled' } });
    expect(await harness.stack.billing.store.getPayment(made.oid)).toMatchObject({ state: 'paid' });
  });

  test('Payple delivering the webhook twice while the charger answers: one payment, one set of events', async () => {
    const { stack } = harness;
    stack.sandbox.admin.setWebhookUrl(harness.url);
    stack.sandbox.admin.addFault({ kind: 'webhookDuplicate', copies: 3, operation: 'charge' });

    const made = await chargeNow(harness);
    await stack.sandbox.admin.webhooksIdle();

    const deliveries = stack.sandbox.admin.webhooks().filter((d) => d.oid === made.oid);
    expect(deliveries.map((d) => d.httpStatus)).toEqual([200, 200, 200]);
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({ state: 'paid' });
    const types = eventsOf(harness, made.subscription.id).map((e) => e.type);
    expect(types.filter((t) => t === 'payment.succeeded')).toHaveLength(1);
    expect(types.filter((t) => t === 'subscription.activated')).toHaveLength(1);
  });
});

describe('late and out-of-order deliveries change nothing', () => {
  test('a late success after the reconciler already settled the payment is a duplicate', async () => {
    const { stack } = harness;
    stack.sandbox.admin.setWebhookUrl(harness.url);
    const made = await unknownPayment(harness, { holdWebhook: true });
    await stack.clock.set(stack.clock.now() + 6 * MINUTE);
    await stack.billing.reconcile();
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
    const before = await snapshot(harness);

    await releaseWebhooks(harness);

    expect(stack.sandbox.admin.webhooks().find((d) => d.oid === made.oid)).toMatchObject({ httpStatus: 200 });
    expect(await snapshot(harness)).toEqual(before);
    expect(harness.metrics).toContain('WebhookDuplicates');
  });

  test('a decline for a paid payment is not applied: 202, an error log and a contradiction metric', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, declineBody(made));

    expect(answer).toMatchObject({ status: 202, json: { result: 'not_applied' } });
    expect(await snapshot(harness)).toEqual(before);
    expect(harness.metrics.at(-1)).toBe('WebhookContradictions');
    expect(harness.logs.at(-1)).toMatchObject({ level: 'error' });
  });

  test('a success for a payment we hold as declined is not applied (a contradiction for an operator)', async () => {
    const made = await chargeNow(harness, { card: 'insufficientFunds' });
    expect(made.payment.state).toBe('declined');
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, successBody(made, harness.stack.clock.now()));

    expect(answer).toMatchObject({ status: 202, json: { result: 'not_applied' } });
    expect(await snapshot(harness)).toEqual(before);
    expect(harness.metrics.at(-1)).toBe('WebhookContradictions');
  });

  test('a decline repeated for a payment we hold as declined is a duplicate', async () => {
    const made = await chargeNow(harness, { card: 'insufficientFunds' });
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, declineBody(made));

    expect(answer).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    expect(await snapshot(harness)).toEqual(before);
  });
});

describe('a result that is not ours, or does not match, is never applied', () => {
  test('an OID not in our format, or a decline for an OID we never created: 404, nothing changes', async () => {
    const made = await unknownPayment(harness);
    const before = await snapshot(harness);
    const now = harness.stack.clock.now();

    const foreign = await postWebhook(harness, successBody(made, now, { PCD_PAY_OID: 'order_2027_0001' }));
    const declined = await postWebhook(harness, declineBody(made, { PCD_PAY_OID: 'nosuchsub-20270301-1' }));

    for (const answer of [foreign, declined]) {
      expect(answer).toMatchObject({
        status: 404,
        json: { result: 'not_found', message: 'not our payment' },
      });
    }
    expect(await snapshot(harness)).toEqual(before);
    expect(await harness.stack.billing.unrecordedPayments.list()).toEqual([]);
  });

  test('a success for an OID of ours with no payment recorded: 202, kept as a report, nothing else changes', async () => {
    const made = await unknownPayment(harness);
    const before = await snapshot(harness);
    const now = harness.stack.clock.now();
    const body = successBody(made, now, { PCD_PAY_OID: 'nosuchsub-20270301-1' });

    const answer = await postWebhook(harness, body);
    const copy = await postWebhook(harness, body);

    for (const reply of [answer, copy]) {
      expect(reply).toMatchObject({ status: 202, json: { result: 'reported' } });
    }
    expect(await snapshot(harness)).toEqual(before);
    expect(await harness.stack.billing.unrecordedPayments.list()).toEqual([
      { oid: 'nosuchsub-20270301-1', reportedAt: now, amount: made.payment.amount, payType: 'card' },
    ]);
    expect(harness.metrics.slice(-2)).toEqual(['WebhookUnrecordedPayments', 'WebhookUnrecordedPayments']);
    await harness.stack.billing.unrecordedPayments.remove('nosuchsub-20270301-1');
  });

  test.each([
    ['amount', { PCD_PAY_TOTAL: '99000' }, 'amount_mismatch'],
    ['billing key', { PCD_PAYER_ID: 'someone-elses-billing-key' }, 'billing_key_mismatch'],
    ['pay type', { PCD_PAY_TYPE: 'transfer' }, 'pay_type_mismatch'],
  ])(
    'a success with another %s: 202, only a lookup is brought forward; the reconciler then finds the truth',
    async (_what, overrides, reason) => {
      const { stack } = harness;
      const made = await unknownPayment(harness);
      const before = await snapshot(harness);

      const answer = await postWebhook(harness, successBody(made, stack.clock.now(), overrides));

      expect(answer).toMatchObject({ status: 202, json: { result: 'lookup_scheduled' } });
      const after = await snapshot(harness);
      expect({ ...after, payments: undefined }).toEqual({ ...before, payments: undefined });
      const payment = await stack.billing.store.getPayment(made.oid);
      expect(payment).toMatchObject({
        ...made.payment,
        state: 'unknown',
        reconcile: { nextAt: stack.clock.now(), lookups: 0 },
        version: made.payment.version + 1,
      });
      expect(harness.logs.at(-1)?.args[1]).toMatchObject({ oid: made.oid, reason });

      await stack.billing.reconcile();
      expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
        state: 'paid',
        resolvedBy: 'result_lookup',
      });
    },
  );
});

describe('a decline is confirmed with a lookup before anything happens', () => {
  test("Payple's decline for an unknown payment: the lookup is due now and the reconciler settles it declined", async () => {
    const { stack } = harness;
    stack.sandbox.admin.setWebhookUrl(harness.url);
    const made = await unknownPayment(harness, { card: 'insufficientFunds', holdWebhook: true });
    const before = await snapshot(harness);

    await releaseWebhooks(harness);

    const delivery = stack.sandbox.admin.webhooks().find((d) => d.oid === made.oid);
    expect(delivery).toMatchObject({ httpStatus: 202 });
    const scheduled = await stack.billing.store.getPayment(made.oid);
    expect(scheduled).toMatchObject({ state: 'unknown', reconcile: { nextAt: stack.clock.now() } });
    const after = await snapshot(harness);
    expect(after.subscriptions).toEqual(before.subscriptions);
    expect(after.events).toEqual(before.events);

    await stack.clock.set(stack.clock.now() + MINUTE);
    const report = await stack.billing.reconcile();

    expect(report).toMatchObject({ settled: 1 });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'declined',
      declineClass: 'soft',
      resolvedBy: 'result_lookup',
    });
  });

  test('a forged decline for a payment that went through: the lookup finds it paid and nothing is charged again', async () => {
    const { stack } = harness;
    const made = await unknownPayment(harness);

    const answer = await postWebhook(harness, declineBody(made));
    await stack.billing.reconcile();
    await stack.clock.set(stack.clock.now() + 30 * MINUTE);
    await stack.billing.dispatch();
    await stack.billing.drain();

    expect(answer).toMatchObject({ status: 202, json: { result: 'lookup_scheduled' } });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({ state: 'paid' });
    const charges = stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(made.subscription.id));
    expect(charges.map((e) => e.oid)).toEqual([made.oid]);
  });

  test('repeated declines bring the lookup forward once: they cannot spend the reconciler schedule', async () => {
    const { stack } = harness;
    const made = await unknownPayment(harness, { card: 'insufficientFunds' });
    await postWebhook(harness, declineBody(made));
    // The reconciler looks while the webhook's copy says "declined"; make Payple's lookup fail once.
    stack.sandbox.admin.addFault({ kind: 'httpError', operation: 'lookup', oid: made.oid, times: 1 });
    await stack.billing.reconcile();
    const looked = await stack.billing.store.getPayment(made.oid);
    expect(looked).toMatchObject({ state: 'unknown', reconcile: { lookups: 1 } });

    const again = await postWebhook(harness, declineBody(made));

    expect(again).toMatchObject({ status: 202, json: { result: 'lookup_scheduled' } });
    expect(await stack.billing.store.getPayment(made.oid)).toEqual(looked);
  });
});

describe('registrations belong to the return flow', () => {
  test('an AUTH window result is acknowledged and changes nothing', async () => {
    const made = await paidPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, {
      ...successBody(made, 0),
      PCD_PAY_WORK: 'AUTH',
      PCD_PAY_CODE: '0000',
      PCD_PAY_MSG: '카드등록완료',
      PCD_PAY_OID: '',
      PCD_PAY_TOTAL: '',
      PCD_PAY_TIME: '',
    });

    expect(answer).toMatchObject({ status: 200, json: { result: 'acknowledged' } });
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a CERT window result (before its confirm) is a registration too, even with an OID of ours', async () => {
    const made = await unknownPayment(harness);
    const before = await snapshot(harness);

    const answer = await postWebhook(harness, {
      ...successBody(made, 0),
      PCD_PAY_WORK: 'CERT',
      PCD_PAY_CODE: '0000',
      PCD_PAY_COFURL: 'https://democpay.payple.kr/php/PayCardConfirmAct.php?ACT_=PAYM',
      PCD_PAY_TIME: '',
    });

    expect(answer).toMatchObject({ status: 200, json: { result: 'acknowledged' } });
    expect(await snapshot(harness)).toEqual(before);
  });
});

describe('payments whose key or state the webhook cannot vouch for', () => {
  test('the billing key was replaced while the charge was in flight: only a lookup, never a settle', async () => {
    const { stack } = harness;
    const inFlight = await unknownPayment(harness);
    const replacement = stack.sandbox.admin.createBillingKey({ card: 'success' });
    const current = await stack.billing.store.getSubscription(inFlight.subscription.id);
    const replaced = replacePaymentMethod(
      current!,
      { payType: 'card', billingKeyRef: replacement.PCD_PAYER_ID },
      stack.clock.now(),
    );
    await stack.billing.store.commit({
      subscription: { expectedVersion: current!.version, next: replaced.subscription },
      events: replaced.events,
    });

    for (const key of [inFlight.billingKey, replacement.PCD_PAYER_ID]) {
      const answer = await postWebhook(
        harness,
        successBody(inFlight, stack.clock.now(), { PCD_PAYER_ID: key }),
      );
      expect(answer).toMatchObject({ status: 202, json: { result: 'lookup_scheduled' } });
    }
    expect(await stack.billing.store.getPayment(inFlight.oid)).toMatchObject({ state: 'unknown' });
    expect(harness.logs.at(-1)?.args[1]).toMatchObject({ reason: 'billing_key_unverifiable' });
  });

  test('a payment under review: a decline is left to the operator, a matching success settles it', async () => {
    const { stack } = harness;
    const review = await unknownPayment(harness);
    const { reconcile: _gaveUp, ...rest } = review.payment;
    await stack.billing.store.commit({
      payment: {
        expected: { states: ['unknown'], version: review.payment.version },
        next: {
          ...rest,
          state: 'needs_review',
          settledAt: stack.clock.now(),
          version: review.payment.version + 1,
        },
      },
      events: [],
    });
    const before = await snapshot(harness);

    const decline = await postWebhook(harness, declineBody(review));
    const afterDecline = await snapshot(harness);
    const success = await postWebhook(harness, successBody(review, stack.clock.now()));

    expect(decline).toMatchObject({ status: 202, json: { result: 'not_applied' } });
    expect(afterDecline).toEqual(before);
    expect(success).toMatchObject({ status: 200, json: { result: 'settled' } });
    expect(await stack.billing.store.getPayment(review.oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'webhook',
    });
    expect(await stack.billing.store.getSubscription(review.subscription.id)).toMatchObject({
      status: 'active',
      inFlight: null,
    });
  });
});
