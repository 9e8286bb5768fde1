/**
 * A simulated year of billing through the whole pipeline: 202 subscriptions (monthly on the
 * 28th-31st and other days, some taken out on Feb 29; every 2, 3 and 6 months; weekly and every 2
 * weeks; yearly and every 2 years, on Feb 29 among others; cards and transfer accounts) billed by
 * the dispatcher, the billing queue and the charger against the Payple sandbox, while the frozen
 * clock steps through every day from 1 Dec 2027 to 31 Dec 2028 (the leap February included) at
 * 10:05 and again at 10:25 KST.
 *
 * What must come out: the sandbox charged every subscription exactly once per period, on the KST
 * date the expectation tables say (written by hand for month ends, by plain UTC date arithmetic
 * for the rest, never by the domain's calendar), at the first dispatcher run after 10:00; every
 * payment item is `paid`; and every subscription is active in the period after the last one paid,
 * due on the next date of its table.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PayType, PlanInterval } from '../../functions/billing/index.ts';
import type { LedgerEntry } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  allPayments,
  billEveryDay,
  busEvents,
  compact,
  kstAt,
  ledgerLine,
  storedSubscription,
} from '../support/pipeline-helpers.ts';
import { seedSubscription, startTestStack } from '../support/local-stack.ts';

const FIRST_DAY = '2027-12-01';
const LAST_DAY = '2028-12-31';
const CARD_AMOUNT = 9_900;
const TRANSFER_AMOUNT = 12_000;

/** `YYYY-MM-DD` plus `days`, by UTC arithmetic. */
function plusDays(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Every `stepDays` from `first` up to and including the first date after `LAST_DAY`. */
function everyDays(first: string, stepDays: number): string[] {
  const dates = [first];
  while (dates.at(-1)! <= LAST_DAY) dates.push(plusDays(dates.at(-1)!, stepDays));
  return dates;
}

/** A plan the simulation subscribes, with the billing dates expected (the last one after the year). */
interface SimulatedPlan {
  readonly name: string;
  readonly interval: PlanInterval;
  readonly firstBillingDate: string;
  readonly anchorDay?: number;
  /** Every billing date through the year, then the first one after it. */
  readonly dates: readonly string[];
}

/** Month ends through the leap February, by hand: the anchor, or the last day of a shorter month. */
const MONTH_END_TABLE: Record<28 | 29 | 30 | 31, readonly string[]> = {
  28: ['2027-12-28', '2028-01-28', '2028-02-28', '2028-03-28', '2028-04-28', '2028-05-28', '2028-06-28',
       '2028-07-28', '2028-08-28', '2028-09-28', '2028-10-28', '2028-11-28', '2028-12-28', '2029-01-28'],
  29: ['2027-12-29', '2028-01-29', '2028-02-29', '2028-03-29', '2028-04-29', '2028-05-29', '2028-06-29',
       '2028-07-29', '2028-08-29', '2028-09-29', '2028-10-29', '2028-11-29', '2028-12-29', '2029-01-29'],
  30: ['2027-12-30', '2028-01-30', '2028-02-29', '2028-03-30', '2028-04-30', '2028-05-30', '2028-06-30',
       '2028-07-30', '2028-08-30', '2028-09-30', '2028-10-30', '2028-11-30', '2028-12-30', '2029-01-30'],
  31: ['2027-12-31', '2028-01-31', '2028-02-29', '2028-03-31', '2028-04-30', '2028-05-31', '2028-06-30',
       '2028-07-31', '2028-08-31', '2028-09-30', '2028-10-31', '2028-11-30', '2028-12-31', '2029-01-31'],
}; // prettier-ignore

const month = (count = 1): PlanInterval => ({ unit: 'month', count });
const week = (count = 1): PlanInterval => ({ unit: 'week', count });
const year: PlanInterval = { unit: 'year', count: 1 };

/** A day of month that every month has, from December 2027 to the first date after the year. */
function monthly(day: number): string[] {
  const dd = String(day).padStart(2, '0');
  return [
    '2027-12',
    ...Array.from(
      { length: 13 },
      (_, i) => `${2028 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`,
    ),
  ].map((yearMonth) => `${yearMonth}-${dd}`);
}

/**
 * The plans and how many subscriptions take each. Each charge costs ~35 ms of CPU through DynamoDB
 * Local, fauxqs and the sandbox, and each of the 794 dispatcher runs ~27 ms (16 shard queries), so
 * the weekly and monthly plans (57 and 13 charges in the year) are taken a few times and the long
 * intervals (1-7 charges) many times: 202 subscriptions, 1,096 charges, about a minute on two
 * quiet cores. `copy` varies the weekday of the weekly plans.
 */
const PLANS: readonly {
  /** Starts the ids of its subscriptions (`m31feb29c2`: the third copy), so a failure names the plan. */
  readonly tag: string;
  readonly copies: number;
  readonly plan: (copy: number) => SimulatedPlan;
}[] = [
  ...([28, 29, 30, 31] as const).map((anchor) => ({
    tag: `m${anchor}`,
    copies: 5,
    plan: (): SimulatedPlan => ({ name: `monthly on the ${anchor}th`, interval: month(),
      firstBillingDate: MONTH_END_TABLE[anchor][0]!, dates: MONTH_END_TABLE[anchor] }),
  })),
  { tag: 'm31jan', copies: 3, plan: () => ({ name: 'monthly on the 31st from January', interval: month(),
      firstBillingDate: '2028-01-31', dates: MONTH_END_TABLE[31].slice(1) }) },
  { tag: 'm29jan', copies: 3, plan: () => ({ name: 'monthly on the 29th from January', interval: month(),
      firstBillingDate: '2028-01-29', dates: MONTH_END_TABLE[29].slice(1) }) },
  { tag: 'm31feb29', copies: 3, plan: () => ({ name: 'monthly on the 31st, taken out on Feb 29', interval: month(),
      firstBillingDate: '2028-02-29', anchorDay: 31, dates: MONTH_END_TABLE[31].slice(2) }) },
  { tag: 'm30feb29', copies: 3, plan: () => ({ name: 'monthly on the 30th, taken out on Feb 29', interval: month(),
      firstBillingDate: '2028-02-29', anchorDay: 30, dates: MONTH_END_TABLE[30].slice(2) }) },
  { tag: 'm1', copies: 3, plan: () => ({ name: 'monthly on the 1st, due at once', interval: month(),
      firstBillingDate: '2027-12-01', dates: monthly(1) }) },
  { tag: 'm15', copies: 3, plan: () => ({ name: 'monthly on the 15th', interval: month(),
      firstBillingDate: '2027-12-15', dates: monthly(15) }) },
  { tag: 'bi31', copies: 5, plan: () => ({ name: 'every 2 months on the 31st', interval: month(2), firstBillingDate: '2027-12-31',
      dates: ['2027-12-31', '2028-02-29', '2028-04-30', '2028-06-30', '2028-08-31', '2028-10-31', '2028-12-31', '2029-02-28'] }) },
  { tag: 'bi30', copies: 5, plan: () => ({ name: 'every 2 months on the 30th', interval: month(2), firstBillingDate: '2028-01-30',
      dates: ['2028-01-30', '2028-03-30', '2028-05-30', '2028-07-30', '2028-09-30', '2028-11-30', '2029-01-30'] }) },
  { tag: 'bi29', copies: 5, plan: () => ({ name: 'every 2 months on the 29th', interval: month(2), firstBillingDate: '2027-12-29',
      dates: ['2027-12-29', '2028-02-29', '2028-04-29', '2028-06-29', '2028-08-29', '2028-10-29', '2028-12-29', '2029-02-28'] }) },
  { tag: 'q31', copies: 6, plan: () => ({ name: 'every 3 months on the 31st', interval: month(3), firstBillingDate: '2027-12-31',
      dates: ['2027-12-31', '2028-03-31', '2028-06-30', '2028-09-30', '2028-12-31', '2029-03-31'] }) },
  { tag: 'q30feb29', copies: 6, plan: () => ({ name: 'every 3 months on the 30th, taken out on Feb 29', interval: month(3),
      firstBillingDate: '2028-02-29', anchorDay: 30, dates: ['2028-02-29', '2028-05-30', '2028-08-30', '2028-11-30', '2029-02-28'] }) },
  { tag: 'h31', copies: 10, plan: () => ({ name: 'every 6 months on the 31st', interval: month(6), firstBillingDate: '2027-12-31',
      dates: ['2027-12-31', '2028-06-30', '2028-12-31', '2029-06-30'] }) },
  { tag: 'h29feb29', copies: 10, plan: () => ({ name: 'every 6 months on the 29th', interval: month(6), firstBillingDate: '2028-02-29',
      dates: ['2028-02-29', '2028-08-29', '2029-02-28'] }) },
  { tag: 'w1', copies: 3, plan: (copy) => weekly(copy * 2, 1) },
  { tag: 'w2', copies: 4, plan: (copy) => weekly(copy * 2 + 1, 2) },
  { tag: 'yfeb29', copies: 20, plan: () => ({ name: 'yearly on Feb 29', interval: year, firstBillingDate: '2028-02-29',
      dates: ['2028-02-29', '2029-02-28'] }) },
  { tag: 'yfeb28', copies: 10, plan: () => ({ name: 'yearly on Feb 28', interval: year, firstBillingDate: '2028-02-28',
      dates: ['2028-02-28', '2029-02-28'] }) },
  { tag: 'ymar1', copies: 10, plan: () => ({ name: 'yearly on Mar 1', interval: year, firstBillingDate: '2028-03-01',
      dates: ['2028-03-01', '2029-03-01'] }) },
  { tag: 'ydec31', copies: 10, plan: () => ({ name: 'yearly on Dec 31', interval: year, firstBillingDate: '2027-12-31',
      dates: ['2027-12-31', '2028-12-31', '2029-12-31'] }) },
  { tag: 'ydec1', copies: 10, plan: () => ({ name: 'yearly on Dec 1, due at once', interval: year, firstBillingDate: '2027-12-01',
      dates: ['2027-12-01', '2028-12-01', '2029-12-01'] }) },
  { tag: 'yjun30', copies: 10, plan: () => ({ name: 'yearly on Jun 30', interval: year, firstBillingDate: '2028-06-30',
      dates: ['2028-06-30', '2029-06-30'] }) },
  { tag: 'yjan31', copies: 10, plan: () => ({ name: 'yearly on Jan 31', interval: year, firstBillingDate: '2028-01-31',
      dates: ['2028-01-31', '2029-01-31'] }) },
  { tag: 'yaug31', copies: 10, plan: () => ({ name: 'yearly on Aug 31', interval: year, firstBillingDate: '2028-08-31',
      dates: ['2028-08-31', '2029-08-31'] }) },
  { tag: 'yapr30', copies: 10, plan: () => ({ name: 'yearly on Apr 30', interval: year, firstBillingDate: '2028-04-30',
      dates: ['2028-04-30', '2029-04-30'] }) },
  { tag: 'y2feb29', copies: 10, plan: () => ({ name: 'every 2 years on Feb 29', interval: { unit: 'year', count: 2 },
      firstBillingDate: '2028-02-29', dates: ['2028-02-29', '2030-02-28'] }) },
]; // prettier-ignore

/** A weekly plan starting on one of the first seven days (so on each weekday across copies). */
function weekly(offset: number, count: number): SimulatedPlan {
  const first = plusDays(FIRST_DAY, offset % 7);
  return {
    name: `every ${count} week(s) from ${first}`,
    interval: week(count),
    firstBillingDate: first,
    dates: everyDays(first, 7 * count),
  };
}

interface Simulated {
  readonly id: string;
  readonly plan: SimulatedPlan;
  readonly payType: PayType;
  readonly amount: number;
}

function isoToDate(iso: string): { year: number; month: number; day: number } {
  const [y, m, d] = iso.split('-').map(Number);
  return { year: y!, month: m!, day: d! };
}

describe('a year of billing across the leap February 2028', () => {
  let stack: LocalStack;
  const simulated: Simulated[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ startAt: kstAt(FIRST_DAY, '09:00') });
    for (const [index, { tag, copies, plan: planOf }] of PLANS.entries()) {
      for (let copy = 0; copy < copies; copy++) {
        const plan = planOf(copy);
        const payType: PayType = (copy + index) % 3 === 0 ? 'transfer' : 'card';
        const amount = payType === 'transfer' ? TRANSFER_AMOUNT : CARD_AMOUNT;
        const subscription = await seedSubscription(stack, {
          id: `${tag}c${copy}`,
          ...(payType === 'transfer' ? { account: 'success' } : { card: 'success' }),
          amount,
          interval: plan.interval,
          firstBillingDate: isoToDate(plan.firstBillingDate),
          ...(plan.anchorDay ? { anchorDay: plan.anchorDay } : {}),
        });
        simulated.push({ id: subscription.id, plan, payType, amount });
      }
    }
    const started = performance.now();
    await billEveryDay(stack, FIRST_DAY, LAST_DAY);
    console.log(
      `year simulation: ${simulated.length} subscriptions, ${stack.sandbox.admin.ledger().length} charges, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
  }, 600_000);

  afterAll(async () => {
    await stack.stop();
  });

  const billedDates = (sim: Simulated) => sim.plan.dates.slice(0, -1);

  test('the sandbox charged every subscription once per period, on its KST billing date at the first run after 10:00', () => {
    const byId = new Map<string, LedgerEntry[]>();
    for (const entry of stack.sandbox.admin.ledger()) {
      const id = entry.oid.split('-')[0]!;
      byId.set(id, [...(byId.get(id) ?? []), entry]);
    }
    const actual = Object.fromEntries(
      simulated.map((sim) => [sim.id, (byId.get(sim.id) ?? []).map(ledgerLine)]),
    );
    const expected = Object.fromEntries(
      simulated.map((sim) => [
        sim.id,
        billedDates(sim).map((date) => `${compact(date)} 100500 charged ${sim.id}-${compact(date)}-1`),
      ]),
    );

    expect(actual).toEqual(expected);
    expect([...byId.keys()].filter((id) => !simulated.some((sim) => sim.id === id))).toEqual([]);
  });

  test('every charge took the plan amount with the subscription pay type, monthly plans with the month guard', () => {
    const byOid = new Map(stack.sandbox.admin.ledger().map((entry) => [entry.oid, entry]));
    for (const sim of simulated) {
      for (const date of billedDates(sim)) {
        const entry = byOid.get(`${sim.id}-${compact(date)}-1`);
        const guard = sim.plan.interval.unit === 'month' ? isoToDate(date) : undefined;
        expect(entry, `${sim.plan.name}: ${date}`).toMatchObject({
          payType: sim.payType,
          amount: sim.amount,
          chargedAmount: sim.amount,
          payDate: compact(date),
          monthGuard: guard && { year: guard.year, month: guard.month },
        });
      }
    }
  });

  test('the payments table holds exactly one paid attempt per period, periods numbered without gaps', async () => {
    const payments = await allPayments(stack);
    const actual = payments
      .map((p) => `${p.oid} period ${p.period} attempt ${p.attempt} ${p.state} ${p.requestDate} ${p.amount}`)
      .sort();
    const expected = simulated
      .flatMap((sim) =>
        billedDates(sim).map(
          (date, period) =>
            `${sim.id}-${compact(date)}-1 period ${period} attempt 1 paid ${compact(date)} ${sim.amount}`,
        ),
      )
      .sort();

    expect(actual).toEqual(expected);
  });

  test('every subscription is active in the period after the last one paid, due on its next date at 10:00', async () => {
    for (const sim of simulated) {
      const subscription = await storedSubscription(stack, sim.id);
      const paid = billedDates(sim).length;
      expect(subscription, sim.plan.name).toMatchObject({
        status: 'active',
        currentPeriod: paid,
        lastPaidPeriod: paid - 1,
        attemptsMade: 0,
        inFlight: null,
        hold: null,
        nextChargeAt: kstAt(sim.plan.dates.at(-1)!, '10:00'),
      });
    }
  });

  test('the bus carried one payment.succeeded per paid attempt, and no failure or skipped period', () => {
    const events = busEvents(stack);
    const succeeded = events
      .filter((e) => e.type === 'payment.succeeded')
      .map((e) => e.oid)
      .sort();
    const charged = stack.sandbox.admin
      .ledger()
      .map((entry) => entry.oid)
      .sort();

    expect(succeeded).toEqual(charged);
    expect(events.filter((e) => e.type.startsWith('payment.') && e.type !== 'payment.succeeded')).toEqual([]);
    expect(events.filter((e) => e.type === 'subscription.activated')).toHaveLength(simulated.length);
    expect(events.filter((e) => e.type === 'subscription.periods_skipped')).toEqual([]);
  });
});
