/**
 * Overlapping reconciler invocations (a slow run still going when the schedule fires again, or
 * two instances) share the one lookup budget and never look the same payment up twice.
 *
 * At the deployed budget (900 per 10 minutes, under Payple's 1,000). The webhook's confirmations
 * draw on the same budget: they have just used 800 of it (real lookups at the sandbox), so the
 * 200 payments due are more than the reconcilers may look up, and the sandbox's window gets close
 * to Payple's limit.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reconcileSettings } from '../../functions/shared/reconcile-config.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import { DynamoLookupBudget } from '../../functions/store/lookup-budget.ts';
import type { ReconcileReport } from '../../functions/use-cases/reconcile.ts';
import type { LocalStack } from '../../local/stack.ts';
import { sandboxClient, startTestStack } from '../support/local-stack.ts';
import {
  budgetWasBlocked,
  busiestTenMinutes,
  countLookupRequests,
  LOST_ANSWERS,
  lookedUpBetween,
  makeUnknownPayments,
  mixOf,
  recordingGateway,
  recordRun,
  scanPayments,
  secondReconciler,
  combinedReport,
  type RecordedRun,
} from '../support/reconciler-helpers.ts';

const BUDGET = reconcileSettings({}).lookupBudgetPerTenMinutes;
const COUNT = 200;
/** Lookups another budget consumer (the webhook's confirmations) made just before. */
const CONFIRMATIONS = 800;
const kst = (time: string) => Date.parse(`2027-07-06T${time}:00+09:00`);

describe('concurrent reconcilers', () => {
  let stack: LocalStack;
  /** Per clock instant: the three overlapping runs, as one record, and what they looked up. */
  const rounds: {
    run: RecordedRun;
    reports: ReconcileReport[];
    lookedUp: string[];
    asked: string[];
  }[] = [];
  let oids: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      startAt: '2027-07-05T09:00:00+09:00',
      billing: { paypleTimeouts: { chargeMs: 1_000 }, reconcile: reconcileSettings({}) },
    });
    // Answers and webhooks lost: only lookups can settle these.
    stack.sandbox.admin.addFault({ kind: 'webhookDrop' });
    const made = await makeUnknownPayments(stack, {
      lost: mixOf(
        [LOST_ANSWERS.connectionReset, LOST_ANSWERS.notExecuted5xx, LOST_ANSWERS.executed5xx],
        COUNT,
      ),
      firstBillingDate: { year: 2027, month: 7, day: 6 },
      at: kst('10:05'),
      parallel: 50,
      chargers: 2,
    });
    oids = made.map((payment) => payment.oid);

    // Arrange: the webhook confirmed 800 payments moments before the tick (the same minute), each
    // with a lookup reserved from the shared budget first.
    await stack.clock.set(kst('10:10'));
    const confirmations = new DynamoLookupBudget({
      documents: documentClient(stack.dynamo),
      table: stack.tables.control,
      perTenMinutes: BUDGET,
    });
    expect(await confirmations.reserve(CONFIRMATIONS, stack.clock.now())).toBe(CONFIRMATIONS);
    const webhookClient = sandboxClient(stack);
    for (let i = 0; i < CONFIRMATIONS; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) =>
          webhookClient.lookupPayment({
            oid: `webhook-confirmation-${i + j}`,
            payType: 'card',
            date: '20270706',
            expectedAmount: 9_900,
          }),
        ),
      );
    }
    expect(stack.sandbox.admin.lookupUsage().count).toBe(CONFIRMATIONS);

    // Act: at each tick of the schedule, two invocations of the stack's reconciler and a second
    // instance (its own Payple client and budget adapter) all at once.
    const received = countLookupRequests(stack);
    for (const time of ['10:10', '10:15', '10:20', '10:25']) {
      await stack.clock.set(kst(time));
      let recorder: ReturnType<typeof recordingGateway> | undefined;
      const other = secondReconciler(stack, { wrap: (client) => (recorder = recordingGateway(client)) });
      const before = await scanPayments(stack);
      let reports: ReconcileReport[] = [];
      const run = await recordRun(stack, received, async () => {
        reports = await Promise.all([stack.billing.reconcile(), stack.billing.reconcile(), other()]);
        return combinedReport(reports);
      });
      const after = await scanPayments(stack);
      rounds.push({
        run,
        reports,
        lookedUp: lookedUpBetween(before, after),
        asked: recorder!.asked.map((a) => a.oid),
      });
    }
  }, 120_000);

  afterAll(async () => {
    console.log(
      'concurrent reconcilers, lookups per run:',
      rounds.map((r) => r.reports.map((x) => x.lookups).join('+')).join(', '),
    );
    await stack.stop();
  });

  test('together they never look up more than the budget in any 10 minutes, and Payple never refuses one', async () => {
    const runs = rounds.map((r) => r.run);

    expect(busiestTenMinutes(runs).lookups).toBeLessThanOrEqual(BUDGET);
    for (const run of runs) {
      expect(run.sandboxWindowCount).toBeLessThanOrEqual(BUDGET);
      expect(run.receivedBySandbox).toBe(run.report.lookups);
      expect(run.countedBySandbox).toBe(run.report.lookups);
    }
    expect(await budgetWasBlocked(stack)).toBe(false);
    // The first tick had more due than the budget left: the three runs used what was left between
    // them (each reserves up to 10 at a time and may end its run holding a few unused)...
    expect(runs[0]!.report.lookups).toBeLessThanOrEqual(BUDGET - CONFIRMATIONS);
    expect(runs[0]!.report.lookups).toBeGreaterThan(BUDGET - CONFIRMATIONS - 10 * 3);
    expect(runs[0]!.sandboxWindowCount).toBeGreaterThan(BUDGET - 10 * 3);
    // ...and each took a share, so they really overlapped.
    for (const report of rounds[0]!.reports) expect(report.lookups).toBeGreaterThan(0);
    // The next two ticks are inside the same window: nothing.
    expect(runs[1]!.report.lookups + runs[2]!.report.lookups).toBe(0);
  });

  test('no payment is looked up twice by overlapping runs', () => {
    for (const { run, lookedUp: oids, asked } of rounds) {
      // Every lookup moved exactly one payment on (settled it or counted one more lookup); a payment
      // looked up twice would leave more lookups than payments moved.
      expect(new Set(oids).size).toBe(run.report.lookups);
      expect(new Set(asked).size).toBe(asked.length);
      expect(asked.every((oid) => oids.includes(oid))).toBe(true);
    }
  });

  test('what the first tick could not look up is looked up first once the window has passed', () => {
    const [first, , , fourth] = rounds;
    const leftByFirst = oids.filter((oid) => !first!.lookedUp.includes(oid));

    expect(leftByFirst.length).toBeGreaterThan(0);
    expect(leftByFirst.filter((oid) => !fourth!.lookedUp.includes(oid))).toEqual([]);
  });
});
