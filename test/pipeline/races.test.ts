/**
 * Exactly once under races and crashes, end to end on the local stack (DynamoDB Local, the SQS
 * emulator, the Payple sandbox). Every test checks the sandbox ledger, which is what Payple really
 * did: no period charged twice, and every charge either recorded `paid` or held (`charging` /
 * `unknown`, reconcile index set) for the reconciler. Payple's month guard is off, so these prove
 * our own protocol, not Payple's second line of defence.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { attemptOid, type Subscription } from '../../functions/billing/index.ts';
import { processChargeJob } from '../../functions/use-cases/charge-attempt.ts';
import { settleAttemptOutcome, type SettleResult } from '../../functions/use-cases/settle-attempt.ts';
import type { BillingStore } from '../../functions/use-cases/ports.ts';
import type { FaultSpec } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  chargeDependencies,
  expectExactlyOnce,
  expectHeldForReconciler,
  FIRST_LOOKUP_DELAY_MS,
  firstJob,
  ledgerOf,
  busEventsFor,
  sendJobs,
  settleDependencies,
  startTestCharger,
  tapPaypleCharges,
  type ChargeWireTap,
  type TestCharger,
} from '../support/exactly-once.ts';
import { FaultyBillingStore, RecordingGateway } from '../support/fault-store.ts';
import { billAt, sandboxClient, seedSubscription, startTestStack } from '../support/local-stack.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let stack: LocalStack;
let wire: ChargeWireTap;
const chargers: TestCharger[] = [];

beforeAll(async () => {
  wire = tapPaypleCharges();
  stack = await startTestStack({
    startAt: '2027-05-10T10:05:00+09:00',
    billing: { useMonthGuard: false },
  });
});
afterAll(async () => {
  for (const charger of chargers) await charger.stop();
  await stack.stop();
  wire.restore();
});

async function charger(options: Parameters<typeof startTestCharger>[1]): Promise<TestCharger> {
  const started = await startTestCharger(stack, options);
  chargers.push(started);
  return started;
}

/** New subscriptions whose first payment (period 0, attempt 1) is due now. */
async function dueSubscriptions(count: number, card = 'success'): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  for (let i = 0; i < count; i++) subscriptions.push(await seedSubscription(stack, { card }));
  return subscriptions;
}

function firstOid(subscription: Subscription): string {
  return attemptOid(subscription, { period: 0, attempt: 1 });
}

/** Moves the clock on by `ms` and runs the deployed dispatcher and charger there. */
async function billLater(ms: number): Promise<void> {
  await billAt(stack, stack.clock.now() + ms);
}

/** Runs the billing pipeline over the following weeks, past the next billing date. */
async function billTheNextMonth(): Promise<void> {
  await billLater(10 * MINUTE);
  await billLater(DAY);
  await billLater(34 * DAY);
}

/** The reconciler's run (every held payment is due for a lookup by now), then the pipeline's. */
async function reconcileThenBill(): Promise<void> {
  await stack.billing.reconcile();
  await billLater(MINUTE);
}

async function expectPaidOnce(subscription: Subscription): Promise<void> {
  const oid = firstOid(subscription);
  expect(ledgerOf(stack, [subscription.id])).toEqual([expect.objectContaining({ oid, status: 'charged' })]);
  expect(wire.requestsFor(oid)).toBe(1);
  expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid', version: 2 });
  expect(await stack.billing.store.getSubscription(subscription.id)).toMatchObject({
    status: 'active',
    currentPeriod: 1,
    lastPaidPeriod: 0,
    inFlight: null,
    version: subscription.version + 2,
  });
  expect(busEventsFor(stack, 'payment.succeeded', oid)).toHaveLength(1);
}

