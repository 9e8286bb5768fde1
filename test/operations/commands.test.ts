/**
 * The operations Lambda's commands against the emulators and the Payple sandbox: a hold released
 * after a configuration error, payments under review decided by hand, unrecorded-payment reports
 * dismissed, and commands that are not valid refused without changing anything.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { DEFAULT_DUNNING_POLICY, type Subscription } from '../../functions/billing/index.ts';
import { createOperationsHandler, type OperationsResponse } from '../../functions/operations/operations.ts';
import { PENDING_REFUND_SETTLE_MS } from '../../functions/use-cases/refund-payment.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { createLambdaContext } from '../../local/aws/lambda-context.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, sandboxClient, seedSubscription, startTestStack } from '../support/local-stack.ts';
import { startChargerWith } from '../support/pipeline-helpers.ts';

const MINUTE = 60_000;
const kst = (date: string, time: string) => Date.parse(`${date}T${time}:00+09:00`);

let stack: LocalStack;
let invoke: (command: unknown) => Promise<OperationsResponse>;
const metrics: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    startAt: '2027-06-01T09:00:00+09:00',
    // One failed lookup, then review: the shortest way to a payment under review.
    billing: { reconcile: { backoffMs: [5 * MINUTE], notFoundGraceMs: 60_000 } },
  });
  const recorder = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'operations' });
  vi.spyOn(recorder, 'addMetric').mockImplementation((name: string) => {
    metrics.push(name);
    return recorder;
  });
  vi.spyOn(recorder, 'publishStoredMetrics').mockImplementation(() => recorder);
  const handler = createOperationsHandler({
    store: stack.billing.store,
    held: stack.billing.store,
    publisher: stack.billing.publisher,
    payple: sandboxClient(stack),
    dunningPolicy: DEFAULT_DUNNING_POLICY,
    unrecordedPayments: stack.billing.unrecordedPayments,
    now: stack.clock.now,
    logger: new Logger({ serviceName: 'operations', logLevel: 'SILENT' }),
    metrics: recorder,
  });
  invoke = (command) =>
    handler(command, createLambdaContext({ functionName: 'operations', timeoutMs: 300_000 }));
});
afterAll(async () => {
  await stack.stop();
});

const ledgerOf = (subscriptionId: string) =>
  stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(`${subscriptionId}-`));
const stored = async (id: string) => (await stack.billing.store.getSubscription(id))!;

/** A subscription whose charge on `date` met an unregistered Referer: on hold, nothing charged. */
async function heldSubscription(date: string): Promise<Subscription> {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const subscription = await seedSubscription(stack, { firstBillingDate: { year, month, day } });
  const misconfigured = await startChargerWith(stack, { referer: 'https://shop.example.com' });
  try {
    await stack.clock.set(kst(date, '10:05'));
    await stack.billing.dispatch();
    await misconfigured.drain();
  } finally {
    await misconfigured.stop();
  }
  expect(await stored(subscription.id)).toMatchObject({ hold: { reason: 'config_error' } });
  return subscription;
}

describe('commands that are not valid change nothing and say what is wrong', () => {
  test.each([
    ['no command', { subscriptionId: 'sub1', requestedBy: 'kim' }, 'command must be one of'],
    ['an unknown command', { command: 'charge_now', requestedBy: 'kim' }, 'command must be one of'],
    ['nobody asking', { command: 'release_hold', subscriptionId: 'sub1' }, 'requestedBy'],
    [
      'a misspelt field',
      { command: 'release_hold', subscriptionId: 'sub1', requestedBy: 'kim', force: true },
      'force',
    ],
    [
      'a malformed OID',
      { command: 'decide_payment', oid: 'sub1-2027-1', decision: 'paid', requestedBy: 'kim' },
      'oid',
    ],
    [
      'an unknown decision',
      { command: 'decide_payment', oid: 'sub1-20270601-1', decision: 'refunded', requestedBy: 'kim' },
      'decision',
    ],
    ['a forged cursor', { command: 'release_all_holds', cursor: 'eyJ4IjoxfQ', requestedBy: 'kim' }, 'cursor'],
    ['not an object', 'release_hold sub1', 'a command is a JSON object'],
    [
      'a refund of a fraction of a won',
      {
        command: 'refund_payment',
        oid: 'sub1-20270601-1',
        amount: 10.5,
        requestId: 'CS-1',
        requestedBy: 'kim',
      },
      'amount',
    ],
    [
      'a refund without its requestId',
      { command: 'refund_payment', oid: 'sub1-20270601-1', amount: 1_000, requestedBy: 'kim' },
      'requestId',
    ],
    [
      'a requestId with a space in it',
      {
        command: 'refund_payment',
        oid: 'sub1-20270601-1',
        amount: 1_000,
        requestId: 'CS 1',
        requestedBy: 'kim',
      },
      'requestId',
    ],
    [
      'a cancel without its effect',
      {
        command: 'cancel_subscription',
        subscriptionId: 'sub1',
        reason: 'requested_by_customer',
        requestedBy: 'kim',
      },
      'effect',
    ],
    [
      'a cancel for a reason only the engine gives',
      {
        command: 'cancel_subscription',
        subscriptionId: 'sub1',
        effect: 'immediately',
        reason: 'first_payment_failed',
        requestedBy: 'kim',
      },
      'reason',
    ],
  ])('%s', async (_case, command, mentioned) => {
    const before = metrics.length;

    const answer = await invoke(command);

    expect(answer).toMatchObject({ ok: false, error: 'invalid_command' });
    expect(answer.ok ? [] : answer.issues.join('\n')).toContain(mentioned);
    expect(metrics.slice(before)).toEqual(['OperationsCommandsInvalid']);
  });
});

