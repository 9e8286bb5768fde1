import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { SqsJobQueue } from '../../functions/queue/sqs-job-queue.ts';
import { settleAttemptOutcome } from '../../functions/use-cases/settle-attempt.ts';
import { DEFAULT_DUNNING_POLICY } from '../../functions/billing/index.ts';
import { testAccounts, testCards } from '../../local/payple-sandbox/index.ts';
import { billAt, seedSubscription } from '../support/local-stack.ts';
import {
  checkout,
  paymentsOf,
  payInWindow,
  postReturn,
  resultUrl,
  sessionOf,
  subscriptionsOf,
  startEdgeStack,
  type EdgeStack,
} from './support.ts';

const START = '2027-03-10T14:00:00+09:00';
/** A window result's plain decline (a soft decline: the card company refused it). */
const PLAIN_DECLINE = { PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0099', PCD_PAY_MSG: '잔액부족' } as const;

function ledgerOf(edge: EdgeStack, subscriptionId: string) {
  return edge.stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(`${subscriptionId}-`));
}

async function expectNothingCreated(edge: EdgeStack, subscriptionId: string) {
  expect(await edge.stack.billing.store.getSubscription(subscriptionId)).toBeUndefined();
  expect((await paymentsOf(edge)).filter((p) => p.subscriptionId === subscriptionId)).toEqual([]);
}

