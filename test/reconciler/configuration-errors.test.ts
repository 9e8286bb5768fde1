/**
 * Payple refusing our lookups rather than answering about a payment: a configuration error (wrong
 * Referer after a domain change, wrong custKey) or a refused lookup token. None of it is the
 * payment's fault, so none of it may spend the payment's back-off: the run ends, every payment keeps
 * its place and its count of lookups, and they settle once Payple answers again.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_DUNNING_POLICY } from '../../functions/billing/index.ts';
import {
  InMemoryLookupTokenCache,
  PaypleClient,
  type PaymentLookupInput,
  type PaymentLookupOutcome,
} from '../../functions/payple/index.ts';
import { NOT_FOUND_LOOKUP_CODES, reconcileSettings } from '../../functions/shared/reconcile-config.ts';
import {
  reconcileUnsettledPayments,
  type LookupGateway,
  type ReconcileReport,
} from '../../functions/use-cases/reconcile.ts';
import { LOCAL_REFERER } from '../../local/billing.ts';
import { defaultPartner } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, sandboxClient, seedSubscription, startTestStack } from '../support/local-stack.ts';
import { MINUTE_MS, secondReconciler } from '../support/reconciler-helpers.ts';

const HOUR_MS = 60 * MINUTE_MS;
/** The deployed schedule: 5 min, 30 min, 2 h, 12 h, 1 day, then needs_review. */
const DEPLOYED = reconcileSettings({});
const kst = (date: string, time: string) => Date.parse(`${date}T${time}:00+09:00`);

/** A Referer whose host the sandbox's partner has not registered (the merchant's new domain). */
const UNREGISTERED_REFERER = 'https://shop.example.com';

/** A failure as the Payple client returns it. */
function failure(
  kind: 'config_error' | 'token_expired',
  code: string,
  stage: 'auth' | 'operation',
): PaymentLookupOutcome {
  return { kind, stage, reason: 'payple_code', code, issuerCode: undefined, message: undefined };
}

/**
 * Stands between the reconciler and the sandbox: `refuse` may answer a lookup itself (a refusal);
 * what it leaves (`undefined`) goes to the sandbox. Remembers every OID it was asked for.
 */
function scripted(
  stack: LocalStack,
  refuse: (input: PaymentLookupInput) => PaymentLookupOutcome | undefined,
): LookupGateway & { readonly asked: string[] } {
  const sandbox = sandboxClient(stack);
  const asked: string[] = [];
  return {
    asked,
    lookupPayment: (input) => {
      asked.push(input.oid);
      const refusal = refuse(input);
      return refusal ? Promise.resolve(refusal) : sandbox.lookupPayment(input);
    },
  };
}

/** What a run may change of a payment: its state, place and count of lookups. */
const placeOf = async (stack: LocalStack, oid: string) => {
  const payment = await stack.billing.store.getPayment(oid);
  return { state: payment?.state, reconcile: payment?.reconcile };
};