describe('release_hold and release_all_holds', () => {
  test('a held subscription is charged again once its hold is released; a second release is refused', async () => {
    const subscription = await heldSubscription('2027-06-02');
    expect(ledgerOf(subscription.id)).toEqual([]);

    await stack.clock.set(kst('2027-06-02', '11:00'));
    const released = await invoke({
      command: 'release_hold',
      subscriptionId: subscription.id,
      requestedBy: 'kim',
    });
    const again = await invoke({
      command: 'release_hold',
      subscriptionId: subscription.id,
      requestedBy: 'kim',
    });
    await billAt(stack, kst('2027-06-02', '11:05'));

    expect(released).toMatchObject({
      ok: true,
      command: 'release_hold',
      result: { kind: 'released', subscriptionId: subscription.id },
    });
    expect(again).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'no_hold' } });
    expect(ledgerOf(subscription.id).map((entry) => entry.status)).toEqual(['charged']);
    expect(await stored(subscription.id)).toMatchObject({ status: 'active', hold: null, currentPeriod: 1 });
  });

  test('every hold, page by page with the returned cursor; subscriptions in good standing are untouched', async () => {
    const held = [await heldSubscription('2027-06-03'), await heldSubscription('2027-06-04')];
    const healthy = await seedSubscription(stack, { firstBillingDate: { year: 2027, month: 7, day: 1 } });

    const released: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await invoke({
        command: 'release_all_holds',
        limit: 1,
        ...(cursor ? { cursor } : {}),
        requestedBy: 'kim',
      });
      if (!answer.ok) throw new Error(answer.issues.join(', '));
      const result = answer.result as { released: string[]; cursor?: string };
      released.push(...result.released);
      cursor = result.cursor;
      pages++;
    } while (cursor !== undefined);

    expect(released.sort()).toEqual(held.map((s) => s.id).sort());
    expect(pages).toBeGreaterThan(held.length);
    for (const subscription of held) expect(await stored(subscription.id)).toMatchObject({ hold: null });
    expect(await stored(healthy.id)).toEqual(healthy);
  });
});

