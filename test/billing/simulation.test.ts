/**
 * Simulated years of billing in pure domain code: a fake "now" stepped day by day through each
 * day's charge times, a dispatcher that enqueues every due attempt twice (SQS delivers at least
 * once), and a charger that claims and settles. Expected billing dates come from an oracle written
 * with the platform's `Date`, independent of the domain's calendar arithmetic.
 */
import { describe, expect, test } from 'vitest';
import {
  allowedStatusTransitions,
  AttemptNotClaimableError,
  billingDate,
  cancel,
  claimAttempt,
  createSubscription,
  dueAttempt,
  formatCompactDate,
  IllegalTransitionError,
  isInstantInBankMaintenanceWindow,
  parseOid,
  releaseHold,
  replacePaymentMethod,
  settleAttempt,
  type AttemptOutcome,
  type AttemptRef,
  type DomainEvent,
  type NewSubscription,
  type PlanInterval,
  type Subscription,
  type TimeOfDay,
  type Transition,
} from '../../functions/billing/index.ts';
import { kst } from './factories.ts';

/** A small deterministic PRNG (mulberry32), so every run simulates the same customers. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const CHARGE_TIMES: readonly TimeOfDay[] = [
  { hour: 0, minute: 30 },
  { hour: 9, minute: 0 },
  { hour: 10, minute: 0 },
  { hour: 14, minute: 30 },
  { hour: 23, minute: 0 },
];

interface Customer {
  readonly input: NewSubscription;
  readonly signupAt: number;
}

/** The KST date of an instant, `YYYY-MM-DD`, computed with the platform's Date only. */
const kstIsoDate = (instant: number): string => new Date(instant + 9 * HOUR_MS).toISOString().slice(0, 10);

/** Oracle: period n's billing date, `YYYY-MM-DD`, from the first billing date and anchor. */
function oracleBillingDate(sub: Subscription, n: number): string {
  const { interval, firstBillingDate: first } = sub.schedule;
  const firstUtc = Date.UTC(first.year, first.month - 1, first.day);
  const lastDay = (year: number, monthZeroBased: number): number =>
    new Date(Date.UTC(year, monthZeroBased + 1, 0)).getUTCDate();
  switch (interval.unit) {
    case 'week':
      return new Date(firstUtc + n * 7 * interval.count * DAY_MS).toISOString().slice(0, 10);
    case 'month': {
      const months = first.month - 1 + n * interval.count;
      const year = first.year + Math.floor(months / 12);
      const month = months % 12;
      const day = Math.min(interval.anchorDay, lastDay(year, month));
      return new Date(Date.UTC(year, month, day)).toISOString().slice(0, 10);
    }
    case 'year': {
      const year = first.year + n * interval.count;
      const day = Math.min(interval.anchorDay, lastDay(year, interval.anchorMonth - 1));
      return new Date(Date.UTC(year, interval.anchorMonth - 1, day)).toISOString().slice(0, 10);
    }
  }
}

const oracleChargeInstant = (sub: Subscription, n: number): number => {
  const { hour, minute } = sub.chargeTimeOfDay;
  const hh = String(hour).padStart(2, '0');
  const mm = String(minute).padStart(2, '0');
  return Date.parse(`${oracleBillingDate(sub, n)}T${hh}:${mm}:00+09:00`);
};

/** A few hundred customers: mixed intervals, month-end anchors, a leap February ahead. */
function customers(count: number, seed: number, from: string, days: number): Customer[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const start = kst(`${from} 00:00`);
  return Array.from({ length: count }, (_, i) => {
    const interval: PlanInterval = pick<PlanInterval>([
      { unit: 'month', count: 1 },
      { unit: 'month', count: 1 },
      { unit: 'month', count: 1 },
      { unit: 'month', count: 2 },
      { unit: 'month', count: 3 },
      { unit: 'week', count: 1 },
      { unit: 'week', count: 2 },
      { unit: 'year', count: 1 },
    ]);
    // Most sign-ups fall on days 28-31 (and Feb 29, 2028 is in range); between 01:00 and 23:00 KST.
    let signupDay = Math.floor(next() * days);
    if (next() < 0.7) {
      const candidate = kstIsoDate(start + signupDay * DAY_MS);
      const day = Number(candidate.slice(8, 10));
      if (day < 28) signupDay += 28 - day + Math.floor(next() * 4);
    }
    const signupAt = start + signupDay * DAY_MS + HOUR_MS + Math.floor(next() * 22 * HOUR_MS);
    const input: NewSubscription = {
      id: `sim${String(i).padStart(4, '0')}`,
      customer: { id: `cus${i}`, name: '고객' },
      plan: { id: `plan-${interval.unit}-${interval.count}`, goodsName: 'Plan', amount: 1_000 + i, interval },
      payType: pick(['card', 'transfer'] as const),
      billingKeyRef: `KEY-${i}`,
      chargeTimeOfDay: pick(CHARGE_TIMES),
    };
    return { input, signupAt };
  });
}