describe('duplicate deliveries of a charge job', () => {
  test('the same job delivered three times in one batch charges once; the copies are acknowledged', async () => {
    const subscriptions = await dueSubscriptions(3);
    const ids = subscriptions.map((s) => s.id);

    await sendJobs(stack, ids.map(firstJob), 3);
    const drained = await stack.billing.poller.drain();

    expect(drained).toMatchObject({ messages: 9, deleted: 9, retained: 0 });
    await expectExactlyOnce(stack, ids, wire);
    for (const subscription of subscriptions) await expectPaidOnce(subscription);
  });

  test('a copy delivered after the attempt was settled is an acknowledged no-op', async () => {
    const [subscription] = await dueSubscriptions(1);
    await sendJobs(stack, [firstJob(subscription!.id)], 1);
    await stack.billing.poller.drain();

    await sendJobs(stack, [firstJob(subscription!.id)], 2);
    const late = await stack.billing.poller.drain();

    expect(late).toMatchObject({ messages: 2, deleted: 2, retained: 0 });
    await expectExactlyOnce(stack, [subscription!.id], wire);
    await expectPaidOnce(subscription!);
  });

  test('copies taken by two chargers at once while Payple is slow reach Payple once', async () => {
    const subscriptions = await dueSubscriptions(2);
    const ids = subscriptions.map((s) => s.id);
    for (const subscription of subscriptions) {
      stack.sandbox.admin.addFault({
        kind: 'latency',
        ms: 300,
        operation: 'charge',
        oid: firstOid(subscription),
      });
    }
    const gateways = [new RecordingGateway(sandboxClient(stack)), new RecordingGateway(sandboxClient(stack))];
    const [a, b] = await Promise.all(
      gateways.map((payple) => charger({ store: stack.billing.store, payple, batchSize: 1 })),
    );

    await sendJobs(stack, ids.map(firstJob), 3);
    const drained = await Promise.all([a!.drain(), b!.drain()]);

    expect(drained.reduce((sum, d) => sum + d.deleted, 0)).toBe(6);
    expect(
      drained.every((d) => d.messages > 0),
      'both chargers took copies',
    ).toBe(true);
    for (const subscription of subscriptions) {
      const oid = firstOid(subscription);
      expect(gateways.map((g) => g.requestsFor(oid)).reduce((x, y) => x + y)).toBe(1);
      await expectPaidOnce(subscription);
    }
    await expectExactlyOnce(stack, ids, wire);
  });
});

describe('overlapping dispatcher runs', () => {
  test('two dispatchers at once enqueue many subscriptions twice; each is charged once', async () => {
    const subscriptions = await dueSubscriptions(12);
    const ids = subscriptions.map((s) => s.id);

    const runs = (await Promise.all([stack.billing.dispatch(), stack.billing.dispatch()])) as {
      enqueued: number;
    }[];
    const enqueued = runs.reduce((sum, run) => sum + run.enqueued, 0);
    const drained = await stack.billing.poller.drain();

    expect(enqueued).toBeGreaterThanOrEqual(12);
    expect(drained).toMatchObject({ messages: enqueued, deleted: enqueued, retained: 0 });
    const charged = await expectExactlyOnce(stack, ids, wire);
    expect(charged).toHaveLength(12);
    for (const subscription of subscriptions) await expectPaidOnce(subscription);
  });

  test('a second run after a drain enqueues nothing that was paid, is in doubt or failed', async () => {
    const paid = await dueSubscriptions(4);
    const inDoubt = await dueSubscriptions(4, 'cardCompanyNoAnswer');
    const declined = await dueSubscriptions(4, 'insufficientFunds');
    const ids = [...paid, ...inDoubt, ...declined].map((s) => s.id);

    const first = (await stack.billing.dispatch()) as { enqueued: number };
    await stack.billing.poller.drain();
    const second = (await stack.billing.dispatch()) as { enqueued: number };
    const drained = await stack.billing.poller.drain();

    expect(first.enqueued).toBe(12);
    expect(second.enqueued).toBe(0);
    expect(drained.messages).toBe(0);
    const charged = await expectExactlyOnce(stack, ids, wire);
    expect(charged.map((entry) => entry.oid).sort()).toEqual([...paid, ...inDoubt].map(firstOid).sort());
    for (const subscription of inDoubt) {
      const payment = await stack.billing.store.getPayment(firstOid(subscription));
      expect(payment?.state).toBe('unknown');
    }
  });
});

