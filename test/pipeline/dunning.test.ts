/**
 * Dunning through the whole pipeline (dispatcher → billing queue → charger → DynamoDB, Payple
 * sandbox, local bus), with the frozen clock stepped day by day at 10:05 and 10:25 KST.
 *
 * Every subscription here is monthly on the 28th: period 0 (28 Jan 2028) is paid with a working
 * card, then the customer's card on file becomes the one under test, so period 1 (28 Feb 2028) is
 * the one that fails. The default policy retries soft declines on days 1, 3, 5 and 7 after the
 * first failure at the 10:00 charge time: 29 Feb (the leap day), 2, 4 and 6 Mar 2028.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DomainEvent } from '../../functions/billing/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt, seedSubscription, startTestStack } from '../support/local-stack.ts';
import {
  allPayments,
  billEveryDay,
  busEvents,
  kstAt,
  ledgerLine,
  type PaypleSettings,
  ledgerOf,
  releaseHoldNow,
  replaceBillingKey,
  startChargerWith,
  storedSubscription,
} from '../support/pipeline-helpers.ts';

type Instrument = { readonly card: string } | { readonly account: string };

/** Period 1's first attempt and the policy's retries: day 0, then days 1, 3, 5 and 7. */
const RETRY_DAYS = ['2028-02-28', '2028-02-29', '2028-03-02', '2028-03-04', '2028-03-06'] as const;

/**
 * A monthly subscription on the 28th whose first period was paid on 28 Jan 2028 with a working
 * card or account, after which the customer registered `instrument` (the subscription stays
 * active; period 1 is charged to it on 28 Feb 2028). Returns the subscription id.
 */
async function paidJanuaryThenSwitchedTo(stack: LocalStack, instrument: Instrument): Promise<string> {
  const subscription = await seedSubscription(stack, {
    ...('account' in instrument ? { account: 'success' } : { card: 'success' }),
    firstBillingDate: { year: 2028, month: 1, day: 28 },
  });
  await billAt(stack, kstAt('2028-01-28', '10:05'));
  await stack.clock.set(kstAt('2028-01-28', '12:00'));
  await replaceBillingKey(stack, subscription.id, instrument);
  return subscription.id;
}

const DUNNING_EVENT_TYPES = new Set<string>([
  'subscription.past_due',
  'subscription.unpaid',
  'subscription.recovered',
  'subscription.payment_method_required',
  'subscription.held',
  'subscription.hold_released',
]);

/** A subscription's payment events and dunning status changes, reduced to the facts under test. */
function dunningEvents(events: readonly DomainEvent[]) {
  return events
    .filter((e) => e.type.startsWith('payment.') || DUNNING_EVENT_TYPES.has(e.type))
    .map((e) => ({
      type: e.type,
      status: e.status,
      ...(e.type.startsWith('payment.') && 'oid' in e ? { oid: e.oid } : {}),
      ...(e.type === 'payment.failed'
        ? { declineClass: e.declineClass, nextAttemptAt: e.nextAttemptAt }
        : {}),
      ...(e.type === 'subscription.past_due' ? { nextAttemptAt: e.nextAttemptAt } : {}),
    }));
}

/** Each change's events share its sequence, and changes come in order: sequences never go back. */
function expectSequencesIncrease(events: readonly DomainEvent[]): void {
  const sequences = events.map((e) => e.sequence);
  expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  const changes = events.filter((e) => e.type.startsWith('payment.')).map((e) => e.sequence);
  expect(new Set(changes).size).toBe(changes.length);
}