/** Every instant the fake clock stops at: each day's charge times and each sign-up. */
function ticks(from: string, days: number, signups: readonly number[]): number[] {
  const start = kst(`${from} 00:00`);
  const daily = Array.from({ length: days }, (_, d) =>
    CHARGE_TIMES.map((t) => start + d * DAY_MS + (t.hour * 60 + t.minute) * 60_000),
  ).flat();
  return [...new Set([...daily, ...signups])].sort((a, b) => a - b);
}

interface Charge {
  readonly oid: string;
  readonly period: number;
  readonly at: number;
}

/** Applies a transition after checking the invariants every transition must keep. */
function applied(
  before: Subscription | undefined,
  transition: Transition,
  events: DomainEvent[],
): Subscription {
  const after = transition.subscription;
  if (before !== undefined && after !== before) {
    expect(after.version).toBe(before.version + 1);
    expect(allowedStatusTransitions[before.status]).toContain(after.status);
  }
  for (const event of transition.events) expect(event.sequence).toBe(after.version);
  if (after.inFlight !== null) expect(after.nextChargeAt).toBeNull();
  if (after.status === 'canceled' || after.status === 'paused') expect(after.nextChargeAt).toBeNull();
  if (after.nextChargeAt !== null && after.nextChargeAt !== before?.nextChargeAt) {
    expect(isInstantInBankMaintenanceWindow(after.nextChargeAt)).toBe(false);
  }
  events.push(...transition.events);
  return after;
}

/** The dispatcher sends the message twice; exactly one claim may win. */
function claimTwice(sub: Subscription, ref: AttemptRef, now: number): ReturnType<typeof claimAttempt> {
  const first = claimAttempt(sub, ref, now);
  expect(() => claimAttempt(first.subscription, ref, now)).toThrow(AttemptNotClaimableError);
  return first;
}

/** Customers whose dates the random ones may miss: a leap day and month ends around it. */
function fixedCustomers(): Customer[] {
  const base = (id: string, interval: PlanInterval): NewSubscription => ({
    id,
    customer: { id: `cus-${id}`, name: '고객' },
    plan: { id: 'fixed', goodsName: 'Plan', amount: 12_000, interval },
    payType: 'card',
    billingKeyRef: `KEY-${id}`,
  });
  return [
    { input: base('leapYearly', { unit: 'year', count: 1 }), signupAt: kst('2028-02-29 15:00') },
    { input: base('jan31Monthly', { unit: 'month', count: 1 }), signupAt: kst('2028-01-31 08:00') },
    { input: base('dec30Monthly', { unit: 'month', count: 1 }), signupAt: kst('2027-12-30 11:00') },
    { input: base('nov29Bimonthly', { unit: 'month', count: 2 }), signupAt: kst('2027-11-29 10:30') },
  ];
}