describe('decide_payment: a payment under review, settled as the operator found it at Payple', () => {
  /** A charge whose answer was lost and whose lookups kept failing: `needs_review`. */
  async function paymentUnderReview(date: string, charged: boolean) {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const subscription = await seedSubscription(stack, { firstBillingDate: { year, month, day } });
    const oid = `${subscription.id}-${date.replaceAll('-', '')}-1`;
    const payerId = subscription.paymentMethod.billingKeyRef;
    stack.sandbox.admin.addFault(
      charged
        ? { kind: 'answerLost', operation: 'charge', payerId, times: 1 }
        : { kind: 'httpError', operation: 'charge', payerId, times: 1 },
    );
    stack.sandbox.admin.addFault({ kind: 'httpError', status: 503, operation: 'lookup', oid });
    await billAt(stack, kst(date, '10:05'));
    for (const minutes of [10, 20]) {
      await stack.clock.set(kst(date, '10:05') + minutes * MINUTE);
      await stack.billing.reconcile();
    }
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'needs_review' });
    return { subscription, oid };
  }

  test('paid: the period is paid, resolved by the operator, and never charged again', async () => {
    const { subscription, oid } = await paymentUnderReview('2027-06-07', true);

    const answer = await invoke({ command: 'decide_payment', oid, decision: 'paid', requestedBy: 'kim' });
    const again = await invoke({
      command: 'decide_payment',
      oid,
      decision: 'not_charged',
      requestedBy: 'kim',
    });
    await billAt(stack, kst('2027-06-07', '12:05'));

    expect(answer).toMatchObject({ ok: true, result: { kind: 'settled', oid, state: 'paid' } });
    expect(again).toMatchObject({
      ok: true,
      result: { kind: 'refused', reason: 'not_under_review', state: 'paid' },
    });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'operator',
    });
    expect(await stored(subscription.id)).toMatchObject({
      status: 'active',
      currentPeriod: 1,
      inFlight: null,
    });
    expect(ledgerOf(subscription.id).map((entry) => entry.oid)).toEqual([oid]);
  });

  test('not charged: the period gets one new attempt with a new OID', async () => {
    const { subscription, oid } = await paymentUnderReview('2027-06-08', false);

    const answer = await invoke({
      command: 'decide_payment',
      oid,
      decision: 'not_charged',
      requestedBy: 'kim',
    });
    await billAt(stack, kst('2027-06-08', '12:05'));

    expect(answer).toMatchObject({ ok: true, result: { kind: 'settled', oid, state: 'not_charged' } });
    expect(ledgerOf(subscription.id).map((entry) => [entry.oid, entry.status])).toEqual([
      [`${subscription.id}-20270608-2`, 'charged'],
    ]);
    expect(await stored(subscription.id)).toMatchObject({ status: 'active', currentPeriod: 1 });
  });

  test('a payment that is not under review, or does not exist, is refused', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 9 },
    });
    await billAt(stack, kst('2027-06-09', '10:05'));
    const oid = `${subscription.id}-20270609-1`;

    const paid = await invoke({
      command: 'decide_payment',
      oid,
      decision: 'not_charged',
      requestedBy: 'kim',
    });
    const missing = await invoke({
      command: 'decide_payment',
      oid: 'nosuch-20270609-1',
      decision: 'paid',
      requestedBy: 'kim',
    });

    expect(paid).toMatchObject({
      ok: true,
      result: { kind: 'refused', reason: 'not_under_review', state: 'paid' },
    });
    expect(missing).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'not_found' } });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'charge_answer',
    });
  });
});

describe('dismiss_unrecorded_payment', () => {
  test('removes a report once; a second dismissal is refused', async () => {
    const oid = 'subunrecorded-20270610-1';
    await stack.billing.unrecordedPayments.record({ oid, reportedAt: stack.clock.now(), amount: 9_900 });

    const dismissed = await invoke({ command: 'dismiss_unrecorded_payment', oid, requestedBy: 'kim' });
    const again = await invoke({ command: 'dismiss_unrecorded_payment', oid, requestedBy: 'kim' });

    expect(dismissed).toMatchObject({ ok: true, result: { kind: 'dismissed', oid } });
    expect(again).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'not_reported' } });
    expect(await stack.billing.unrecordedPayments.list()).toEqual([]);
  });
});