describe('AUTH window: the return registers the key, creates the subscription and charges period 0 at once', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: START });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  test('a registered card becomes a subscription charged once right away; a replayed post changes nothing', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    expect(result.action).toBe(params['PCD_RST_URL']);

    const reply = await postReturn(result.action, result.fields);

    expect(reply).toEqual({ status: 303, location: resultUrl(edge, 'success') });
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'completed', outcome: 'subscribed' });
    expect(session.customer).toBeUndefined();
    const created = await edge.stack.billing.store.getSubscription(session.subscriptionId);
    expect(created).toMatchObject({
      status: 'incomplete',
      customer: { name: '홍길동', phone: '01012345678' },
      paymentMethod: { payType: 'card', billingKeyRef: result.fields['PCD_PAYER_ID'], status: 'valid' },
    });
    // Enqueued by the return itself: the charger runs without any dispatcher run.
    await edge.stack.billing.drain();
    const oid = `${session.subscriptionId}-20270310-1`;
    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid', amount: 9_900 });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'active',
      currentPeriod: 1,
    });

    const subscriptionsBefore = (await subscriptionsOf(edge)).length;
    const replay = await postReturn(result.action, result.fields);
    await edge.stack.billing.drain();

    expect(replay).toEqual({ status: 303, location: resultUrl(edge, 'success') });
    expect(await subscriptionsOf(edge)).toHaveLength(subscriptionsBefore);
    expect(ledgerOf(edge, session.subscriptionId)).toHaveLength(1);
    expect((await sessionOf(edge, params)).outcome).toBe('subscribed');
  });

  test('a charge job that cannot be sent does not fail a committed subscription: success page, and the dispatcher charges it', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    const send = vi.spyOn(SqsJobQueue.prototype, 'send').mockRejectedValueOnce(new Error('SQS is down'));

    let reply;
    try {
      reply = await postReturn(result.action, result.fields);
    } finally {
      send.mockRestore();
    }
    await edge.stack.billing.drain();
    const session = await sessionOf(edge, params);
    const oid = `${session.subscriptionId}-20270310-1`;
    const enqueuedByReturn = await edge.stack.billing.store.getPayment(oid);
    await edge.stack.billing.dispatch();
    await edge.stack.billing.drain();

    expect(reply).toEqual({ status: 303, location: resultUrl(edge, 'success') });
    expect(session).toMatchObject({ status: 'completed', outcome: 'subscribed' });
    expect(enqueuedByReturn).toBeUndefined();
    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid' });
    expect(ledgerOf(edge, session.subscriptionId)).toHaveLength(1);
  });

  test('a closed window fails the session; nothing is created and a replay stays a failure', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { close: true });
    expect(result.fields['PCD_PAY_RST']).toBe('close');

    const reply = await postReturn(result.action, result.fields);
    const replay = await postReturn(result.action, { ...result.fields, PCD_PAY_RST: 'success' });

    expect(reply).toEqual({ status: 303, location: resultUrl(edge, 'failure') });
    expect(replay).toEqual({ status: 303, location: resultUrl(edge, 'failure') });
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'failed', outcome: 'closed' });
    await expectNothingCreated(edge, session.subscriptionId);
  });

  test('an error result fails the session and creates nothing, even with a billing key in the form', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });

    const reply = await postReturn(result.action, {
      ...result.fields,
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: 'CPAY0003',
    });

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'failed', outcome: 'window_error' });
    await expectNothingCreated(edge, session.subscriptionId);
  });

  test('an unknown session goes to the generic failure page and creates nothing', async () => {
    const subscriptionsBefore = (await subscriptionsOf(edge)).length;

    const unknown = await postReturn(`${edge.url}/return/${'A'.repeat(43)}`, { PCD_PAY_RST: 'success' });
    const malformed = await postReturn(`${edge.url}/return/not-a-session`, { PCD_PAY_RST: 'success' });

    expect(unknown).toEqual({ status: 303, location: resultUrl(edge, 'failure') });
    expect(malformed).toEqual({ status: 303, location: resultUrl(edge, 'failure') });
    expect(await subscriptionsOf(edge)).toHaveLength(subscriptionsBefore);
  });

  test('a post that is not a result form does not use the session up', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });

    const garbage = await fetch(result.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'PCD_PAY_RST=success&PCD_PAY_RST=close',
      redirect: 'manual',
    });
    expect(garbage.status).toBe(303);
    expect(garbage.headers.get('location')).toBe(resultUrl(edge, 'failure'));
    expect((await sessionOf(edge, params)).status).toBe('open');

    const real = await postReturn(result.action, result.fields);
    expect(real.location).toBe(resultUrl(edge, 'success'));
  });

  test('a window opened with another pay type than the session’s is refused by PUSERINFO', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const { PCD_CARD_VER: _card, ...rest } = params;
    const result = await payInWindow(
      { ...rest, PCD_PAY_TYPE: 'transfer' },
      { number: testAccounts.success.number },
    );
    expect(result.fields['PCD_PAY_RST']).toBe('success');

    const reply = await postReturn(result.action, { ...result.fields, PCD_PAY_TYPE: 'card' });

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'failed', outcome: 'wrong_pay_type' });
    await expectNothingCreated(edge, session.subscriptionId);
  });

  test('a key PUSERINFO does not know as active is refused: terminated, or forged in the form', async () => {
    const terminated = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const forged = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const first = await payInWindow(terminated, { number: testCards.success.number });
    const second = await payInWindow(forged, { number: testCards.success.number });
    edge.stack.sandbox.admin.terminateBillingKey(first.fields['PCD_PAYER_ID']!);

    const replies = [
      await postReturn(first.action, first.fields),
      await postReturn(second.action, { ...second.fields, PCD_PAYER_ID: 'Zm9yZ2VkLWJpbGxpbmcta2V5' }),
    ];

    for (const [reply, params] of [
      [replies[0]!, terminated],
      [replies[1]!, forged],
    ] as const) {
      expect(reply.location).toBe(resultUrl(edge, 'failure'));
      const session = await sessionOf(edge, params);
      expect(session).toMatchObject({ status: 'failed', outcome: 'key_not_active' });
      await expectNothingCreated(edge, session.subscriptionId);
    }
  });

  test('an expired session is refused, closed, and creates nothing', async () => {
    const params = await checkout(edge, { planId: 'basic-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    const now = edge.stack.clock.now();
    await edge.stack.clock.set(now + 40 * 60_000);

    const reply = await postReturn(result.action, result.fields);

    await edge.stack.clock.set(now);
    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'failed', outcome: 'expired' });
    await expectNothingCreated(edge, session.subscriptionId);
  });
});

