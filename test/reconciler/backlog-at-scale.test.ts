/**
 * The case: 3,000 charges whose answers were lost in every way the sandbox can lose them (a
 * mix charged, never charged and declined at the sandbox), worked off by the reconciler on its
 * 5-minute schedule against the deployed budget of 900 lookups per 10 minutes, about five windows
 * of lookups in all (the never-charged ones are looked up again until the grace period has passed).
 *
 * The backlog is made without the dispatcher and SQS: each charge is the charger's own use case
 * (claim, fresh auth, the charge over HTTP with the attempt's OID, the unknown settle) against the
 * sandbox and its faults, and the subscriptions and payments it leaves are written to the tables
 * in bulk exactly as the billing store writes them (`loseChargeAnswers`). Through the whole
 * pipeline (about 15 DynamoDB Local round trips a payment) that alone took minutes on a 2-CPU
 * machine; the pipeline's part is covered payment by payment, with the same faults, in
 * lost-outcomes.test.ts and settles-unknown.test.ts, and for 200 payments in
 * concurrent-reconcilers.test.ts, which also runs overlapping reconcilers at the deployed budget.
 * Everything after the charges is the real thing: the reconciler, and the dispatcher on its own
 * schedule with chargers behind the billing queue for the new attempts.
 *
 * The reconciler looks up one payment at a time (as Payple asks), with a few DynamoDB
 * transactions per lookup, so its runs are most of this file's time. RECONCILER_SCALE_COUNT
 * changes the number of payments, with the budget in the proportion (900 per 3,000).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reconcileSettings } from '../../functions/shared/reconcile-config.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';
import {
  budgetWasBlocked,
  busiestTenMinutes,
  countLookupRequests,
  drainWithChargers,
  lookedUpBetween,
  LOST_ANSWERS,
  loseChargeAnswers,
  recordRun,
  scanPayments,
  type LostAnswer,
  type RecordedRun,
  type StoredPayment,
  type UnknownPayment,
} from '../support/reconciler-helpers.ts';

const DEPLOYED = reconcileSettings({});
const COUNT = Number(process.env.RECONCILER_SCALE_COUNT ?? 3_000);
/** The 900 per 3,000 payments: the deployed budget for the default count. */
const BUDGET = Math.max(1, Math.round((DEPLOYED.lookupBudgetPerTenMinutes * COUNT) / 3_000));
/** The deployed defaults: a not-found payment is looked up again at 5, 30, 120... minutes. */
const GRACE_MS = DEPLOYED.notFoundGraceMs;
const BATCHES = 6;
/**
 * The Payple charge timeout while the backlog is made: what a held socket costs. The new attempts
 * afterwards are charged with the deployed timeout, so none of them times out into another unknown
 * on a busy machine.
 */
const HELD_SOCKET_TIMEOUT_MS = 3_000;
const kst = (time: string) => Date.parse(`2027-05-04T${time}:00+09:00`);

/**
 * The mix, in order of seeding: per 50 charges, 24 charged, 22 never charged, 4 declined. The held
 * sockets (which cost the client its timeout) are a handful at fixed places in the first batch, so
 * their timeouts overlap.
 */
function lostAnswerAt(index: number): LostAnswer {
  if (index < COUNT / BATCHES && index % 50 === 25) {
    return index % 100 === 25 ? LOST_ANSWERS.heldCharged : LOST_ANSWERS.heldNotCharged;
  }
  const pattern: LostAnswer[] = [
    ...Array<LostAnswer>(8).fill(LOST_ANSWERS.connectionReset),
    ...Array<LostAnswer>(4).fill(LOST_ANSWERS.badGateway),
    ...Array<LostAnswer>(6).fill(LOST_ANSWERS.executed5xx),
    ...Array<LostAnswer>(2).fill(LOST_ANSWERS.executed504),
    ...Array<LostAnswer>(2).fill(LOST_ANSWERS.garbageCharged),
    ...Array<LostAnswer>(2).fill(LOST_ANSWERS.cardCompanyCharged),
    ...Array<LostAnswer>(18).fill(LOST_ANSWERS.notExecuted5xx),
    ...Array<LostAnswer>(4).fill(LOST_ANSWERS.garbageNotCharged),
    ...Array<LostAnswer>(4).fill(LOST_ANSWERS.cardCompanyDeclined),
  ];
  // Interleave so every batch (and so every age) holds every kind.
  return pattern[(index * 7) % pattern.length]!;
}

const isUnsettled = (payment: StoredPayment) => payment.state === 'unknown' || payment.state === 'charging';