describe('dunning through dispatcher, queue and charger', () => {
  let stack: LocalStack;
  beforeEach(async () => {
    stack = await startTestStack({ startAt: '2028-01-20T09:00:00+09:00' });
  });
  afterEach(async () => {
    await stack.stop();
  });

  test('soft declines are retried on days 1, 3, 5 and 7 (across the leap day) with a new OID each, then the subscription is unpaid and never charged again', async () => {
    const id = await paidJanuaryThenSwitchedTo(stack, { card: 'insufficientFunds' });

    await billEveryDay(stack, '2028-02-27', '2028-03-29');
    for (const far of ['2028-04-28', '2028-08-28', '2029-02-28']) await billAt(stack, kstAt(far, '10:05'));

    expect(ledgerOf(stack, id).map(ledgerLine)).toEqual([
      `20280128 100500 charged ${id}-20280128-1`,
      `20280228 100500 declined ${id}-20280228-1`,
      `20280229 100500 declined ${id}-20280228-2`,
      `20280302 100500 declined ${id}-20280228-3`,
      `20280304 100500 declined ${id}-20280228-4`,
      `20280306 100500 declined ${id}-20280228-5`,
    ]);
    const declined = (await allPayments(stack))
      .filter((p) => p.period === 1)
      .map((p) => ({ oid: p.oid, attempt: p.attempt, state: p.state, declineClass: p.declineClass }))
      .sort((a, b) => a.attempt - b.attempt);
    expect(declined).toEqual(
      [1, 2, 3, 4, 5].map((attempt) => ({
        oid: `${id}-20280228-${attempt}`,
        attempt,
        state: 'declined',
        declineClass: 'soft',
      })),
    );
    expect(await storedSubscription(stack, id)).toMatchObject({
      status: 'unpaid',
      currentPeriod: 1,
      attemptsMade: 5,
      dunning: { retriesUsed: 4, firstFailedAt: kstAt('2028-02-28', '10:05') },
      nextChargeAt: null,
      inFlight: null,
      hold: null,
    });
  });

  test('the bus reports each failed attempt, past_due once and unpaid once, with sequences that only increase', async () => {
    const id = await paidJanuaryThenSwitchedTo(stack, { card: 'insufficientFunds' });

    for (const day of RETRY_DAYS) await billAt(stack, kstAt(day, '10:05'));

    const events = busEvents(stack, id);
    const failed = (attempt: number, nextAttemptAt: number | null) => ({
      type: 'payment.failed',
      status: nextAttemptAt === null ? 'unpaid' : 'past_due',
      oid: `${id}-20280228-${attempt}`,
      declineClass: 'soft',
      nextAttemptAt,
    });
    expect(dunningEvents(events)).toEqual([
      { type: 'payment.succeeded', status: 'active', oid: `${id}-20280128-1` },
      failed(1, kstAt('2028-02-29', '10:00')),
      { type: 'subscription.past_due', status: 'past_due', nextAttemptAt: kstAt('2028-02-29', '10:00') },
      failed(2, kstAt('2028-03-02', '10:00')),
      failed(3, kstAt('2028-03-04', '10:00')),
      failed(4, kstAt('2028-03-06', '10:00')),
      failed(5, null),
      { type: 'subscription.unpaid', status: 'unpaid' },
    ]);
    expectSequencesIncrease(events);
    const sequenceOf = (type: string, oid?: string) =>
      events.find((e) => e.type === type && (oid === undefined || ('oid' in e && e.oid === oid)))?.sequence;
    expect(sequenceOf('subscription.past_due')).toBe(sequenceOf('payment.failed', `${id}-20280228-1`));
    expect(sequenceOf('subscription.unpaid')).toBe(sequenceOf('payment.failed', `${id}-20280228-5`));
  });

  test('a past-due subscription whose customer registers a working card is charged at once with the next attempt and is active again', async () => {
    const id = await paidJanuaryThenSwitchedTo(stack, { card: 'insufficientFunds' });
    await billEveryDay(stack, '2028-02-28', '2028-02-29');
    const declinedKey = (await storedSubscription(stack, id)).paymentMethod.billingKeyRef;

    await stack.clock.set(kstAt('2028-03-01', '15:00'));
    const replaced = await replaceBillingKey(stack, id, { card: 'success' });
    await billAt(stack, kstAt('2028-03-01', '15:05'));
    await billEveryDay(stack, '2028-03-02', '2028-03-29');

    expect(replaced.nextChargeAt).toBe(kstAt('2028-03-01', '15:00'));
    const ledger = ledgerOf(stack, id);
    expect(ledger.map(ledgerLine)).toEqual([
      `20280128 100500 charged ${id}-20280128-1`,
      `20280228 100500 declined ${id}-20280228-1`,
      `20280229 100500 declined ${id}-20280228-2`,
      `20280301 150500 charged ${id}-20280228-3`,
      `20280328 100500 charged ${id}-20280328-1`,
    ]);
    const newKey = replaced.paymentMethod.billingKeyRef;
    expect(ledger.slice(1).map((entry) => entry.payerId)).toEqual([declinedKey, declinedKey, newKey, newKey]);
    expect(await stack.billing.store.getPayment(`${id}-20280228-3`)).toMatchObject({ state: 'paid' });
    expect(await storedSubscription(stack, id)).toMatchObject({
      status: 'active',
      currentPeriod: 3,
      lastPaidPeriod: 2,
      attemptsMade: 0,
      dunning: { retriesUsed: 0, firstFailedAt: null },
      nextChargeAt: kstAt('2028-04-28', '10:00'),
    });
    const recovered = busEvents(stack, id).filter((e) => e.type === 'subscription.recovered');
    expect(recovered).toMatchObject([{ status: 'active', period: 1, periodKey: '20280228' }]);
  });

  test('an unpaid subscription given a working card pays the overdue period at once, then the period it is in, skipping those between', async () => {
    const id = await paidJanuaryThenSwitchedTo(stack, { card: 'insufficientFunds' });
    for (const day of RETRY_DAYS) await billAt(stack, kstAt(day, '10:05'));

    await stack.clock.set(kstAt('2028-05-10', '14:00'));
    await replaceBillingKey(stack, id, { card: 'success' });
    await billAt(stack, kstAt('2028-05-10', '14:05'));
    await billAt(stack, kstAt('2028-05-10', '14:15'));
    await billEveryDay(stack, '2028-05-11', '2028-05-29');

    expect(ledgerOf(stack, id).slice(6).map(ledgerLine)).toEqual([
      `20280510 140500 charged ${id}-20280228-6`,
      `20280510 141500 charged ${id}-20280428-1`,
      `20280528 100500 charged ${id}-20280528-1`,
    ]);
    expect(await storedSubscription(stack, id)).toMatchObject({
      status: 'active',
      currentPeriod: 5,
      nextChargeAt: kstAt('2028-06-28', '10:00'),
    });
    expect(busEvents(stack, id).filter((e) => e.type === 'subscription.periods_skipped')).toMatchObject([
      { fromPeriod: 2, toPeriod: 3, reason: 'caught_up' },
    ]);
  });

  test.each<{ name: string; instrument: Instrument }>([
    { name: 'an expired card', instrument: { card: 'expired' } },
    { name: 'a closed account', instrument: { account: 'closed' } },
  ])(
    'a hard decline ($name) makes the subscription past_due waiting for a new key, and nothing is charged however far the clock moves',
    async ({ instrument }) => {
      const id = await paidJanuaryThenSwitchedTo(stack, instrument);

      await billEveryDay(stack, '2028-02-27', '2028-03-10');
      for (const far of ['2028-03-28', '2028-08-28', '2029-02-28']) await billAt(stack, kstAt(far, '10:05'));

      expect(ledgerOf(stack, id).map(ledgerLine)).toEqual([
        `20280128 100500 charged ${id}-20280128-1`,
        `20280228 100500 declined ${id}-20280228-1`,
      ]);
      expect(await stack.billing.store.getPayment(`${id}-20280228-1`)).toMatchObject({
        state: 'declined',
        declineClass: 'hard',
      });
      expect(await storedSubscription(stack, id)).toMatchObject({
        status: 'past_due',
        paymentMethod: { status: 'needs_replacement', problem: 'declined_hard' },
        currentPeriod: 1,
        attemptsMade: 1,
        dunning: { retriesUsed: 0 },
        nextChargeAt: null,
      });
      const events = busEvents(stack, id);
      expect(dunningEvents(events).slice(1)).toEqual([
        {
          type: 'payment.failed',
          status: 'past_due',
          oid: `${id}-20280228-1`,
          declineClass: 'hard',
          nextAttemptAt: null,
        },
        { type: 'subscription.past_due', status: 'past_due', nextAttemptAt: null },
        { type: 'subscription.payment_method_required', status: 'past_due' },
      ]);
      expectSequencesIncrease(events);
    },
  );

  test.each<{ name: string; settings: PaypleSettings }>([
    { name: 'an unregistered Referer', settings: { referer: 'https://shop.example.com' } },
    { name: 'a wrong custKey', settings: { custKey: 'not-our-cust-key' } },
  ])(
    'a configuration error ($name) holds the subscription without using a retry or charging; releasing the hold charges the next attempt',
    async ({ settings }) => {
      const id = await paidJanuaryThenSwitchedTo(stack, { card: 'insufficientFunds' });
      await billAt(stack, kstAt('2028-02-28', '10:05'));
      const misconfigured = await startChargerWith(stack, settings);

      try {
        await stack.clock.set(kstAt('2028-02-29', '10:05'));
        await stack.billing.dispatch();
        await misconfigured.drain();
      } finally {
        await misconfigured.stop();
      }

      expect(await stack.billing.store.getPayment(`${id}-20280228-2`)).toMatchObject({
        state: 'declined',
        declineClass: 'config',
      });
      expect(stack.sandbox.admin.ledgerEntry(`${id}-20280228-2`)).toBeUndefined();
      expect(await storedSubscription(stack, id)).toMatchObject({
        status: 'past_due',
        hold: { reason: 'config_error', period: 1, attempt: 2 },
        attemptsMade: 2,
        dunning: { retriesUsed: 1, firstFailedAt: kstAt('2028-02-28', '10:05') },
        nextChargeAt: null,
      });

      await billEveryDay(stack, '2028-03-01', '2028-03-07');
      expect(ledgerOf(stack, id)).toHaveLength(2);

      await stack.clock.set(kstAt('2028-03-08', '12:00'));
      await releaseHoldNow(stack, id);
      await billAt(stack, kstAt('2028-03-08', '12:05'));

      expect(ledgerOf(stack, id).map(ledgerLine)).toEqual([
        `20280128 100500 charged ${id}-20280128-1`,
        `20280228 100500 declined ${id}-20280228-1`,
        `20280308 120500 declined ${id}-20280228-3`,
      ]);
      expect(await storedSubscription(stack, id)).toMatchObject({
        status: 'past_due',
        hold: null,
        attemptsMade: 3,
        dunning: { retriesUsed: 2 },
        nextChargeAt: kstAt('2028-03-09', '10:00'),
      });
      const events = busEvents(stack, id);
      const failed = (attempt: number, declineClass: string, nextAttemptAt: number | null) => ({
        type: 'payment.failed',
        status: 'past_due',
        oid: `${id}-20280228-${attempt}`,
        declineClass,
        nextAttemptAt,
      });
      expect(dunningEvents(events).slice(1)).toEqual([
        failed(1, 'soft', kstAt('2028-02-29', '10:00')),
        { type: 'subscription.past_due', status: 'past_due', nextAttemptAt: kstAt('2028-02-29', '10:00') },
        failed(2, 'config', null),
        { type: 'subscription.held', status: 'past_due' },
        { type: 'subscription.hold_released', status: 'past_due' },
        failed(3, 'soft', kstAt('2028-03-09', '10:00')),
      ]);
      expectSequencesIncrease(events);
    },
  );
});
