/**
 * One payment at a time, through the whole pipeline: the charge answer (and the webhook) lost, a
 * charge that never reached Payple, lookups that keep failing until the schedule gives up, and a
 * reconciler that dies holding its lease.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PaypleConfigurationError } from '../../functions/payple/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';
import { ledgerOf, MINUTE_MS, secondReconciler } from '../support/reconciler-helpers.ts';

const BACKOFF_MS = [5 * MINUTE_MS, 10 * MINUTE_MS, 15 * MINUTE_MS];
const GRACE_MS = 30 * MINUTE_MS;
const kst = (date: string, time: string) => Date.parse(`${date}T${time}:00+09:00`);

describe('the reconciler settles what the charge answer did not tell', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({
      startAt: '2027-03-01T09:00:00+09:00',
      billing: {
        paypleTimeouts: { chargeMs: 3_000 },
        reconcile: { backoffMs: BACKOFF_MS, notFoundGraceMs: GRACE_MS },
      },
    });
  });
  afterAll(async () => {
    await stack.stop();
  });

  /** Drops every webhook about `oid`, so only a lookup can tell what happened. */
  const loseWebhooks = (oid: string) => stack.sandbox.admin.addFault({ kind: 'webhookDrop', oid });
  const webhooksDelivered = (oid: string) =>
    stack.sandbox.admin.webhooks().filter((w) => w.oid === oid && w.status === 'delivered');

  test('answer and webhook both lost: the lookup settles it paid, and only the next period is ever charged', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 3, day: 2 },
    });
    const oid = `${subscription.id}-20270302-1`;
    stack.sandbox.admin.addFault({
      kind: 'answerLost',
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });
    loseWebhooks(oid);
    await billAt(stack, kst('2027-03-02', '10:05'));
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'unknown' });

    await stack.clock.set(kst('2027-03-02', '10:10'));
    const report = await stack.billing.reconcile();
    // The dispatcher keeps running all month; a month later the next period is due.
    for (const at of ['2027-03-02T10:15', '2027-03-02T10:25', '2027-03-03T10:05', '2027-03-20T10:05']) {
      await billAt(stack, Date.parse(`${at}:00+09:00`));
    }
    await billAt(stack, kst('2027-04-02', '10:05'));
    await billAt(stack, kst('2027-04-02', '10:15'));

    expect(report).toMatchObject({ lookups: 1, settled: 1, needsReview: 0 });
    expect(webhooksDelivered(oid)).toEqual([]);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
    expect(ledgerOf(stack, subscription.id).map((e) => [e.oid, e.status])).toEqual([
      [oid, 'charged'],
      [`${subscription.id}-20270402-1`, 'charged'],
    ]);
    expect(await stack.billing.store.getSubscription(subscription.id)).toMatchObject({
      currentPeriod: 2,
      inFlight: null,
    });
  });

  test('never reached Payple: not found until the grace period ends, then exactly one new attempt, charged once', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 4, day: 5 },
      account: 'success',
    });
    const firstOid = `${subscription.id}-20270405-1`;
    const secondOid = `${subscription.id}-20270405-2`;
    stack.sandbox.admin.addFault({
      kind: 'httpError',
      execute: false,
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });
    const requestedAt = kst('2027-04-05', '10:05');
    await billAt(stack, requestedAt);
    expect(await stack.billing.store.getPayment(firstOid)).toMatchObject({ state: 'unknown' });

    // Act: the reconciler on its schedule, the dispatcher on its own, for an hour.
    const reports = [];
    for (let at = requestedAt + 5 * MINUTE_MS; at <= requestedAt + 60 * MINUTE_MS; at += 5 * MINUTE_MS) {
      await stack.clock.set(at);
      reports.push({ at, ...(await stack.billing.reconcile()) });
      if ((at - requestedAt) % (10 * MINUTE_MS) === 0) await billAt(stack, at);
    }

    const settledRun = reports.find((r) => r.settled === 1)!;
    expect(settledRun.at - requestedAt).toBeGreaterThanOrEqual(GRACE_MS);
    // Before the grace period ended every lookup found nothing and nothing was decided.
    expect(reports.filter((r) => r.at < settledRun.at).every((r) => r.settled === 0)).toBe(true);
    expect(await stack.billing.store.getPayment(firstOid)).toMatchObject({
      state: 'not_charged',
      resolvedBy: 'result_lookup',
    });
    expect(await stack.billing.store.getPayment(secondOid)).toMatchObject({ state: 'paid' });
    expect(await stack.billing.store.getPayment(`${subscription.id}-20270405-3`)).toBeUndefined();
    expect(ledgerOf(stack, subscription.id).map((e) => [e.oid, e.status])).toEqual([[secondOid, 'charged']]);
    expect(await stack.billing.store.getSubscription(subscription.id)).toMatchObject({
      currentPeriod: 1,
      inFlight: null,
    });
  });

  test('lookups that keep failing end in needs_review, counted for the alarm, and the period is never charged again on its own', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 4, day: 6 },
    });
    const oid = `${subscription.id}-20270406-1`;
    stack.sandbox.admin.addFault({
      kind: 'answerLost',
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });
    loseWebhooks(oid);
    // Every lookup of this OID answers a 5xx (a transport failure: retry later).
    stack.sandbox.admin.addFault({ kind: 'httpError', status: 503, operation: 'lookup', oid });
    const requestedAt = kst('2027-04-06', '10:05');
    await billAt(stack, requestedAt);

    // Act: the stack's reconciler while the schedule lasts, then a second instance (its metrics
    // captured as CloudWatch would get them) for the run that gives up.
    const reports = [];
    for (let at = requestedAt + 5 * MINUTE_MS; at <= requestedAt + 30 * MINUTE_MS; at += 5 * MINUTE_MS) {
      await stack.clock.set(at);
      reports.push(await stack.billing.reconcile());
    }
    const metrics: Record<string, unknown>[] = [];
    const other = secondReconciler(stack, {
      settings: { backoffMs: BACKOFF_MS, notFoundGraceMs: GRACE_MS },
      onMetrics: (emf) => metrics.push(emf),
    });
    await stack.clock.set(requestedAt + 35 * MINUTE_MS);
    const last = await other();
    // Then a month of dispatching.
    for (const day of ['2027-04-06', '2027-04-07', '2027-04-20', '2027-05-06', '2027-05-07']) {
      await billAt(stack, kst(day, '10:45'));
      await stack.billing.reconcile();
    }

    expect(reports.map((r) => r.needsReview)).toEqual(reports.map(() => 0));
    expect(reports.reduce((sum, r) => sum + r.lookups, 0)).toBe(BACKOFF_MS.length);
    expect(last).toMatchObject({ lookups: 1, needsReview: 1, settled: 0 });
    expect(metrics).toEqual([expect.objectContaining({ PaymentsNeedingReview: 1 })]);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'needs_review' });
    expect(ledgerOf(stack, subscription.id).map((e) => e.oid)).toEqual([oid]);
    expect(await stack.billing.store.getSubscription(subscription.id)).toMatchObject({
      currentPeriod: 0,
      inFlight: { oid },
    });
  });

  test('a reconciler that dies holding its lease leaves the payment to the next runs once the lease runs out', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 5, day: 10 },
    });
    const oid = `${subscription.id}-20270510-1`;
    stack.sandbox.admin.addFault({
      kind: 'httpError',
      execute: true,
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });
    loseWebhooks(oid);
    const requestedAt = kst('2027-05-10', '10:05');
    await billAt(stack, requestedAt);
    // An invocation that fails after taking the lease (here its lookup throws what the use case
    // does not expect; a Lambda timeout or a DynamoDB error leaves the same state).
    const dying = secondReconciler(stack, {
      wrap: () => ({
        lookupPayment: () =>
          Promise.reject(new PaypleConfigurationError('simulated crash', { operation: 'payment_lookup' })),
      }),
    });
    await stack.clock.set(requestedAt + 5 * MINUTE_MS);
    await expect(dying()).rejects.toThrow('simulated crash');

    const reports = [];
    for (let at = requestedAt + 10 * MINUTE_MS; at <= requestedAt + 3 * 60 * MINUTE_MS; at += 5 * MINUTE_MS) {
      await stack.clock.set(at);
      reports.push(await stack.billing.reconcile());
    }

    expect(reports.reduce((sum, r) => sum + r.settled, 0)).toBe(1);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
    expect(ledgerOf(stack, subscription.id).map((e) => e.oid)).toEqual([oid]);
  });

  test('a payment whose subscription no longer has it in flight goes to review instead of being looked up for ever', async () => {
    const subscription = await seedSubscription(stack, {
      firstBillingDate: { year: 2027, month: 6, day: 4 },
    });
    const oid = `${subscription.id}-20270604-1`;
    stack.sandbox.admin.addFault({
      kind: 'answerLost',
      operation: 'charge',
      payerId: subscription.paymentMethod.billingKeyRef,
      times: 1,
    });
    loseWebhooks(oid);
    await billAt(stack, kst('2027-06-04', '10:05'));
    // An edit by hand: the subscription forgets the attempt the payment belongs to.
    const stored = (await stack.billing.store.getSubscription(subscription.id))!;
    expect(stored.inFlight?.oid).toBe(oid);
    const edited = await stack.billing.store.commit({
      subscription: {
        expectedVersion: stored.version,
        next: { ...stored, inFlight: null, version: stored.version + 1 },
      },
      events: [],
    });
    expect(edited.committed).toBe(true);

    await stack.clock.set(kst('2027-06-04', '10:10'));
    const first = await stack.billing.reconcile();
    await stack.clock.set(kst('2027-06-04', '10:30'));
    const later = await stack.billing.reconcile();

    expect(first).toMatchObject({ lookups: 1, settled: 0, needsReview: 1 });
    expect(later).toMatchObject({ lookups: 0 });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'needs_review' });
  });
});