describe('simulated years of billing', () => {
  test('every subscription is charged exactly once per period, on its KST billing date, when every charge succeeds', () => {
    const FROM = '2027-06-01';
    const DAYS = 1_100; // through 2030-06: the leap February 2028 and two common ones after it
    const people = [...customers(300, 20270601, FROM, 300), ...fixedCustomers()];
    const clock = ticks(
      FROM,
      DAYS,
      people.map((c) => c.signupAt),
    );
    const subs = new Map<string, Subscription>();
    const charges = new Map<string, Charge[]>();
    const events: DomainEvent[] = [];
    const waiting = [...people].sort((a, b) => a.signupAt - b.signupAt);

    for (const now of clock) {
      while (waiting.length > 0 && waiting[0]!.signupAt <= now) {
        const person = waiting.shift()!;
        subs.set(
          person.input.id,
          applied(undefined, createSubscription(person.input, person.signupAt), events),
        );
        charges.set(person.input.id, []);
      }
      for (const [id, sub] of subs) {
        const ref = dueAttempt(sub, now);
        if (ref === undefined) continue;
        const claimed = claimTwice(sub, ref, now);
        const inFlight = applied(sub, claimed, events);
        const paid = applied(inFlight, settleAttempt(inFlight, ref, { kind: 'paid' }, now), events);
        subs.set(id, paid);
        charges.get(id)!.push({ oid: claimed.charge.oid, period: ref.period, at: now });
      }
    }
    const end = clock.at(-1)!;

    expect(subs.size).toBe(people.length);
    for (const [id, sub] of subs) {
      const made = charges.get(id)!;
      const signupAt = people.find((c) => c.input.id === id)!.signupAt;
      const expectedPeriods = [0];
      for (let n = 1; oracleChargeInstant(sub, n) <= end; n++) expectedPeriods.push(n);

      expect(made.map((c) => c.period)).toEqual(expectedPeriods);
      for (const charge of made) {
        const date = oracleBillingDate(sub, charge.period);
        expect(kstIsoDate(charge.at)).toBe(date);
        expect(charge.at).toBe(charge.period === 0 ? signupAt : oracleChargeInstant(sub, charge.period));
        expect(charge.oid).toBe(`${id}-${date.replaceAll('-', '')}-1`);
        expect(formatCompactDate(billingDate(sub.schedule, charge.period))).toBe(date.replaceAll('-', ''));
      }
      if (sub.schedule.interval.unit === 'month' && sub.schedule.interval.count === 1) {
        const months = made.map((c) => kstIsoDate(c.at).slice(0, 7));
        expect(new Set(months).size).toBe(months.length);
      }
      expect(sub).toMatchObject({ status: 'active', attemptsMade: 0, inFlight: null });
    }
    // The year exercised what it should: a leap-day charge and month-end anchors clamped and restored.
    const allOids = [...charges.values()].flat().map((c) => c.oid);
    expect(allOids.some((oid) => oid.includes('-20280229-'))).toBe(true);
    expect(allOids.some((oid) => oid.includes('-20281130-'))).toBe(true);
    expect(new Set(allOids).size).toBe(allOids.length);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const datesOf = (id: string): string[] => charges.get(id)!.map((c) => kstIsoDate(c.at));
    expect(datesOf('leapYearly')).toEqual(['2028-02-29', '2029-02-28', '2030-02-28']);
    expect(datesOf('jan31Monthly').slice(0, 5)).toEqual([
      '2028-01-31',
      '2028-02-29',
      '2028-03-31',
      '2028-04-30',
      '2028-05-31',
    ]);
    expect(datesOf('dec30Monthly').slice(0, 4)).toEqual([
      '2027-12-30',
      '2028-01-30',
      '2028-02-29',
      '2028-03-30',
    ]);
    expect(datesOf('nov29Bimonthly').slice(0, 3)).toEqual(['2027-11-29', '2028-01-29', '2028-03-29']);
    const monthEnd = [...subs.values()].filter(
      (s) => s.schedule.interval.unit === 'month' && s.schedule.interval.anchorDay >= 28,
    );
    expect(monthEnd.length).toBeGreaterThan(100);
  });

  test('with declines, unknown outcomes, hard declines and holds, no OID repeats and no period is paid twice', () => {
    const FROM = '2027-06-01';
    const DAYS = 400;
    const people = customers(200, 777, FROM, 200);
    const clock = ticks(
      FROM,
      DAYS,
      people.map((c) => c.signupAt),
    );
    const next = random(4242);
    const subs = new Map<string, Subscription>();
    const events: DomainEvent[] = [];
    const usedOids = new Set<string>();
    const paidPeriods = new Map<string, number[]>();
    /** Things that happen later: the reconciler settling unknowns, customers replacing keys, operators. */
    const later: { at: number; id: string; run: (sub: Subscription, now: number) => Transition }[] = [];
    const waiting = [...people].sort((a, b) => a.signupAt - b.signupAt);

    const settle = (
      id: string,
      sub: Subscription,
      ref: AttemptRef,
      outcome: AttemptOutcome,
      now: number,
    ): void => {
      const after = applied(sub, settleAttempt(sub, ref, outcome, now), events);
      subs.set(id, after);
      if (after.lastPaidPeriod !== sub.lastPaidPeriod) paidPeriods.get(id)!.push(after.lastPaidPeriod!);
    };

    for (const now of clock) {
      while (waiting.length > 0 && waiting[0]!.signupAt <= now) {
        const person = waiting.shift()!;
        subs.set(
          person.input.id,
          applied(undefined, createSubscription(person.input, person.signupAt), events),
        );
        paidPeriods.set(person.input.id, []);
      }
      for (let i = later.length - 1; i >= 0; i--) {
        const job = later[i]!;
        if (job.at > now) continue;
        later.splice(i, 1);
        const sub = subs.get(job.id)!;
        try {
          const transition = job.run(sub, now);
          const after = applied(sub, transition, events);
          if (after.lastPaidPeriod !== sub.lastPaidPeriod)
            paidPeriods.get(job.id)!.push(after.lastPaidPeriod!);
          subs.set(job.id, after);
        } catch (error) {
          // A customer re-keying or an operator releasing a subscription canceled meanwhile.
          if (!(error instanceof IllegalTransitionError)) throw error;
        }
      }
      for (const [id, sub] of subs) {
        const ref = dueAttempt(sub, now);
        if (ref === undefined) continue;
        const claimed = claimTwice(sub, ref, now);
        expect(usedOids.has(claimed.charge.oid)).toBe(false);
        usedOids.add(claimed.charge.oid);
        expect(parseOid(claimed.charge.oid)).toMatchObject({ subscriptionId: id, attempt: ref.attempt });
        const inFlight = applied(sub, claimed, events);
        subs.set(id, inFlight);
        const roll = next();
        if (roll < 0.6) settle(id, inFlight, ref, { kind: 'paid' }, now);
        else if (roll < 0.8) settle(id, inFlight, ref, { kind: 'soft_declined' }, now);
        else if (roll < 0.85) {
          settle(id, inFlight, ref, { kind: 'hard_declined' }, now);
          later.push({
            at: now + Math.floor(next() * 10) * DAY_MS + HOUR_MS,
            id,
            run: (s, t) => replacePaymentMethod(s, { payType: 'card', billingKeyRef: `NEW-${t}` }, t),
          });
        } else if (roll < 0.88) {
          settle(id, inFlight, ref, { kind: 'config_error', code: 'AUTH0004' }, now);
          later.push({ at: now + DAY_MS, id, run: (s, t) => releaseHold(s, t) });
        } else {
          settle(id, inFlight, ref, { kind: 'unknown' }, now);
          const resolution = next();
          const outcome: AttemptOutcome =
            resolution < 0.5
              ? { kind: 'paid', resolvedBy: 'result_lookup' }
              : resolution < 0.8
                ? { kind: 'not_charged', resolvedBy: 'result_lookup' }
                : { kind: 'soft_declined', resolvedBy: 'webhook' };
          later.push({ at: now + 2 * HOUR_MS, id, run: (s, t) => settleAttempt(s, ref, outcome, t) });
          if (next() < 0.1) {
            later.push({
              at: now + HOUR_MS,
              id,
              run: (s, t) => cancel(s, { reason: 'requested_by_customer' }, t),
            });
          }
        }
      }
    }

    for (const [id, periods] of paidPeriods) {
      // Strictly increasing: no period is ever paid twice, and billing only moves forward.
      expect(periods.every((p, i) => i === 0 || p > periods[i - 1]!)).toBe(true);
      const sub = subs.get(id)!;
      expect(sub.attemptsMade).toBeLessThanOrEqual(20);
    }
    const statuses = new Set([...subs.values()].map((s) => s.status));
    for (const status of ['active', 'past_due', 'canceled'] as const) expect(statuses).toContain(status);
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'payment.settled',
      'subscription.recovered',
      'subscription.held',
      'subscription.payment_method_required',
    ] as const) {
      expect(types).toContain(type);
    }
    const uniqueIds = new Set(events.map((e) => e.id));
    expect(uniqueIds.size).toBe(events.length);
  });
});