describe('a charger that dies mid-attempt', () => {
  test('dying between Payple charging and the settle write: redelivery is a no-op, the payment is held', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const store = new FaultyBillingStore(stack.billing.store).crashOn({
      kind: 'settle',
      crash: 'before',
      oid,
      times: 1,
    });
    const gateway = new RecordingGateway(sandboxClient(stack));
    const crashing = await charger({ store, payple: gateway });

    await stack.billing.dispatch();
    const first = await crashing.drain();

    expect(first).toMatchObject({ messages: 1, deleted: 0, retained: 1 });
    expect(store.commits).toEqual([
      { kind: 'claim', oid, outcome: 'committed' },
      { kind: 'settle', oid, outcome: 'crashed' },
    ]);
    expect(stack.sandbox.admin.ledgerEntry(oid)).toMatchObject({ status: 'charged' });
    const held = await stack.billing.store.getPayment(oid);
    expect(held).toMatchObject({ state: 'charging', version: 1 });
    await expectHeldForReconciler(stack, held!);

    expect(await crashing.releaseFailed()).toBe(1);
    const redelivery = await crashing.drain();

    expect(redelivery).toMatchObject({ messages: 1, deleted: 1, retained: 0 });
    expect(store.commits).toHaveLength(2);
    expect(gateway.requestsFor(oid)).toBe(1);
    expect(await stack.billing.store.getPayment(oid)).toEqual(held);

    await billTheNextMonth();

    await expectExactlyOnce(stack, [subscription!.id], wire);
    expect(ledgerOf(stack, [subscription!.id])).toHaveLength(1);
    const after = await stack.billing.store.getSubscription(subscription!.id);
    expect(after?.inFlight?.oid).toBe(oid);
    expect(after?.nextChargeAt).toBeNull();

    await reconcileThenBill();

    expect(await stack.billing.store.getPayment(oid)).toMatchObject({
      state: 'paid',
      resolvedBy: 'result_lookup',
    });
    expect(wire.requestsFor(oid)).toBe(1);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });

  test('dying after the settle write but before publishing: the redelivery is a no-op, the relay publishes', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const store = new FaultyBillingStore(stack.billing.store).crashOn({
      kind: 'settle',
      crash: 'after',
      oid,
      times: 1,
    });
    const crashing = await charger({ store, payple: new RecordingGateway(sandboxClient(stack)) });

    await sendJobs(stack, [firstJob(subscription!.id)], 1);
    expect(await crashing.drain()).toMatchObject({ retained: 1 });
    expect(busEventsFor(stack, 'payment.succeeded', oid)).toHaveLength(0);
    await crashing.releaseFailed();
    expect(await crashing.drain()).toMatchObject({ messages: 1, deleted: 1 });
    await stack.billing.publisher.relay(stack.clock.now() + 2 * MINUTE, MINUTE);

    await expectExactlyOnce(stack, [subscription!.id], wire);
    await expectPaidOnce(subscription!);
  });

  test('dying before the claim reaches DynamoDB: the redelivery claims and charges once', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const store = new FaultyBillingStore(stack.billing.store).crashOn({
      kind: 'claim',
      crash: 'before',
      oid,
      times: 1,
    });
    const gateway = new RecordingGateway(sandboxClient(stack));
    const crashing = await charger({ store, payple: gateway });

    await sendJobs(stack, [firstJob(subscription!.id)], 1);
    expect(await crashing.drain()).toMatchObject({ retained: 1 });
    expect(ledgerOf(stack, [subscription!.id])).toHaveLength(0);
    await crashing.releaseFailed();
    expect(await crashing.drain()).toMatchObject({ messages: 1, deleted: 1 });

    expect(gateway.requestsFor(oid)).toBe(1);
    await expectExactlyOnce(stack, [subscription!.id], wire);
    await expectPaidOnce(subscription!);
  });

  test('dying after the claim, before Payple: nothing charged, the attempt is held, never charged blind', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const gateway = new RecordingGateway(sandboxClient(stack)).crashOn('before_charge');
    const crashing = await charger({ store: stack.billing.store, payple: gateway });

    await sendJobs(stack, [firstJob(subscription!.id)], 1);
    expect(await crashing.drain()).toMatchObject({ retained: 1 });
    await crashing.releaseFailed();
    expect(await crashing.drain()).toMatchObject({ messages: 1, deleted: 1 });
    await billTheNextMonth();

    expect(gateway.requestsFor(oid)).toBe(0);
    expect(ledgerOf(stack, [subscription!.id])).toHaveLength(0);
    const payment = await stack.billing.store.getPayment(oid);
    expect(payment?.state).toBe('charging');
    await expectHeldForReconciler(stack, payment!);

    // Payple never saw it: once the grace has passed, the lookup's "not found" ends the attempt and
    // the next one (a new OID) is charged, once.
    await reconcileThenBill();

    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'not_charged' });
    const retry = attemptOid(subscription!, { period: 0, attempt: 2 });
    expect(await stack.billing.store.getPayment(retry)).toMatchObject({ state: 'paid' });
    expect(wire.requestsFor(oid)).toBe(0);
    expect(wire.requestsFor(retry)).toBe(1);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });
});