describe('refund_payment, cancel_subscription and release_billing_key reach Payple through the same function', () => {
  test('a partial refund, then the rest; the sandbox holds both refunds and the payment is refunded', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 11 },
    });
    await billAt(stack, kst('2027-06-11', '10:05'));
    const oid = `${subscription.id}-20270611-1`;

    const partial = await invoke({
      command: 'refund_payment',
      oid,
      amount: 900,
      requestId: 'CS-2001',
      requestedBy: 'kim',
    });
    const rest = await invoke({ command: 'refund_payment', oid, requestId: 'CS-2002', requestedBy: 'kim' });
    const beyond = await invoke({
      command: 'refund_payment',
      oid,
      amount: 1,
      requestId: 'CS-2003',
      requestedBy: 'kim',
    });

    expect(partial).toMatchObject({
      ok: true,
      result: { kind: 'refunded', amount: 900, fullyRefunded: false },
    });
    expect(rest).toMatchObject({
      ok: true,
      result: { kind: 'refunded', amount: 9_000, fullyRefunded: true },
    });
    expect(beyond).toMatchObject({ ok: true, result: { kind: 'refused' } });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'refunded',
      refundedTotal: 9_900,
    });
    expect(stack.sandbox.admin.ledgerEntry(oid)).toMatchObject({ status: 'refunded' });
  });

  test('a refund whose outcome is unknown blocks the next until an operator resolves it; then it goes through', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 13 },
    });
    await billAt(stack, kst('2027-06-13', '10:05'));
    const oid = `${subscription.id}-20270613-1`;
    stack.sandbox.admin.addFault({ kind: 'httpError', status: 502, operation: 'cancel', oid, times: 1 });
    // The same command each time: the claim left by the unknown outcome was cleared as not
    // refunded, so the same request goes through afterwards.
    const refund = {
      command: 'refund_payment',
      oid,
      amount: 1_000,
      requestId: 'CS-2004',
      requestedBy: 'kim',
    };

    const unknown = await invoke(refund);
    const retried = await invoke(refund);
    const tooSoon = await invoke({
      command: 'resolve_pending_refund',
      oid,
      refunded: false,
      requestedBy: 'kim',
    });
    await stack.clock.set(stack.clock.now() + PENDING_REFUND_SETTLE_MS);
    const resolved = await invoke({
      command: 'resolve_pending_refund',
      oid,
      refunded: false,
      requestedBy: 'kim',
    });
    const afterwards = await invoke(refund);

    expect(unknown).toMatchObject({ ok: true, result: { kind: 'outcome_unknown', amount: 1_000 } });
    expect(retried).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'refund_in_progress' } });
    expect(tooSoon).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'claim_too_recent' } });
    expect(resolved).toMatchObject({ ok: true, result: { kind: 'claim_cleared', amount: 1_000 } });
    expect(afterwards).toMatchObject({
      ok: true,
      result: { kind: 'refunded', amount: 1_000, refundedTotal: 1_000 },
    });
    expect(stack.sandbox.admin.ledgerEntry(oid)).toMatchObject({ status: 'partiallyRefunded' });
  });

  test('a refund command repeated with the same requestId refunds once; one without a requestId is refused as invalid', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 15 },
    });
    await billAt(stack, kst('2027-06-15', '10:05'));
    const oid = `${subscription.id}-20270615-1`;
    const refund = {
      command: 'refund_payment',
      oid,
      amount: 1_000,
      requestId: 'CS-2005',
      requestedBy: 'kim',
    };

    const first = await invoke(refund);
    await stack.clock.set(stack.clock.now() + MINUTE);
    // The operator's invoke timed out on their side; they run the same command again.
    const again = await invoke(refund);
    const withoutId = await invoke({ command: 'refund_payment', oid, amount: 1_000, requestedBy: 'kim' });

    expect(first).toMatchObject({
      ok: true,
      result: { kind: 'refunded', amount: 1_000, refundedTotal: 1_000 },
    });
    const refundedAt = first.ok ? (first.result as { refundedAt: string }).refundedAt : undefined;
    expect(again).toEqual({
      ok: true,
      command: 'refund_payment',
      result: {
        kind: 'already_done',
        oid,
        subscriptionId: subscription.id,
        requestId: 'CS-2005',
        amount: 1_000,
        refundedAt,
        refundedTotal: 1_000,
        fullyRefunded: false,
      },
    });
    expect(withoutId).toMatchObject({ ok: false, error: 'invalid_command' });
    expect(withoutId.ok ? '' : withoutId.issues.join('\n')).toContain('requestId');
    expect(stack.sandbox.admin.ledgerEntry(oid)?.refunds.map((r) => r.amount)).toEqual([1_000]);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 1_000,
      refunds: [{ amount: 1_000, refundedAt, requestId: 'CS-2005' }],
    });
  });

  test('a cancel at once that deletes the billing key at Payple; a second cancel is refused', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 20 },
    });
    const key = subscription.paymentMethod.billingKeyRef;
    const cancel = {
      command: 'cancel_subscription',
      subscriptionId: subscription.id,
      effect: 'immediately',
      reason: 'requested_by_customer',
      deleteBillingKey: true,
      requestedBy: 'kim',
    };

    const canceled = await invoke(cancel);
    const again = await invoke(cancel);

    expect(canceled).toMatchObject({
      ok: true,
      result: { kind: 'canceled', effect: 'immediately', billingKey: { outcome: 'deleted' } },
    });
    expect(again).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'already_canceled' } });
    expect(await stored(subscription.id)).toMatchObject({ status: 'canceled', nextChargeAt: null });
    expect(stack.sandbox.admin.billingKeys().find((k) => k.PCD_PAYER_ID === key)).toMatchObject({
      status: 'deleted',
      deletedBy: 'PUSERDEL',
    });
    expect(JSON.stringify([canceled, again])).not.toContain(key);
  });
});