describe('PAY window: the first payment is recorded once and confirmed by a lookup, never by the form', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: START });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  test('a paid window is confirmed by the result lookup; replays, the reconciler and a webhook change nothing', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    const oid = params['PCD_PAY_OID']!;

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'completed', outcome: 'first_payment_paid' });
    const payment = await edge.stack.billing.store.getPayment(oid);
    expect(payment).toMatchObject({ state: 'paid', amount: 29_000, resolvedBy: 'result_lookup', period: 0 });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      paymentMethod: { billingKeyRef: result.fields['PCD_PAYER_ID'] },
    });

    await postReturn(result.action, result.fields);
    await edge.stack.billing.reconcile();
    const webhook = await settleAttemptOutcome(
      {
        store: edge.stack.billing.store,
        publisher: edge.stack.billing.publisher,
        dunningPolicy: DEFAULT_DUNNING_POLICY,
      },
      { oid, outcome: { kind: 'paid', resolvedBy: 'webhook' }, now: edge.stack.clock.now() },
    );
    await edge.stack.billing.drain();

    expect(webhook.status).toBe('already_settled');
    expect(await edge.stack.billing.store.getPayment(oid)).toEqual(payment);
    expect((await paymentsOf(edge)).filter((p) => p.subscriptionId === session.subscriptionId)).toHaveLength(
      1,
    );
    expect(ledgerOf(edge, session.subscriptionId)).toMatchObject([
      { oid, status: 'charged', amount: 29_000, origin: 'windowPay' },
    ]);
    const paidEvents = edge.stack.eventBus
      .events()
      .filter((e) => e.detailType === 'payment.succeeded' && (e.detail as { oid?: string }).oid === oid);
    expect(paidEvents).toHaveLength(1);
  });

  test('a window opened with a tampered amount is never confirmed: the payment stays unknown', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(
      { ...params, PCD_PAY_TOTAL: '100' },
      { number: testCards.success.number },
    );
    expect(result.fields['PCD_PAY_TOTAL']).toBe('100');

    // The browser also "fixes" the total it posts back.
    const reply = await postReturn(result.action, { ...result.fields, PCD_PAY_TOTAL: '29000' });
    await edge.stack.billing.reconcile();

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    const session = await sessionOf(edge, params);
    expect(session.outcome).toBe('first_payment_unconfirmed');
    expect(await edge.stack.billing.store.getPayment(params['PCD_PAY_OID']!)).toMatchObject({
      state: 'unknown',
      amount: 29_000,
    });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'incomplete',
      inFlight: { oid: params['PCD_PAY_OID'] },
    });
    expect(ledgerOf(edge, session.subscriptionId)).toMatchObject([{ amount: 100 }]);
  });

  test('a tampered total or OID in the posted form is not read: the session’s amount and OID decide', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });

    const reply = await postReturn(result.action, {
      ...result.fields,
      PCD_PAY_TOTAL: '100',
      PCD_PAY_OID: 'other-1',
    });

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    expect(await edge.stack.billing.store.getPayment(params['PCD_PAY_OID']!)).toMatchObject({
      state: 'paid',
      amount: 29_000,
    });
  });

  test('a window that answered "no answer from the card company" but charged is recorded and confirmed', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.cardCompanyNoAnswer.number });
    expect(result.fields).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD1001' });

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    expect(await edge.stack.billing.store.getPayment(params['PCD_PAY_OID']!)).toMatchObject({
      state: 'paid',
    });
  });

  test('a declined window is looked up, found declined, and creates nothing', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.insufficientFunds.number });
    expect(result.fields['PCD_PAY_RST']).toBe('error');
    const lookupsBefore = edge.stack.sandbox.admin.lookupUsage().count;
    const metricsBefore = edge.metrics.length;

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    expect(edge.stack.sandbox.admin.lookupUsage().count).toBe(lookupsBefore + 1);
    const session = await sessionOf(edge, params);
    expect(session.outcome).toBe('window_error');
    await expectNothingCreated(edge, session.subscriptionId);
    expect(edge.metrics.slice(metricsBefore)).toEqual(['CheckoutsFailed']);
  });

  test('a window that charged but whose form says declined is recorded from the lookup, paid', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    expect(result.fields['PCD_PAY_RST']).toBe('success');

    const reply = await postReturn(result.action, { ...result.fields, ...PLAIN_DECLINE });

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    const oid = params['PCD_PAY_OID']!;
    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      amount: 29_000,
      resolvedBy: 'result_lookup',
    });
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'completed', outcome: 'first_payment_paid' });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'active',
    });
    expect(ledgerOf(edge, session.subscriptionId)).toHaveLength(1);
  });

  test('a window that charged, posted as declined without its billing key, is flagged for review', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    const { PCD_PAYER_ID: _key, ...withoutKey } = result.fields;
    const metricsBefore = edge.metrics.length;

    const reply = await postReturn(result.action, { ...withoutKey, ...PLAIN_DECLINE });

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({ status: 'failed', outcome: 'window_error' });
    await expectNothingCreated(edge, session.subscriptionId);
    expect(edge.metrics.slice(metricsBefore)).toEqual(['CheckoutsFailed', 'CheckoutPaymentsNeedReview']);
  });

  test('without lookup budget the return does not look up; the reconciler settles it later', async () => {
    const now = edge.stack.clock.now();
    while ((await edge.stack.billing.budget.reserve(1000, now)) > 0);
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });
    const lookupsBefore = edge.stack.sandbox.admin.lookupUsage().count;

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    expect(edge.stack.sandbox.admin.lookupUsage().count).toBe(lookupsBefore);
    const oid = params['PCD_PAY_OID']!;
    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({ state: 'unknown' });

    await edge.stack.clock.set(now + 11 * 60_000);
    await edge.stack.billing.reconcile();

    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
  });

  test('a declined window that cannot be looked up (no budget) is flagged for review, not forgotten', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.insufficientFunds.number });
    const now = edge.stack.clock.now();
    while ((await edge.stack.billing.budget.reserve(1000, now)) > 0);
    const lookupsBefore = edge.stack.sandbox.admin.lookupUsage().count;
    const metricsBefore = edge.metrics.length;

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    expect(edge.stack.sandbox.admin.lookupUsage().count).toBe(lookupsBefore);
    expect(edge.metrics.slice(metricsBefore)).toEqual(['CheckoutsFailed', 'CheckoutPaymentsNeedReview']);
  });
});