describe(`a backlog of ${COUNT} payments whose outcome never arrived`, () => {
  let stack: LocalStack;
  let unknown: UnknownPayment[];
  const runs: RecordedRun[] = [];
  /** Per run: the nextAt of every payment it looked up, and of every due payment it left. */
  const order: { lookedUp: number[]; left: number[] }[] = [];
  /** The payments table as the charger left it, before the first reconciler run. */
  let initial: StoredPayment[] = [];
  const timings: Record<string, number> = {};

  /** When the stack's schedule of this name fires next on its clock. */
  const nextRun = (name: 'reconciler' | 'dispatcher') =>
    stack.clock.list().find((schedule) => schedule.name === name)!.nextRun!;
  /** One dispatcher run, and 4 charger instances draining the billing queue. */
  const dispatchAndCharge = async () => {
    await stack.billing.dispatch();
    await drainWithChargers(stack, 4);
  };

  beforeAll(async () => {
    let started = performance.now();
    stack = await startTestStack({
      startAt: '2027-05-03T09:00:00+09:00',
      billing: { reconcile: { ...DEPLOYED, lookupBudgetPerTenMinutes: BUDGET } },
    });
    // Arrange: the webhooks are lost too (else they would settle the charged ones first), and
    // BATCHES groups are charged one minute apart, so the backlog has ages to order by.
    stack.sandbox.admin.addFault({ kind: 'webhookDrop' });
    unknown = [];
    const perBatch = Math.ceil(COUNT / BATCHES);
    for (let batch = 0; batch < BATCHES; batch++) {
      const from = batch * perBatch;
      const lost = Array.from({ length: Math.min(perBatch, COUNT - from) }, (_, i) => lostAnswerAt(from + i));
      unknown.push(
        ...(await loseChargeAnswers(stack, {
          lost,
          firstBillingDate: { year: 2027, month: 5, day: 4 },
          at: kst(`10:${String(5 + batch).padStart(2, '0')}`),
          accountEvery: 5,
          parallel: 50,
          chargeTimeoutMs: HELD_SOCKET_TIMEOUT_MS,
        })),
      );
    }
    timings.create = performance.now() - started;

    // Act: the reconciler on its schedule (every 5 minutes on the stack's clock) until nothing is
    // left (or 8 hours passed). The dispatcher runs on its own schedule (every 10 minutes) at the
    // same instants, with 4 chargers draining what it enqueued: the new attempts of the payments
    // found never charged are made along the way, as deployed.
    started = performance.now();
    const received = countLookupRequests(stack);
    initial = await scanPayments(stack);
    let before = initial;
    while (runs.length < 96) {
      const at = nextRun('reconciler');
      const dispatcherFires = nextRun('dispatcher') === at;
      await stack.clock.set(at);
      const [run] = await Promise.all([
        recordRun(stack, received, () => stack.billing.reconcile()),
        dispatcherFires ? dispatchAndCharge() : undefined,
      ]);
      runs.push(run);
      // A run that examined nothing changed nothing (and the new attempts are never due for a
      // lookup): no need to read the table again.
      const after = run.report.examined === 0 ? before : await scanPayments(stack);
      const due = before.filter((p) => isUnsettled(p) && (p.reconcileAt ?? Infinity) <= at);
      const lookedUp = new Set(lookedUpBetween(before, after));
      order.push({
        lookedUp: due.filter((p) => lookedUp.has(p.oid)).map((p) => p.reconcile!.nextAt),
        left: due.filter((p) => !lookedUp.has(p.oid)).map((p) => p.reconcile!.nextAt),
      });
      before = after;
      if (!after.some(isUnsettled)) break;
    }
    timings.reconcile = performance.now() - started;
  }, 360_000);

  afterAll(async () => {
    console.log(
      `backlog of ${COUNT}, budget ${BUDGET}: created in ${Math.round(timings.create ?? 0)} ms, reconciled in ` +
        `${Math.round(timings.reconcile ?? 0)} ms over ${runs.length} runs:`,
      runs.map((run) => `${new Date(run.at).toISOString().slice(11, 16)}Z ${run.report.lookups}`).join(', '),
    );
    await stack.stop();
  });

  test('the charger left every charge unknown, and every one settles to what the sandbox ledger says happened', async () => {
    expect(initial).toHaveLength(COUNT);
    expect(initial.filter((p) => p.state !== 'unknown')).toEqual([]);
    const payments = new Map((await scanPayments(stack)).map((p) => [p.oid, p] as const));
    const wrong = unknown
      .map(({ oid, lost }) => ({
        oid,
        expected: lost.truth,
        actual: payments.get(oid)?.state,
        kind: lost.name,
      }))
      .filter(({ expected, actual }) => expected !== actual);

    expect(wrong).toEqual([]);
    for (const { oid, lost } of unknown) {
      const entry = stack.sandbox.admin.ledgerEntry(oid);
      if (lost.truth === 'paid') expect(entry).toMatchObject({ status: 'charged' });
      if (lost.truth === 'declined') expect(entry).toMatchObject({ status: 'declined' });
      if (lost.truth === 'not_charged') expect(entry).toBeUndefined();
    }
    expect(new Set(unknown.map(({ lost }) => lost.name)).size).toBe(Object.keys(LOST_ANSWERS).length);
    expect(runs.reduce((sum, run) => sum + run.report.settled, 0)).toBe(COUNT);
  });

  test('no 10-minute window sees more lookups than the budget, and Payple never refuses one', async () => {
    const busiest = busiestTenMinutes(runs);
    const totalLookups = runs.reduce((sum, run) => sum + run.report.lookups, 0);

    expect(busiest.lookups).toBeLessThanOrEqual(BUDGET);
    for (const run of runs) {
      expect(run.sandboxWindowCount).toBeLessThanOrEqual(BUDGET);
      // What the reconciler reports is what reached the sandbox, and the sandbox counted (did not
      // refuse with PCHK9997) every one of them.
      expect(run.receivedBySandbox).toBe(run.report.lookups);
      expect(run.countedBySandbox).toBe(run.report.lookups);
    }
    expect(await budgetWasBlocked(stack)).toBe(false);
    // More than two windows' worth of first lookups alone: the backlog had to wait for the budget.
    expect(COUNT).toBeGreaterThan(2 * BUDGET);
    expect(totalLookups).toBeGreaterThan(4 * BUDGET);
    expect(order[0]!.left.length).toBeGreaterThan(0);
  });

  test('each run looks up the oldest due payments first and leaves lookups unused only when nothing is due', () => {
    order.forEach(({ lookedUp, left }, i) => {
      const run = runs[i]!;
      expect(lookedUp).toHaveLength(run.report.lookups);
      if (lookedUp.length > 0 && left.length > 0) {
        expect(Math.max(...lookedUp)).toBeLessThanOrEqual(Math.min(...left));
      }
      // Work was left only because the budget was spent.
      if (left.length > 0) expect(run.report.budgetExhausted).toBe(true);
    });
  });

  test('nothing starves: the whole backlog settles, and never charged is decided only after the grace period', async () => {
    const payments = await scanPayments(stack);

    expect(payments.filter(isUnsettled)).toEqual([]);
    for (const payment of payments.filter((p) => p.state === 'not_charged')) {
      expect(payment.settledAt! - payment.requestedAt).toBeGreaterThanOrEqual(GRACE_MS);
    }
  });

  test('exactly one new attempt follows each never-charged payment when dispatched, and nothing else is charged again', async () => {
    // The dispatcher's next two runs after the last tick: the last never-charged payments' new
    // attempts, then nothing more.
    for (let i = 0; i < 2; i++) {
      const at = nextRun('dispatcher');
      await stack.clock.set(at);
      await dispatchAndCharge();
    }

    const payments = new Map((await scanPayments(stack)).map((p) => [p.oid, p] as const));
    const ledger = Map.groupBy(stack.sandbox.admin.ledger(), (entry) => entry.oid.replace(/-\d{8}-\d+$/, ''));
    const problems: string[] = [];
    for (const { subscription, oid, lost } of unknown) {
      const entries = ledger.get(subscription.id) ?? [];
      const charged = entries.filter((entry) => entry.status === 'charged').map((entry) => entry.oid);
      const retryOid = oid.replace(/-1$/, '-2');
      if (lost.truth === 'not_charged') {
        if (payments.get(retryOid)?.state !== 'paid') problems.push(`${retryOid} not paid`);
        if (charged.join() !== retryOid) problems.push(`${subscription.id} charged ${charged.join()}`);
      } else {
        if (payments.has(retryOid)) problems.push(`${retryOid} exists after ${lost.truth}`);
        const expected = lost.truth === 'paid' ? oid : '';
        if (charged.join() !== expected) problems.push(`${subscription.id} charged ${charged.join()}`);
      }
      if (entries.some((entry) => entry.oid.endsWith('-3')))
        problems.push(`${subscription.id} has attempt 3`);
    }

    expect(problems).toEqual([]);
  }, 120_000);
});