describe('Payple charged but the charger cannot tell', () => {
  test('a charge slower than the client timeout is unknown, charged once, and never charged again', async () => {
    stack.sandbox.admin.setSlowDelay(1_500);
    const [subscription] = await dueSubscriptions(1, 'slow');
    const oid = firstOid(subscription!);
    const impatient = await charger({
      store: stack.billing.store,
      payple: new RecordingGateway(sandboxClient(stack, { chargeMs: 300 })),
    });

    await sendJobs(stack, [firstJob(subscription!.id)], 1);
    expect(await impatient.drain()).toMatchObject({ messages: 1, deleted: 1 });

    const payment = await stack.billing.store.getPayment(oid);
    expect(payment).toMatchObject({ state: 'unknown' });
    expect(payment?.reconcile?.nextAt).toBe(stack.clock.now() + FIRST_LOOKUP_DELAY_MS);
    await vi.waitFor(() => expect(stack.sandbox.admin.ledgerEntry(oid)?.status).toBe('charged'), {
      timeout: 10_000,
      interval: 50,
    });
    expect(stack.sandbox.admin.ledgerEntry(oid)?.answerDelivered).toBe(false);

    await sendJobs(stack, [firstJob(subscription!.id)], 2);
    await stack.billing.poller.drain();
    await billTheNextMonth();

    await expectExactlyOnce(stack, [subscription!.id], wire);
    expect(ledgerOf(stack, [subscription!.id])).toHaveLength(1);
    await expectHeldForReconciler(stack, (await stack.billing.store.getPayment(oid))!);

    await reconcileThenBill();

    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid' });
    expect(wire.requestsFor(oid)).toBe(1);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });

  const faults: { name: string; fault: FaultSpec; charged: boolean }[] = [
    { name: 'the answer is lost (connection reset)', fault: { kind: 'answerLost' }, charged: true },
    { name: 'the answer is lost (502)', fault: { kind: 'answerLost', via: 'badGateway' }, charged: true },
    {
      name: 'the card company did not answer, money taken',
      fault: { kind: 'cardCompanyNoAnswer', charged: true },
      charged: true,
    },
    {
      name: 'the card company did not answer, no money taken',
      fault: { kind: 'cardCompanyNoAnswer', charged: false },
      charged: false,
    },
    { name: 'Payple answers a cut-off PHP error page', fault: { kind: 'garbage' }, charged: true },
    { name: 'Payple answers 500 after charging', fault: { kind: 'httpError', execute: true }, charged: true },
  ];

  test.each(faults)(
    '$name: unknown, held for the reconciler, charged at most once',
    async ({ fault, charged }) => {
      const [subscription] = await dueSubscriptions(1);
      const oid = firstOid(subscription!);
      stack.sandbox.admin.addFault({ ...fault, operation: 'charge', oid });

      await billLater(MINUTE);

      const payment = await stack.billing.store.getPayment(oid);
      expect(payment?.state).toBe('unknown');
      await expectHeldForReconciler(stack, payment!);
      expect(stack.sandbox.admin.ledgerEntry(oid)?.status).toBe(charged ? 'charged' : 'declined');

      await sendJobs(stack, [firstJob(subscription!.id)], 2);
      await stack.billing.poller.drain();
      await billTheNextMonth();

      const entries = await expectExactlyOnce(stack, [subscription!.id], wire);
      expect(entries).toHaveLength(charged ? 1 : 0);
      expect(ledgerOf(stack, [subscription!.id])).toHaveLength(1);
      expect((await stack.billing.store.getSubscription(subscription!.id))?.inFlight?.oid).toBe(oid);

      await reconcileThenBill();

      const settled = await stack.billing.store.getPayment(oid);
      expect(settled?.state).toBe(charged ? 'paid' : 'declined');
      expect(wire.requestsFor(oid)).toBe(1);
      await expectExactlyOnce(stack, [subscription!.id], wire);
    },
  );
});