describe('Payple refusing our lookups', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-03-01T09:00:00+09:00' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  /** The use case itself over the stack's tables and budget, with `payple` as its gateway. */
  const reconcileWith = (payple: LookupGateway) =>
    reconcileUnsettledPayments(
      {
        store: stack.billing.store,
        index: stack.billing.store,
        publisher: stack.billing.publisher,
        dunningPolicy: DEFAULT_DUNNING_POLICY,
        budget: stack.billing.budget,
        payple,
        now: stack.clock.now,
        backoffMs: DEPLOYED.backoffMs,
        notFoundGraceMs: DEPLOYED.notFoundGraceMs,
        notFoundCodes: NOT_FOUND_LOOKUP_CODES,
        leaseMs: 10 * MINUTE_MS,
      },
      { maxPayments: 100, shouldStop: () => false },
    );

  /**
   * `count` subscriptions due on `date` whose first charge went through at the sandbox but whose
   * answer was lost (webhooks are off in test stacks): each payment is `unknown` and the truth is
   * paid. Charged at 10:05 KST on `date`; returns the OIDs.
   */
  async function paidButUnknown(count: number, date: string): Promise<string[]> {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const oids: string[] = [];
    for (let i = 0; i < count; i++) {
      const subscription = await seedSubscription(stack, { firstBillingDate: { year, month, day } });
      stack.sandbox.admin.addFault({
        kind: 'answerLost',
        operation: 'charge',
        payerId: subscription.paymentMethod.billingKeyRef,
        times: 1,
      });
      oids.push(`${subscription.id}-${date.replaceAll('-', '')}-1`);
    }
    await billAt(stack, kst(date, '10:05'));
    for (const oid of oids) expect(await placeOf(stack, oid)).toMatchObject({ state: 'unknown' });
    return oids;
  }

  describe('the use case', () => {
    test('a configuration error spends no back-off: the run ends, and over longer than the whole schedule nobody walks to needs_review; once Payple answers, all settle', async () => {
      const oids = await paidButUnknown(3, '2027-03-02');
      const before = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      let configurationBroken = true;
      const payple = scripted(stack, () =>
        configurationBroken ? failure('config_error', 'SPCD9991', 'operation') : undefined,
      );

      // Act: a run at every step of the old back-off (each would have spent one), and two days on.
      const requestedAt = kst('2027-03-02', '10:05');
      const reports: ReconcileReport[] = [];
      for (const after of [
        5 * MINUTE_MS,
        35 * MINUTE_MS,
        155 * MINUTE_MS,
        15 * HOUR_MS,
        40 * HOUR_MS,
        50 * HOUR_MS,
      ]) {
        await stack.clock.set(requestedAt + after);
        reports.push(await reconcileWith(payple));
      }
      const during = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      configurationBroken = false;
      const fixed = await reconcileWith(payple);

      // Two lookups refused in a row end each run: the third payment is never looked at.
      for (const report of reports) {
        expect(report).toMatchObject({
          examined: 2,
          lookups: 2,
          settled: 0,
          rescheduled: 0,
          needsReview: 0,
          configurationErrors: 2,
          refusal: {
            classification: 'config_error',
            code: 'SPCD9991',
            reason: 'payple_code',
            stage: 'operation',
            paused: true,
          },
        });
      }
      expect(new Set(payple.asked.slice(0, 12)).size).toBe(2);
      expect(during).toEqual(before);
      expect(fixed).toMatchObject({ settled: 3, rescheduled: 0, needsReview: 0 });
      expect(fixed.refusal).toBeUndefined();
      expect(fixed.configurationErrors).toBeUndefined();
      for (const oid of oids) {
        expect(await stack.billing.store.getPayment(oid)).toMatchObject({
          state: 'paid',
          resolvedBy: 'result_lookup',
        });
      }
    });

    test("a refusal of one payment's own lookup while the others are answered: that payment backs off like after any other error, the rest settle", async () => {
      const [refusedOid, ...answered] = await paidButUnknown(3, '2027-03-10');
      const payple = scripted(stack, (input) =>
        input.oid === refusedOid ? failure('config_error', 'PCHK0002', 'operation') : undefined,
      );
      const requestedAt = kst('2027-03-10', '10:05');
      await stack.clock.set(requestedAt + 5 * MINUTE_MS);

      const report = await reconcileWith(payple);

      expect(report).toMatchObject({
        examined: 3,
        settled: 2,
        rescheduled: 1,
        configurationErrors: 1,
        refusal: { oid: refusedOid, classification: 'config_error', code: 'PCHK0002', paused: false },
      });
      expect(await placeOf(stack, refusedOid!)).toEqual({
        state: 'unknown',
        reconcile: { lookups: 1, nextAt: requestedAt + 5 * MINUTE_MS + DEPLOYED.backoffMs[0]! },
      });
      for (const oid of answered) expect(await placeOf(stack, oid)).toMatchObject({ state: 'paid' });

      // Clean up for the next tests: once Payple answers for it too, it settles.
      await stack.clock.set(requestedAt + 30 * MINUTE_MS);
      expect(await reconcileWith(scripted(stack, () => undefined))).toMatchObject({ settled: 1 });
    });

    test('a refused lookup token is asked again at once with a fresh one: the payment settles in the same run without spending back-off', async () => {
      const [oid] = await paidButUnknown(1, '2027-03-11');
      let refusals = 1;
      const payple = scripted(stack, () =>
        refusals-- > 0 ? failure('token_expired', 'PCHK0004', 'operation') : undefined,
      );
      await stack.clock.set(kst('2027-03-11', '10:10'));

      const report = await reconcileWith(payple);

      expect(report).toMatchObject({ examined: 1, lookups: 2, settled: 1, rescheduled: 0 });
      expect(report.refusal).toBeUndefined();
      expect(payple.asked).toEqual([oid, oid]);
      expect(await placeOf(stack, oid!)).toMatchObject({ state: 'paid' });
    });

    test('a fresh lookup token refused as well ends the run with every payment where it was', async () => {
      const oids = await paidButUnknown(2, '2027-03-12');
      const before = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      let tokensRefused = true;
      const payple = scripted(stack, () =>
        tokensRefused ? failure('token_expired', 'PCHK0004', 'operation') : undefined,
      );
      await stack.clock.set(kst('2027-03-12', '10:10'));

      const refused = await reconcileWith(payple);
      const after = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      tokensRefused = false;
      const next = await reconcileWith(payple);

      expect(refused).toMatchObject({
        examined: 1,
        lookups: 2,
        rescheduled: 0,
        refusal: { classification: 'token_expired', code: 'PCHK0004', paused: true },
      });
      expect(refused.configurationErrors).toBeUndefined();
      expect(after).toEqual(before);
      expect(next).toMatchObject({ settled: 2, rescheduled: 0 });
    });
  });

  describe('the reconciler against the sandbox', () => {
    /** A Payple client that sends `referer`, optionally sharing its lookup tokens with another. */
    const clientWith = (referer: string, lookupTokenCache?: InMemoryLookupTokenCache) =>
      new PaypleClient({
        host: stack.sandbox.url,
        cstId: defaultPartner.cstId,
        custKey: defaultPartner.custKey,
        referer,
        clock: stack.clock,
        logger: new Logger({ serviceName: 'payple', logLevel: 'SILENT' }),
        ...(lookupTokenCache ? { lookupTokenCache } : {}),
      });

    test('a Referer Payple does not know (AUTH0004 at partner auth): one lookup a run, the PaypleConfigurationErrors metric, nothing counted at Payple, and the payments settle once the Referer is fixed', async () => {
      const oids = await paidButUnknown(2, '2027-03-15');
      const before = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      let client = clientWith(UNREGISTERED_REFERER);
      const metrics: Record<string, unknown>[] = [];
      const reconcile = secondReconciler(stack, {
        wrap: () => ({ lookupPayment: (input) => client.lookupPayment(input) }),
        onMetrics: (emf) => metrics.push(emf),
      });
      const counted = stack.sandbox.admin.lookupUsage().count;

      const requestedAt = kst('2027-03-15', '10:05');
      const reports: ReconcileReport[] = [];
      for (const after of [5 * MINUTE_MS, 10 * MINUTE_MS, 40 * MINUTE_MS, 3 * HOUR_MS, 30 * HOUR_MS]) {
        await stack.clock.set(requestedAt + after);
        reports.push(await reconcile());
      }
      const during = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      const countedWhileRefused = stack.sandbox.admin.lookupUsage().count - counted;
      // The domain is registered again (a new cold start reads the fixed configuration).
      client = sandboxClient(stack);
      await stack.clock.set(requestedAt + 30 * HOUR_MS + 5 * MINUTE_MS);
      const fixed = await reconcile();

      for (const report of reports) {
        expect(report).toMatchObject({
          examined: 1,
          lookups: 1,
          rescheduled: 0,
          needsReview: 0,
          configurationErrors: 1,
          refusal: { classification: 'config_error', code: 'AUTH0004', stage: 'auth', paused: true },
        });
      }
      expect(during).toEqual(before);
      expect(countedWhileRefused).toBe(0);
      expect(metrics.map((emf) => emf['PaypleConfigurationErrors'])).toEqual([1, 1, 1, 1, 1, 0]);
      expect(fixed).toMatchObject({ settled: 2, needsReview: 0 });
      for (const oid of oids) expect(await placeOf(stack, oid)).toMatchObject({ state: 'paid' });
    });

    test('a Referer refused at the lookup itself, under a token taken before: two payments refused in a row end the run, and both keep their back-off', async () => {
      const oids = await paidButUnknown(3, '2027-03-20');
      const before = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      // A token the partner auth gave while the domain was still registered.
      const tokens = new InMemoryLookupTokenCache({ clock: stack.clock });
      await clientWith(LOCAL_REFERER, tokens).lookupPayment({
        oid: 'token0primer',
        payType: 'card',
        date: '20270320',
        expectedAmount: 9_900,
      });
      const metrics: Record<string, unknown>[] = [];
      const refusing = clientWith(UNREGISTERED_REFERER, tokens);
      await stack.clock.set(kst('2027-03-20', '10:10'));

      const report = await secondReconciler(stack, {
        wrap: () => refusing,
        onMetrics: (emf) => metrics.push(emf),
      })();
      const after = await Promise.all(oids.map((oid) => placeOf(stack, oid)));
      const fixed = await secondReconciler(stack)();

      expect(report).toMatchObject({
        examined: 2,
        lookups: 2,
        rescheduled: 0,
        needsReview: 0,
        configurationErrors: 2,
        refusal: { classification: 'config_error', code: 'AUTH0004', stage: 'operation', paused: true },
      });
      expect(after).toEqual(before);
      expect(metrics).toEqual([expect.objectContaining({ PaypleConfigurationErrors: 2 })]);
      expect(fixed).toMatchObject({ settled: 3 });
    });
  });
});