describe('CERT window: we confirm at PCD_PAY_COFURL and settle from its answer', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: START });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  test('the confirm pays period 0 once; a replay does not confirm again', async () => {
    const params = await checkout(edge, { planId: 'weekly-box', payType: 'card' });
    expect(params).toMatchObject({ PCD_PAY_WORK: 'CERT', PCD_PAY_TOTAL: '15000' });
    const result = await payInWindow(params, { number: testCards.success.number });
    expect(ledgerOf(edge, params['PCD_PAY_OID']!.split('-')[0]!)).toEqual([]);

    const reply = await postReturn(result.action, result.fields);
    const replay = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    expect(replay.location).toBe(resultUrl(edge, 'success'));
    const session = await sessionOf(edge, params);
    expect(session.outcome).toBe('first_payment_paid');
    const oid = params['PCD_PAY_OID']!;
    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid', amount: 15_000 });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'active',
    });
    expect(ledgerOf(edge, session.subscriptionId)).toMatchObject([
      { oid, status: 'charged', amount: 15_000, origin: 'certConfirm' },
    ]);
  });

  test('a confirm URL that is not Payple’s is never called; nothing is created', async () => {
    const params = await checkout(edge, { planId: 'weekly-box', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.success.number });

    const reply = await postReturn(result.action, {
      ...result.fields,
      PCD_PAY_COFURL: 'https://evil.example/php/PayCardConfirmAct.php?ACT_=PAYM',
    });

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session.outcome).toBe('confirm_url_not_allowed');
    await expectNothingCreated(edge, session.subscriptionId);
    expect(ledgerOf(edge, session.subscriptionId)).toEqual([]);
  });

  test('a declined confirm ends the new subscription (first payment failed)', async () => {
    const params = await checkout(edge, { planId: 'weekly-box', payType: 'card' });
    const result = await payInWindow(params, { number: testCards.limitExceeded.number });

    const reply = await postReturn(result.action, result.fields);

    expect(reply.location).toBe(resultUrl(edge, 'failure'));
    const session = await sessionOf(edge, params);
    expect(session.outcome).toBe('first_payment_declined');
    expect(await edge.stack.billing.store.getPayment(params['PCD_PAY_OID']!)).toMatchObject({
      state: 'declined',
    });
    expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
      status: 'canceled',
      cancellation: { reason: 'first_payment_failed' },
    });
  });
});

