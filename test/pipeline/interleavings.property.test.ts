/**
 * Exactly once under arbitrary interleavings. Random mixes of charge-job deliveries (duplicates,
 * stale and early attempts), chargers that die at random points (before the claim commit, after the
 * claim before Payple, after Payple before the settle, after the settle), webhook-style and
 * reconciler-style settles run against the real DynamoDB store and the Payple sandbox, one I/O call
 * at a time in an order fast-check picks. Whatever the order:
 * - no OID reaches Payple twice, no period is charged twice, every charge is recorded or held for
 *   the reconciler, and no settle that came second reports a disagreement;
 * - once the reconciler settles what is open from Payple's truth and the pipeline carries on, the
 *   period is paid exactly once, and exactly the charge Payple made is recorded paid.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { attemptOid, scheduledAttempt, type Subscription } from '../../functions/billing/index.ts';
import { processChargeJob, type ChargeGateway } from '../../functions/use-cases/charge-attempt.ts';
import type { BillingStore } from '../../functions/use-cases/ports.ts';
import {
  settleAttemptOutcome,
  type SettleDependencies,
  type SettleOutcome,
  type SettleResult,
} from '../../functions/use-cases/settle-attempt.ts';
import type { FaultSpec } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  chargeDependencies,
  expectExactlyOnce,
  moneyTaken,
  paymentsOf,
  settleDependencies,
  tapPaypleCharges,
  type ChargeWireTap,
} from '../support/exactly-once.ts';
import { FaultyBillingStore, RecordingGateway, SimulatedCrash } from '../support/fault-store.ts';
import { Interleaver, seededPicks } from '../support/interleaver.ts';
import { sandboxClient, seedSubscription, startTestStack } from '../support/local-stack.ts';

/** Attempts whose Payple behaviour the scenario picks; later ones are charged normally. */
const FAULTY_ATTEMPTS = 3;
/** Attempts a run can reach: each unresolved one is followed by at most one more. */
const MAX_ATTEMPT = 2 * FAULTY_ATTEMPTS;

/** What Payple does with one attempt's charge request. */
const paypleBehaviours = {
  /** Charged, and the charger hears it. */
  ok: undefined,
  /** Charged; the connection resets before the answer. */
  answerLost: { kind: 'answerLost' },
  /** SPCD1001, money taken. */
  noAnswerCharged: { kind: 'cardCompanyNoAnswer', charged: true },
  /** SPCD1001, no money taken. */
  noAnswerNotCharged: { kind: 'cardCompanyNoAnswer', charged: false },
  /** A 5xx before anything happened at Payple. */
  serverErrorNotCharged: { kind: 'httpError', execute: false },
} as const satisfies Record<string, FaultSpec | undefined>;
type PaypleBehaviour = keyof typeof paypleBehaviours;

/** How many scheduler turns a webhook waits for its charge before giving up (a lost webhook). */
const WEBHOOK_POLLS = 24;
/** Reconciler runs per reconciler worker (it runs on a schedule, so more than once). */
const RECONCILER_PASSES = 2;

/** Where a charger dies. */
type Crash = 'none' | 'before_claim' | 'after_claim' | 'after_charge' | 'after_settle';

type Worker =
  | { readonly kind: 'deliver'; readonly attempt: number; readonly crash: Crash }
  | { readonly kind: 'webhook'; readonly attempt: number }
  | { readonly kind: 'reconcile' };

interface Scenario {
  readonly payple: readonly PaypleBehaviour[];
  readonly workers: readonly Worker[];
  /** Seeds the order in which parked workers are let through. */
  readonly schedule: number;
}

const attemptArb = fc.constantFrom(1, 1, 1, 1, 2, 2, 3);
/** Webhooks mostly for the first attempt: the one every delivery races for. */
const webhookAttemptArb = fc.constantFrom(1, 1, 1, 1, 1, 2, 3);
const crashArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Crash>('none') },
  {
    weight: 4,
    arbitrary: fc.constantFrom<Crash>('before_claim', 'after_claim', 'after_charge', 'after_settle'),
  },
);
const workerArb: fc.Arbitrary<Worker> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), attempt: attemptArb, crash: crashArb }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('webhook' as const), attempt: webhookAttemptArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reconcile' as const) }) },
);
const behaviourArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<PaypleBehaviour>('ok') },
  { weight: 4, arbitrary: fc.constantFrom(...(Object.keys(paypleBehaviours) as PaypleBehaviour[])) },
);
/**
 * Any mix of workers, or (half the runs) the race every charge has in production: a charger and
 * Payple's webhook for the same charge, with a few others around them.
 */