describe('a webhook that overtakes the charger', () => {
  test("the webhook settles first; the charger's own settle is a no-op; one period, one event", async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const store = new FaultyBillingStore(stack.billing.store);
    const gateway = new RecordingGateway(sandboxClient(stack));
    const webhook: SettleResult[] = [];
    gateway.afterCharge = async (input, outcome) => {
      if (outcome.kind !== 'success') return;
      webhook.push(
        await settleAttemptOutcome(settleDependencies(stack), {
          oid: input.oid,
          outcome: { kind: 'paid', resolvedBy: 'webhook' },
          now: stack.clock.now(),
        }),
      );
    };

    const result = await processChargeJob(
      chargeDependencies(stack, { store, payple: gateway }),
      firstJob(subscription!.id),
    );

    expect(webhook).toEqual([expect.objectContaining({ status: 'settled', state: 'paid' })]);
    expect(result).toMatchObject({
      status: 'charged',
      oid,
      classification: 'success',
      settle: { status: 'already_settled', state: 'paid' },
    });
    expect(store.commits).toEqual([{ kind: 'claim', oid, outcome: 'committed' }]);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ resolvedBy: 'webhook' });
    await expectPaidOnce(subscription!);
    expect(busEventsFor(stack, 'payment.settled', oid)).toEqual([
      expect.objectContaining({ result: 'paid', resolvedBy: 'webhook' }),
    ]);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });

  test('a webhook that read the payment just before the charger settled it is a duplicate, not a conflict', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    const gateway = new RecordingGateway(sandboxClient(stack));
    let webhook: SettleResult | undefined;
    gateway.afterCharge = async (input) => {
      // The webhook reads the payment (charging); the charger's settle lands before it reads the
      // subscription, which by then has moved on to period 1.
      const store = stack.billing.store;
      const racing: BillingStore = {
        getPayment: (id) => store.getPayment(id),
        commit: (commit) => store.commit(commit),
        getSubscription: async (id) => {
          await settleAttemptOutcome(settleDependencies(stack), {
            oid: input.oid,
            outcome: { kind: 'paid' },
            now: stack.clock.now(),
          });
          return store.getSubscription(id);
        },
      };
      webhook = await settleAttemptOutcome(
        { ...settleDependencies(stack), store: racing },
        { oid: input.oid, outcome: { kind: 'paid', resolvedBy: 'webhook' }, now: stack.clock.now() },
      );
    };

    const result = await processChargeJob(
      chargeDependencies(stack, { store: stack.billing.store, payple: gateway }),
      firstJob(subscription!.id),
    );

    expect(webhook).toEqual({ status: 'already_settled', state: 'paid' });
    expect(result).toMatchObject({ settle: { status: 'already_settled', state: 'paid' } });
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ resolvedBy: 'charge_answer' });
    await expectPaidOnce(subscription!);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });

  test('a charger whose answer was lost, settling after the webhook, does not turn paid back into unknown', async () => {
    const [subscription] = await dueSubscriptions(1);
    const oid = firstOid(subscription!);
    stack.sandbox.admin.addFault({ kind: 'answerLost', operation: 'charge', oid, times: 1 });
    const store = new FaultyBillingStore(stack.billing.store);
    let webhook: SettleResult | undefined;
    store.beforeCommit = async (_commit, kind) => {
      // The charger read the payment `charging` and is about to record `unknown`: the webhook,
      // which knows the charge went through, lands first.
      if (kind !== 'settle' || webhook) return;
      webhook = await settleAttemptOutcome(settleDependencies(stack), {
        oid,
        outcome: { kind: 'paid', resolvedBy: 'webhook' },
        now: stack.clock.now(),
      });
    };

    const result = await processChargeJob(
      chargeDependencies(stack, { store, payple: sandboxClient(stack) }),
      firstJob(subscription!.id),
    );

    expect(webhook).toMatchObject({ status: 'settled', state: 'paid' });
    expect(result).toMatchObject({
      classification: 'unknown',
      settle: { status: 'already_settled', state: 'paid' },
    });
    expect(store.commits).toEqual([
      { kind: 'claim', oid, outcome: 'committed' },
      { kind: 'settle', oid, outcome: 'conflict' },
    ]);
    expect(await stack.billing.store.getPayment(oid)).toMatchObject({ resolvedBy: 'webhook' });
    await expectPaidOnce(subscription!);
    await expectExactlyOnce(stack, [subscription!.id], wire);
  });
});