describe('replacing the payment method of a past_due subscription', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: START });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  test('a new card is charged at once and the subscription recovers', async () => {
    const sub = await seedSubscription(edge.stack);
    await billAt(edge.stack, '2027-03-10T14:05:00+09:00');
    edge.stack.sandbox.admin.terminateBillingKey(sub.paymentMethod.billingKeyRef);
    await billAt(edge.stack, '2027-04-10T10:05:00+09:00');
    expect(await edge.stack.billing.store.getSubscription(sub.id)).toMatchObject({
      status: 'past_due',
      paymentMethod: { status: 'needs_replacement' },
      nextChargeAt: null,
    });

    const page = await fetch(`${edge.url}/subscribe?replace=${sub.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`value="${sub.id}"`);
    const params = await checkout(edge, { replaceSubscriptionId: sub.id, payType: 'card' });
    expect(params).toMatchObject({ PCD_PAY_WORK: 'AUTH' });
    const result = await payInWindow(params, { number: testCards.success.number });

    const reply = await postReturn(result.action, result.fields);
    await edge.stack.billing.drain();

    expect(reply.location).toBe(resultUrl(edge, 'success'));
    const after = await edge.stack.billing.store.getSubscription(sub.id);
    expect(after).toMatchObject({
      status: 'active',
      currentPeriod: 2,
      customer: { name: sub.customer.name },
      paymentMethod: { billingKeyRef: result.fields['PCD_PAYER_ID'], revision: 2, status: 'valid' },
    });
    // Payple refuses a terminated key before it records the attempt: the decline is only ours.
    expect(await edge.stack.billing.store.getPayment(`${sub.id}-20270410-1`)).toMatchObject({
      state: 'declined',
    });
    expect(ledgerOf(edge, sub.id).map((e) => `${e.oid} ${e.status}`)).toEqual([
      `${sub.id}-20270310-1 charged`,
      `${sub.id}-20270410-2 charged`,
    ]);
    const types = edge.stack.eventBus
      .events()
      .filter((e) => (e.detail as { subscriptionId?: string }).subscriptionId === sub.id)
      .map((e) => e.detailType);
    expect(types).toContain('subscription.payment_method_replaced');
    expect(types).toContain('subscription.recovered');
  });

  test('the replace page of a subscription in good standing says it cannot be replaced', async () => {
    const healthy = await seedSubscription(edge.stack);

    const page = await fetch(`${edge.url}/subscribe?replace=${healthy.id}`);

    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain(healthy.id);
  });
});
