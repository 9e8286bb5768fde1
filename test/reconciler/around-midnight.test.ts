/**
 * Lookups around midnight KST: Payple files a payment under the KST date it recorded it, which for
 * a request just before midnight may already be the next one.
 *
 * The pipeline itself never requests then (the charger refuses to claim inside the banks' window,
 * 23:30-00:30 KST), so the second test writes such a payment by hand, as a late request from
 * another path would leave it, and lets the sandbox record the real charge after midnight.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { claimAttempt, type PaymentRecord } from '../../functions/billing/index.ts';
import { lookupDates } from '../../functions/use-cases/reconcile.ts';
import type { LocalStack } from '../../local/stack.ts';
import { sandboxClient, seedSubscription, startTestStack } from '../support/local-stack.ts';
import { MINUTE_MS } from '../support/reconciler-helpers.ts';

const kst = (date: string, time: string) => Date.parse(`${date}T${time}+09:00`);

function paymentRequestedAt(requestedAt: number, requestDate: string): PaymentRecord {
  return {
    oid: 'sub1-20270610-1',
    subscriptionId: 'sub1',
    period: 0,
    periodKey: '20270610',
    attempt: 1,
    amount: 9_900,
    payType: 'card',
    state: 'unknown',
    requestedAt,
    requestDate,
    reconcile: { nextAt: requestedAt + 5 * MINUTE_MS, lookups: 0 },
    version: 2,
  };
}

describe('lookupDates', () => {
  test.each([
    ['10:00:00', '20270610', ['20270610']],
    ['23:49:59', '20270610', ['20270610']],
    ['23:50:00', '20270610', ['20270610', '20270611']],
    ['23:59:30', '20270610', ['20270610', '20270611']],
    ['00:00:05', '20270611', ['20270611']],
  ])('a request at %s KST on its date %s is looked up on %j', (time, requestDate, dates) => {
    const date = requestDate === '20270611' ? '2027-06-11' : '2027-06-10';
    expect(lookupDates(paymentRequestedAt(kst(date, time), requestDate))).toEqual(dates);
  });

  test('the last day of a month and of a year roll over to the next month and year', () => {
    expect(lookupDates(paymentRequestedAt(kst('2027-06-30', '23:59:30'), '20270630'))).toEqual([
      '20270630',
      '20270701',
    ]);
    expect(lookupDates(paymentRequestedAt(kst('2027-12-31', '23:58:00'), '20271231'))).toEqual([
      '20271231',
      '20280101',
    ]);
  });
});

describe('a payment requested at 23:59:30 KST', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-06-10T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  /**
   * A subscription with its first attempt in flight and that attempt's payment `unknown`, requested
   * at `requestedAt`; then the charge reaches the sandbox at `reachesPayple` and its answer is lost.
   */
  async function lateRequest(day: number, requestedAt: number, reachesPayple: number) {
    const subscription = await seedSubscription(stack, { firstBillingDate: { year: 2027, month: 6, day } });
    // The domain claims at the attempt's due time; the request time is what the record says.
    const claimed = claimAttempt(subscription, { period: 0, attempt: 1 }, stack.clock.now());
    const payment: PaymentRecord = {
      oid: claimed.charge.oid,
      subscriptionId: subscription.id,
      period: 0,
      periodKey: claimed.charge.periodKey,
      attempt: 1,
      amount: claimed.charge.amount,
      payType: 'card',
      state: 'unknown',
      requestedAt,
      requestDate: new Date(requestedAt + 9 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', ''),
      reconcile: { nextAt: requestedAt + 5 * MINUTE_MS, lookups: 0 },
      version: 1,
    };
    const committed = await stack.billing.store.commit({
      subscription: { expectedVersion: subscription.version, next: claimed.subscription },
      payment: { expected: 'new', next: payment },
      events: [],
    });
    expect(committed.committed).toBe(true);

    await stack.clock.set(reachesPayple);
    stack.sandbox.admin.addFault({ kind: 'answerLost', operation: 'charge', oid: payment.oid, times: 1 });
    stack.sandbox.admin.addFault({ kind: 'webhookDrop', oid: payment.oid });
    const outcome = await sandboxClient(stack).chargeBillingKey({
      payType: 'card',
      billingKey: subscription.paymentMethod.billingKeyRef,
      oid: payment.oid,
      amount: payment.amount,
      goods: subscription.plan.goodsName,
    });
    expect(outcome.kind).toBe('unknown');
    return payment;
  }

  test('recorded by Payple on the next KST date: found there and settled paid, two lookups spent', async () => {
    await stack.clock.set(kst('2027-06-10', '10:00:00'));
    const payment = await lateRequest(10, kst('2027-06-10', '23:59:30'), kst('2027-06-11', '00:00:10'));
    expect(stack.sandbox.admin.ledgerEntry(payment.oid)).toMatchObject({
      status: 'charged',
      payDate: '20270611',
    });

    await stack.clock.set(kst('2027-06-11', '00:05:00'));
    const counted = stack.sandbox.admin.lookupUsage().count;
    const report = await stack.billing.reconcile();

    expect(report).toMatchObject({ lookups: 2, settled: 1 });
    expect(stack.sandbox.admin.lookupUsage().count - counted).toBe(2);
    expect(payment.requestDate).toBe('20270610');
    expect(await stack.billing.store.getPayment(payment.oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
  });

  test('recorded by Payple on the same date: found with the first lookup, the next date is not asked', async () => {
    await stack.clock.set(kst('2027-06-12', '10:00:00'));
    const payment = await lateRequest(12, kst('2027-06-12', '23:59:30'), kst('2027-06-12', '23:59:31'));
    expect(stack.sandbox.admin.ledgerEntry(payment.oid)).toMatchObject({ payDate: '20270612' });

    await stack.clock.set(kst('2027-06-13', '00:05:00'));
    const report = await stack.billing.reconcile();

    expect(report).toMatchObject({ lookups: 1, settled: 1 });
    expect(await stack.billing.store.getPayment(payment.oid)).toMatchObject({ state: 'paid' });
  });
});