const workersArb: fc.Arbitrary<Worker[]> = fc.oneof(
  fc.array(workerArb, { minLength: 3, maxLength: 8 }),
  fc
    .array(workerArb, { maxLength: 4 })
    .map((others): Worker[] => [
      { kind: 'deliver', attempt: 1, crash: 'none' },
      { kind: 'webhook', attempt: 1 },
      ...others,
    ]),
);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  payple: fc.array(behaviourArb, { minLength: FAULTY_ATTEMPTS, maxLength: FAULTY_ATTEMPTS }),
  workers: workersArb,
  schedule: fc.integer(),
});

let stack: LocalStack;
let wire: ChargeWireTap;

beforeAll(async () => {
  wire = tapPaypleCharges();
  stack = await startTestStack({
    startAt: '2027-06-14T10:05:00+09:00',
    billing: { useMonthGuard: false },
  });
});
afterAll(async () => {
  await stack.stop();
  wire.restore();
});

function gatedStore(inner: BillingStore, step: () => Promise<void>): BillingStore {
  return {
    getSubscription: async (id) => {
      await step();
      return inner.getSubscription(id);
    },
    getPayment: async (oid) => {
      await step();
      return inner.getPayment(oid);
    },
    commit: async (commit) => {
      await step();
      return inner.commit(commit);
    },
  };
}

function gatedGateway(inner: ChargeGateway, step: () => Promise<void>): ChargeGateway {
  return {
    chargeBillingKey: async (input) => {
      await step();
      return inner.chargeBillingKey(input);
    },
  };
}

/**
 * What a result lookup would tell the reconciler, from the sandbox's ledger: paid when money was
 * taken, not charged when Payple has the attempt without money or never saw it. `undefined` while
 * Payple is still processing it: "not found" is not "not charged" then.
 */
function truthOf(oid: string): SettleOutcome | undefined {
  const entry = stack.sandbox.admin.ledgerEntry(oid);
  if (entry?.status === 'processing') return undefined;
  if (entry && moneyTaken(entry)) return { kind: 'paid', resolvedBy: 'result_lookup' };
  return { kind: 'not_charged', resolvedBy: 'result_lookup' };
}

/** The reconciler after every charger is gone: settles each open attempt from Payple's truth. */
async function settleFromTruth(oids: readonly string[]): Promise<void> {
  for (const oid of oids) {
    const payment = await stack.billing.store.getPayment(oid);
    if (payment?.state !== 'charging' && payment?.state !== 'unknown') continue;
    const outcome = truthOf(oid);
    expect(outcome, `${oid} is still processing at Payple`).toBeDefined();
    await settleAttemptOutcome(settleDependencies(stack), { oid, outcome: outcome!, now: stack.clock.now() });
  }
}

async function runScenario(scenario: Scenario): Promise<void> {
  await stack.clock.set(stack.clock.now() + 60_000);
  const subscription: Subscription = await seedSubscription(stack);
  const oids = Array.from({ length: MAX_ATTEMPT }, (_, i) =>
    attemptOid(subscription, { period: 0, attempt: i + 1 }),
  );
  scenario.payple.forEach((behaviour, i) => {
    const fault = paypleBehaviours[behaviour];
    if (fault) stack.sandbox.admin.addFault({ ...fault, operation: 'charge', oid: oids[i]!, times: 1 });
  });

  const interleaver = new Interleaver();
  /** The worker whose claim created each payment: a reconciler leaves a live charger's claim alone. */
  const claimedBy = new Map<string, number>();
  const unexpected: unknown[] = [];
  /** Every settle's result, whoever made it: none may find payment and subscription disagreeing. */
  const settles: SettleResult[] = [];
  const client = sandboxClient(stack);

  const workers = scenario.workers.map((worker) => async (id: number): Promise<void> => {
    const step = () => interleaver.step(id);
    const shared = gatedStore(stack.billing.store, step);
    const settleDeps: SettleDependencies = { ...settleDependencies(stack), store: shared };
    try {
      if (worker.kind === 'deliver') {
        const faulty = new FaultyBillingStore(stack.billing.store);
        const gateway = new RecordingGateway(client);
        if (worker.crash === 'before_claim') faulty.crashOn({ kind: 'claim', crash: 'before' });
        if (worker.crash === 'after_claim') gateway.crashOn('before_charge');
        if (worker.crash === 'after_charge') gateway.crashOn('after_charge');
        if (worker.crash === 'after_settle') faulty.crashOn({ kind: 'settle', crash: 'after' });
        const store = gatedStore(faulty, step);
        const tracked: BillingStore = {
          ...store,
          commit: async (commit) => {
            const result = await store.commit(commit);
            if (result.committed && commit.payment?.expected === 'new')
              claimedBy.set(commit.payment.next.oid, id);
            return result;
          },
        };
        const result = await processChargeJob(
          chargeDependencies(stack, { store: tracked, payple: gatedGateway(gateway, step) }),
          { subscriptionId: subscription.id, period: 0, attempt: worker.attempt },
        );
        if (result.status === 'charged') settles.push(result.settle);
        return;
      }
      if (worker.kind === 'webhook') {
        // Payple's webhook follows a charge that took money, at any point after it (or never).
        const oid = oids[worker.attempt - 1]!;
        for (let poll = 0; poll < WEBHOOK_POLLS; poll++) {
          await step();
          const entry = stack.sandbox.admin.ledgerEntry(oid);
          if (entry && moneyTaken(entry)) {
            // It arrives and reads the payment in one step: a race with the charger's own settle.
            let arriving = true;
            const store: BillingStore = {
              ...shared,
              getPayment: (paymentOid) => {
                if (!arriving) return shared.getPayment(paymentOid);
                arriving = false;
                return stack.billing.store.getPayment(paymentOid);
              },
            };
            settles.push(
              await settleAttemptOutcome(
                { ...settleDeps, store },
                {
                  oid,
                  outcome: { kind: 'paid', resolvedBy: 'webhook' },
                  now: stack.clock.now(),
                },
              ),
            );
            return;
          }
        }
        return;
      }
      for (let pass = 0; pass < RECONCILER_PASSES; pass++) {
        // One step lists the open payments (the reconcile index query), then each is settled.
        await step();
        const open = (await paymentsOf(stack, [subscription.id])).filter(
          (payment) => payment.state === 'charging' || payment.state === 'unknown',
        );
        for (const payment of open) {
          // The charging bound: a claim counts as abandoned only once its charger is gone (Lambda's
          // timeout is far below the bound), so "Payple never saw it" can be trusted.
          const claimer = claimedBy.get(payment.oid);
          if (payment.state === 'charging' && claimer !== undefined && !interleaver.finished(claimer))
            continue;
          const outcome = truthOf(payment.oid);
          if (outcome) {
            settles.push(
              await settleAttemptOutcome(settleDeps, { oid: payment.oid, outcome, now: stack.clock.now() }),
            );
          }
        }
      }
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) unexpected.push(error);
    }
  });

  await interleaver.run(workers, seededPicks(scenario.schedule));
  const context = `trace ${interleaver.trace.join(',')}`;
  expect(unexpected, context).toEqual([]);
  expect(
    settles.filter((result) => result.status === 'inconsistent'),
    context,
  ).toEqual([]);

  // While some outcomes are still open: nothing charged twice, every charge recorded or held.
  await expectExactlyOnce(stack, [subscription.id], wire);

  // Then the pipeline carries on: the reconciler settles what is open from Payple's truth (every
  // charger is gone), and a clean charger takes whatever attempt is due, until the period is done.
  for (let round = 0; round <= FAULTY_ATTEMPTS; round++) {
    await settleFromTruth(oids);
    const due = scheduledAttempt((await stack.billing.store.getSubscription(subscription.id))!);
    if (due?.period !== 0) break;
    const deps = chargeDependencies(stack, { store: stack.billing.store, payple: client });
    await processChargeJob(deps, { subscriptionId: subscription.id, period: 0, attempt: due.attempt });
  }
  await settleFromTruth(oids);

  const charged = await expectExactlyOnce(stack, [subscription.id], wire);
  expect(charged, `period 0 is charged exactly once; ${context}`).toHaveLength(1);
  const payments = await paymentsOf(stack, [subscription.id]);
  expect(
    payments.filter((p) => p.state === 'charging' || p.state === 'unknown'),
    context,
  ).toEqual([]);
  expect(
    payments.filter((p) => p.state === 'paid').map((p) => p.oid),
    context,
  ).toEqual([charged[0]!.oid]);
  expect(await stack.billing.store.getSubscription(subscription.id), context).toMatchObject({
    status: 'active',
    lastPaidPeriod: 0,
    currentPeriod: 1,
    inFlight: null,
  });
  stack.sandbox.admin.clearFaults();
}

test('no interleaving of deliveries, crashes, webhooks and lookups charges a period twice or loses a charge', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      await runScenario(scenario);
    }),
    { numRuns: 40 },
  );
}, 120_000);
