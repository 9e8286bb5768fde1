/**
 * Subscriptions and their transitions. Every function here is pure: it takes the subscription, the
 * command or outcome and the instant (`now`, epoch ms; the domain never reads a clock) and returns
 * the next subscription with the events to publish, or throws an `IllegalTransitionError`. The
 * store persists the result with one conditional write on the previous `version`.
 *
 * The charge cycle of a period:
 * 1. `nextChargeAt` says when the next attempt (number `attemptsMade + 1`) of `currentPeriod` is
 *    due; `null` means nothing will be charged automatically (paused, canceled, on hold, waiting for
 *    a new billing key, unpaid, or an attempt in flight).
 * 2. `claimAttempt` marks that attempt in flight (its OID is used from then on, whatever happens).
 *    Nothing else can be claimed until `settleAttempt` clears it with a definite outcome; an
 *    `unknown` outcome leaves it in flight, so the period stays blocked until the reconciler or a
 *    webhook settles it.
 * 3. Every new attempt takes the next number: an attempt number, and so an OID, is never used twice.
 *
 * Catching up: a subscription is never billed more than one period in arrears. When an overdue
 * period is finally paid (or a paused subscription resumes), billing continues with the period the
 * subscription is in at that instant (`periodIndexDueAt`), charged at once when its date has passed;
 * whole periods in between are skipped (never billed) and reported as `subscription.periods_skipped`.
 * Charging a customer for months at once after a long hold or a card replacement surprises them
 * (and invites chargebacks); a merchant who wants that revenue bills it deliberately.
 *
 * Cancellation: `cancel` stops all charges at once in both of its forms; they differ in how long the
 * customer keeps the service (`serviceEndsAt`): to the end of the last paid period (`period_end`,
 * the default: they paid for it), or from now (`immediately`; a refund of the unused part is the
 * merchant's separate decision, see `unusedAmount`). An attempt already in flight when a
 * subscription is canceled is still settled (its money is real); nothing new is ever scheduled.
 */
import {
  AttemptInFlightError,
  AttemptNotClaimableError,
  AttemptNotInFlightError,
  IllegalTransitionError,
  InvalidRefundError,
  InvalidSubscriptionError,
} from './errors.ts';
import type { ClaimRefusal, SubscriptionAction } from './errors.ts';
import { assertSubscriptionId, oidFor, type AttemptRef } from './attempt.ts';
import {
  assertChargeTimeOfDay,
  billingDate,
  billingSchedule,
  chargeInstant,
  DEFAULT_CHARGE_TIME_OF_DAY,
  earliestChargeInstant,
  isInstantInBankMaintenanceWindow,
  MAX_INTERVAL_COUNT,
  monthGuardFor,
  periodCoverage,
  periodIndexDueAt,
  periodKey,
  type BillingInterval,
  type BillingSchedule,
  type PeriodKey,
  type PlanInterval,
} from './calendar.ts';
import {
  DEFAULT_DUNNING_POLICY,
  NO_DUNNING,
  retryInstant,
  type DunningPolicy,
  type DunningState,
} from './dunning.ts';
import {
  domainEvent,
  type CancellationEffect,
  type CancellationReason,
  type DeclineClass,
  type DomainEvent,
  type DomainEventOf,
  type DomainEventPayloads,
  type DomainEventType,
  type PaymentFacts,
  type PayType,
  type ResolvedBy,
} from './events.ts';
import { compareDates, formatIsoDate, kstDateOf, type CalendarDate, type TimeOfDay } from './kst.ts';
import { BILLABLE_STATUSES, type PaymentMethodProblem, type SubscriptionStatus } from './status.ts';

export type { PayType } from './events.ts';

/**
 * The paying customer. `name`, `phone` and `email` are personal data (PII): they go to Payple as
 * `PCD_PAYER_NAME`/`_HP`/`_EMAIL` and nowhere else: never in events, logs or error messages.
 */
export interface Customer {
  readonly id: string;
  /** PII. */
  readonly name: string;
  /** PII. Digits only, as Payple takes it. */
  readonly phone?: string;
  /** PII. */
  readonly email?: string;
}

/** What is sold, as the subscription took it out (a snapshot: later plan edits do not apply). */
export interface Plan {
  readonly id: string;
  /** `PCD_PAY_GOODS`. */
  readonly goodsName: string;
  /** Whole KRW per period. */
  readonly amount: number;
  readonly interval: PlanInterval;
}

/** The billing key a subscription charges, and whether it still works. */
export type PaymentMethod = {
  readonly payType: PayType;
  /**
   * Where the billing key (`PCD_PAYER_ID`) is, or the key itself if the store keeps it inline.
   * Secret: never in events, logs or error messages.
   */
  readonly billingKeyRef: string;
  /** 1 for the key the subscription started with, +1 per replacement (attempts record it). */
  readonly revision: number;
} & (
  | { readonly status: 'valid' }
  | { readonly status: 'needs_replacement'; readonly problem: PaymentMethodProblem; readonly since: number }
);

/** The attempt the charger claimed and whose outcome is not settled yet. */
export interface InFlightAttempt extends AttemptRef {
  readonly oid: string;
  readonly periodKey: PeriodKey;
  readonly amount: number;
  readonly payType: PayType;
  /** When it was claimed: its KST date is the Payple request date the reconciler looks up with. */
  readonly claimedAt: number;
  readonly paymentMethodRevision: number;
}

/** Automatic charges stopped because Payple refused our configuration (not the customer's fault). */
export interface Hold {
  readonly reason: 'config_error';
  readonly since: number;
  /** The attempt that hit the error. */
  readonly period: number;
  readonly attempt: number;
  readonly code: string | null;
}

export interface Cancellation {
  readonly reason: CancellationReason;
  readonly effect: CancellationEffect;
  readonly at: number;
  readonly serviceEndsAt: number;
}

export interface Subscription {
  /** `[A-Za-z0-9]{1,40}`: part of every OID. */
  readonly id: string;
  /** Starts at 1, +1 on every change; the store's conditional writes and events' `sequence` use it. */
  readonly version: number;
  readonly status: SubscriptionStatus;
  readonly customer: Customer;
  readonly plan: Plan;
  /** The plan's interval anchored on this subscription's dates. */
  readonly schedule: BillingSchedule;
  /** KST time of day its charges are due (outside 23:30-00:30). */
  readonly chargeTimeOfDay: TimeOfDay;
  readonly paymentMethod: PaymentMethod;
  /** The first period not yet paid (or skipped). */
  readonly currentPeriod: number;
  /** Attempts claimed for `currentPeriod` so far; the next one is number `attemptsMade + 1`. */
  readonly attemptsMade: number;
  readonly dunning: DunningState;
  /** When the next attempt is due; `null`: nothing is charged automatically. The due index's key. */
  readonly nextChargeAt: number | null;
  readonly inFlight: InFlightAttempt | null;
  readonly hold: Hold | null;
  readonly lastPaidPeriod: number | null;
  readonly pausedAt: number | null;
  readonly cancellation: Cancellation | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A transition's result: the subscription to store and the events to publish after storing it. */
export interface Transition {
  readonly subscription: Subscription;
  readonly events: readonly DomainEvent[];
}

/**
 * Payple's amount limits (PAYPLE.md): card at least 100 KRW, transfer 1,000-2,000,000 KRW per
 * transaction. A subscription that could never be charged is refused when it is created.
 */
export const AMOUNT_LIMITS: Readonly<Record<PayType, { readonly min: number; readonly max: number }>> = {
  card: { min: 100, max: Number.MAX_SAFE_INTEGER },
  transfer: { min: 1_000, max: 2_000_000 },
};

function fail(sub: Subscription, action: SubscriptionAction, detail: string): never {
  throw new IllegalTransitionError(sub.id, sub.status, action, detail);
}

function changed(sub: Subscription, changes: Partial<Subscription>, now: number): Subscription {
  return { ...sub, ...changes, version: sub.version + 1, updatedAt: now };
}

/** One event about `sub` (the subscription after the change). */
function emit<T extends DomainEventType>(
  sub: Subscription,
  type: T,
  payload: DomainEventPayloads[T],
  now: number,
): DomainEventOf<T> {
  return domainEvent(sub, type, payload, now);
}

function assertAmount(amount: number, payType: PayType): void {
  const limits = AMOUNT_LIMITS[payType];
  if (!Number.isSafeInteger(amount) || amount < limits.min || amount > limits.max) {
    throw new InvalidSubscriptionError(
      'plan.amount',
      `${payType} amounts are whole KRW ${limits.min}-${limits.max}; got ${amount}`,
    );
  }
}

function assertText(field: string, value: string, max = 255): void {
  if (value.trim() === '' || value.length > max) {
    throw new InvalidSubscriptionError(field, `${field} must be 1-${max} characters`);
  }
}

// ---------------------------------------------------------------------------------------------
// Creation and queries

export interface NewSubscription {
  readonly id: string;
  readonly customer: Customer;
  readonly plan: Plan;
  readonly payType: PayType;
  readonly billingKeyRef: string;
  /** Period 0's date; today (KST) by default, never earlier. Period 0 is due at once when it is today. */
  readonly firstBillingDate?: CalendarDate;
  /** Monthly and yearly anchor day; default the first billing date's day (e.g. 31 with a 30th start). */
  readonly anchorDay?: number;
  /** Yearly anchor month; default the first billing date's month. */
  readonly anchorMonth?: number;
  /** Default 10:00 KST; rejected inside 23:30-00:30 KST. */
  readonly chargeTimeOfDay?: TimeOfDay;
}

/** The plan's interval anchored as `input` asks (see `NewSubscription`). */
function anchorInterval(input: NewSubscription, first: CalendarDate): BillingInterval {
  const { unit, count } = input.plan.interval;
  switch (unit) {
    case 'month':
      return { unit, count, anchorDay: input.anchorDay ?? first.day };
    case 'week':
      return { unit, count };
    case 'year':
      return {
        unit,
        count,
        anchorMonth: input.anchorMonth ?? first.month,
        anchorDay: input.anchorDay ?? first.day,
      };
  }
}

/**
 * A new subscription, `incomplete` until period 0 is paid: period 0 is due at once when its billing
 * date is today (the usual checkout), else at its charge instant. Emits `subscription.created`.
 */
export function createSubscription(input: NewSubscription, now: number): Transition {
  assertSubscriptionId(input.id);
  assertText('customer.id', input.customer.id);
  assertText('customer.name', input.customer.name);
  assertText('plan.id', input.plan.id);
  assertText('plan.goodsName', input.plan.goodsName);
  assertText('billingKeyRef', input.billingKeyRef, 1000);
  assertAmount(input.plan.amount, input.payType);
  if (!(input.plan.interval.unit in MAX_INTERVAL_COUNT)) {
    throw new InvalidSubscriptionError('plan.interval.unit', 'unit must be month, week or year');
  }
  const today = kstDateOf(now);
  const first = input.firstBillingDate ?? today;
  if (compareDates(first, today) < 0) {
    throw new InvalidSubscriptionError(
      'firstBillingDate',
      `first billing date ${formatIsoDate(first)} is in the past`,
    );
  }
  const schedule = billingSchedule(anchorInterval(input, first), first);
  const time = assertChargeTimeOfDay(input.chargeTimeOfDay ?? DEFAULT_CHARGE_TIME_OF_DAY);
  const firstChargeAt =
    compareDates(first, today) === 0 ? earliestChargeInstant(now) : chargeInstant(schedule, 0, time);
  const subscription: Subscription = {
    id: input.id,
    version: 1,
    status: 'incomplete',
    customer: input.customer,
    plan: input.plan,
    schedule,
    chargeTimeOfDay: time,
    paymentMethod: {
      payType: input.payType,
      billingKeyRef: input.billingKeyRef,
      revision: 1,
      status: 'valid',
    },
    currentPeriod: 0,
    attemptsMade: 0,
    dunning: NO_DUNNING,
    nextChargeAt: firstChargeAt,
    inFlight: null,
    hold: null,
    lastPaidPeriod: null,
    pausedAt: null,
    cancellation: null,
    createdAt: now,
    updatedAt: now,
  };
  const event = emit(
    subscription,
    'subscription.created',
    {
      amount: input.plan.amount,
      interval: schedule.interval,
      firstBillingDate: formatIsoDate(first),
      firstChargeAt,
    },
    now,
  );
  return { subscription, events: [event] };
}

/** The attempt the dispatcher should enqueue (scheduled, maybe not yet due), or `undefined`. */
export function scheduledAttempt(sub: Subscription): (AttemptRef & { readonly dueAt: number }) | undefined {
  if (sub.nextChargeAt === null || sub.inFlight !== null || sub.hold !== null) return undefined;
  if (!BILLABLE_STATUSES.includes(sub.status)) return undefined;
  return { period: sub.currentPeriod, attempt: sub.attemptsMade + 1, dueAt: sub.nextChargeAt };
}

/** The attempt that may be claimed at `now`, or `undefined` (nothing due, or the maintenance window). */
export function dueAttempt(sub: Subscription, now: number): AttemptRef | undefined {
  const scheduled = scheduledAttempt(sub);
  if (scheduled === undefined || scheduled.dueAt > now || isInstantInBankMaintenanceWindow(now))
    return undefined;
  return { period: scheduled.period, attempt: scheduled.attempt };
}

/** The OID of an attempt of this subscription. */
export function attemptOid(sub: Subscription, ref: AttemptRef): string {
  return oidFor(sub.id, periodKey(sub.schedule, ref.period), ref.attempt);
}

/** Identifiers and states safe to log: no PII, no billing key. */
export function subscriptionLogFields(sub: Subscription): Record<string, string | number | null> {
  return {
    subscriptionId: sub.id,
    version: sub.version,
    status: sub.status,
    customerId: sub.customer.id,
    planId: sub.plan.id,
    currentPeriod: sub.currentPeriod,
    attemptsMade: sub.attemptsMade,
    nextChargeAt: sub.nextChargeAt,
    inFlightOid: sub.inFlight?.oid ?? null,
    hold: sub.hold?.reason ?? null,
    paymentMethodStatus: sub.paymentMethod.status,
  };
}

// ---------------------------------------------------------------------------------------------
// Claiming and settling attempts

/** Everything the charger sends to Payple for a claimed attempt. */
export interface ChargeRequest {
  readonly subscriptionId: string;
  readonly oid: string;
  readonly period: number;
  readonly periodKey: PeriodKey;
  readonly attempt: number;
  readonly payType: PayType;
  /** Secret: never log. */
  readonly billingKeyRef: string;
  readonly amount: number;
  readonly goodsName: string;
  /** Payple's month guard for monthly schedules (`PCD_REGULER_FLAG`): a second line of defence. */
  readonly monthGuard: { readonly year: number; readonly month: number } | undefined;
}

export interface ClaimedAttempt extends Transition {
  readonly charge: ChargeRequest;
}

/**
 * Marks attempt `ref` in flight. Succeeds only when the subscription is due at `now` for exactly
 * that period and attempt and has nothing in flight; otherwise `AttemptNotClaimableError` (with a
 * `reason`), which the charger acknowledges as a no-op: a duplicate or stale queue message, or a
 * race another charger won. No events: the payment item records the attempt.
 */
export function claimAttempt(sub: Subscription, ref: AttemptRef, now: number): ClaimedAttempt {
  const refuse = (reason: ClaimRefusal, detail: string): never => {
    throw new AttemptNotClaimableError(sub.id, sub.status, reason, detail);
  };
  if (sub.inFlight !== null) refuse('attempt_in_flight', `${sub.inFlight.oid} is in flight`);
  const scheduled = scheduledAttempt(sub);
  if (scheduled === undefined) return refuse('not_scheduled', 'no attempt is scheduled');
  if (scheduled.period !== ref.period || scheduled.attempt !== ref.attempt) {
    refuse(
      'different_attempt',
      `asked for period ${ref.period} attempt ${ref.attempt}, due is period ${scheduled.period} attempt ${scheduled.attempt}`,
    );
  }
  if (scheduled.dueAt > now) refuse('not_yet_due', `due at ${scheduled.dueAt}`);
  if (isInstantInBankMaintenanceWindow(now)) refuse('maintenance_window', 'inside 23:30-00:30 KST');

  const key = periodKey(sub.schedule, ref.period);
  const oid = oidFor(sub.id, key, ref.attempt);
  const inFlight: InFlightAttempt = {
    period: ref.period,
    attempt: ref.attempt,
    oid,
    periodKey: key,
    amount: sub.plan.amount,
    payType: sub.paymentMethod.payType,
    claimedAt: now,
    paymentMethodRevision: sub.paymentMethod.revision,
  };
  const subscription = changed(sub, { inFlight, attemptsMade: ref.attempt, nextChargeAt: null }, now);
  return {
    subscription,
    events: [],
    charge: {
      subscriptionId: sub.id,
      oid,
      period: ref.period,
      periodKey: key,
      attempt: ref.attempt,
      payType: sub.paymentMethod.payType,
      billingKeyRef: sub.paymentMethod.billingKeyRef,
      amount: sub.plan.amount,
      goodsName: sub.plan.goodsName,
      monthGuard: monthGuardFor(sub.schedule, ref.period),
    },
  };
}

/**
 * The definite or unknown outcome of an attempt. `resolvedBy` (default `charge_answer`) says how it
 * became known; anything but the charge answer also emits `payment.settled`.
 */
export type AttemptOutcome =
  | { readonly kind: 'paid'; readonly resolvedBy?: ResolvedBy }
  | { readonly kind: 'soft_declined'; readonly resolvedBy?: ResolvedBy; readonly code?: string }
  | {
      readonly kind: 'hard_declined';
      readonly resolvedBy?: ResolvedBy;
      readonly code?: string;
      /** Default `declined_hard`; `key_terminated` when Payple says the billing key is gone. */
      readonly problem?: PaymentMethodProblem;
    }
  | { readonly kind: 'config_error'; readonly resolvedBy?: ResolvedBy; readonly code?: string }
  /** A lookup found that Payple never charged the attempt: a new attempt is due at once. */
  | { readonly kind: 'not_charged'; readonly resolvedBy: Exclude<ResolvedBy, 'charge_answer'> }
  /** Money may or may not have moved: nothing changes, the period stays blocked. */
  | { readonly kind: 'unknown' };

export type AttemptOutcomeKind = AttemptOutcome['kind'];

/** The Payple client's classification of a charge or lookup answer (functions/payple `OutcomeKind`). */
export type ChargeClassification =
  | 'success'
  | 'soft_decline'
  | 'hard_decline'
  | 'config_error'
  | 'token_expired'
  | 'duplicate_oid'
  | 'unknown';

/**
 * What a classification means for the attempt. `token_expired` is not an outcome: authenticate
 * again and resend the same OID. `duplicate_oid` is `unknown`: Payple refuses a repeated OID also
 * while the first request is still processing, and the refusal does not say how that ended.
 */
export function outcomeKindFor(
  classification: ChargeClassification,
): Exclude<AttemptOutcomeKind, 'not_charged'> | 'resend_same_oid' {
  switch (classification) {
    case 'success':
      return 'paid';
    case 'soft_decline':
      return 'soft_declined';
    case 'hard_decline':
      return 'hard_declined';
    case 'config_error':
      return 'config_error';
    case 'token_expired':
      return 'resend_same_oid';
    case 'duplicate_oid':
    case 'unknown':
      return 'unknown';
  }
}

function paymentFacts(inFlight: InFlightAttempt): PaymentFacts {
  return {
    oid: inFlight.oid,
    period: inFlight.period,
    periodKey: inFlight.periodKey,
    attempt: inFlight.attempt,
    amount: inFlight.amount,
    payType: inFlight.payType,
  };
}

/** When `period` should be charged: its charge instant, or at once when that has passed. */
function chargeAtOrNow(sub: Subscription, period: number, now: number): number {
  const scheduled = chargeInstant(sub.schedule, period, sub.chargeTimeOfDay);
  return scheduled > now ? scheduled : earliestChargeInstant(now);
}

/**
 * The period to bill next: `from` (the first period not paid), or the period the subscription is in
 * at `now` when that is later (see "Catching up").
 */
function catchUpTarget(sub: Subscription, from: number, now: number): number {
  return Math.max(from, periodIndexDueAt(sub.schedule, now, sub.chargeTimeOfDay) ?? 0);
}

/**
 * Applies the outcome of the attempt in flight. Refused with `AttemptNotInFlightError` unless `ref`
 * is the attempt in flight (a late webhook or a second reconciler run for a settled attempt).
 *
 * - `paid`: the next period is scheduled (see "Catching up"); attempt and retries reset; `active`.
 * - `soft_declined`: `past_due`, the next retry of `policy` scheduled as a new attempt; when the
 *   policy is exhausted, `unpaid` (nothing more is charged automatically).
 * - `hard_declined`: `past_due`, payment method `needs_replacement`; nothing is charged until a new
 *   billing key arrives (`replacePaymentMethod`).
 * - `config_error`: `hold`; status and retries unchanged; nothing is charged until `releaseHold`.
 * - `not_charged`: a new attempt of the same period is due at once; no retry used.
 * - `unknown`: nothing changes (same version); emits `payment.unknown`.
 * A first payment (`incomplete`) that is declined cancels the subscription (`first_payment_failed`)
 * instead of entering dunning: the customer is at the checkout and can try another card. A decline
 * of a billing key the customer replaced while the attempt was in flight says nothing about the new
 * key: a new attempt with the new key is due at once, status and retries unchanged.
 */
export function settleAttempt(
  sub: Subscription,
  ref: AttemptRef,
  outcome: AttemptOutcome,
  now: number,
  policy: DunningPolicy = DEFAULT_DUNNING_POLICY,
): Transition {
  const inFlight = sub.inFlight;
  if (inFlight === null || inFlight.period !== ref.period || inFlight.attempt !== ref.attempt) {
    throw new AttemptNotInFlightError(
      sub.id,
      sub.status,
      `period ${ref.period} attempt ${ref.attempt} is not in flight (${inFlight?.oid ?? 'nothing is'})`,
    );
  }
  const facts = paymentFacts(inFlight);
  if (outcome.kind === 'unknown') {
    return { subscription: sub, events: [emit(sub, 'payment.unknown', facts, now)] };
  }
  const resolvedBy = outcome.resolvedBy ?? 'charge_answer';
  const settledEvent = (next: Subscription, result: 'paid' | 'declined' | 'not_charged'): DomainEvent[] =>
    resolvedBy === 'charge_answer'
      ? []
      : [emit(next, 'payment.settled', { ...facts, result, resolvedBy }, now)];
  const cleared: Partial<Subscription> = { inFlight: null };

  if (outcome.kind === 'not_charged') {
    const next = changed(
      sub,
      { ...cleared, nextChargeAt: sub.status === 'canceled' ? null : earliestChargeInstant(now) },
      now,
    );
    return { subscription: next, events: settledEvent(next, 'not_charged') };
  }

  if (outcome.kind === 'paid') return settlePaid(sub, inFlight, now, settledEvent);

  const declineClass: DeclineClass =
    outcome.kind === 'soft_declined' ? 'soft' : outcome.kind === 'hard_declined' ? 'hard' : 'config';
  const code = outcome.code ?? null;
  const failed = (next: Subscription): DomainEvent[] => [
    emit(next, 'payment.failed', { ...facts, declineClass, code, nextAttemptAt: next.nextChargeAt }, now),
    ...settledEvent(next, 'declined'),
  ];

  if (sub.status === 'canceled') {
    const next = changed(sub, cleared, now);
    return { subscription: next, events: failed(next) };
  }

  if (outcome.kind === 'config_error') {
    const hold: Hold = {
      reason: 'config_error',
      since: now,
      period: inFlight.period,
      attempt: inFlight.attempt,
      code,
    };
    const next = changed(sub, { ...cleared, hold, nextChargeAt: null }, now);
    return {
      subscription: next,
      events: [
        ...failed(next),
        emit(
          next,
          'subscription.held',
          { period: hold.period, attempt: hold.attempt, oid: inFlight.oid },
          now,
        ),
      ],
    };
  }

  if (inFlight.paymentMethodRevision !== sub.paymentMethod.revision) {
    const next = changed(sub, { ...cleared, nextChargeAt: earliestChargeInstant(now) }, now);
    return { subscription: next, events: failed(next) };
  }

  const flagged = outcome.kind === 'hard_declined' ? flagPaymentMethod(sub, outcome.problem, now) : undefined;

  if (sub.status === 'incomplete') {
    const next = changed(
      sub,
      {
        ...cleared,
        status: 'canceled',
        nextChargeAt: null,
        hold: null,
        ...(flagged === undefined ? {} : { paymentMethod: flagged.paymentMethod }),
        cancellation: { reason: 'first_payment_failed', effect: 'immediately', at: now, serviceEndsAt: now },
      },
      now,
    );
    return {
      subscription: next,
      events: [
        ...failed(next),
        emit(
          next,
          'subscription.canceled',
          { reason: 'first_payment_failed', effect: 'immediately', serviceEndsAt: now },
          now,
        ),
      ],
    };
  }

  const period = { period: inFlight.period, periodKey: inFlight.periodKey };
  if (flagged !== undefined) {
    const next = changed(
      sub,
      { ...cleared, status: 'past_due', nextChargeAt: null, paymentMethod: flagged.paymentMethod },
      now,
    );
    return {
      subscription: next,
      events: [
        ...failed(next),
        ...(sub.status === 'past_due'
          ? []
          : [emit(next, 'subscription.past_due', { ...period, nextAttemptAt: null }, now)]),
        ...(flagged.newlyFlagged
          ? [emit(next, 'subscription.payment_method_required', { reason: flagged.problem }, now)]
          : []),
      ],
    };
  }

  // Soft decline of the current key.
  const firstFailedAt = sub.dunning.firstFailedAt ?? inFlight.claimedAt;
  const retryAt = retryInstant(policy, sub.dunning.retriesUsed, firstFailedAt, sub.chargeTimeOfDay, now);
  if (retryAt === undefined) {
    const next = changed(
      sub,
      { ...cleared, status: 'unpaid', nextChargeAt: null, dunning: { ...sub.dunning, firstFailedAt } },
      now,
    );
    return {
      subscription: next,
      events: [
        ...failed(next),
        ...(sub.status === 'unpaid' ? [] : [emit(next, 'subscription.unpaid', period, now)]),
      ],
    };
  }
  const next = changed(
    sub,
    {
      ...cleared,
      status: 'past_due',
      nextChargeAt: retryAt,
      dunning: { retriesUsed: sub.dunning.retriesUsed + 1, firstFailedAt },
    },
    now,
  );
  return {
    subscription: next,
    events: [
      ...failed(next),
      ...(sub.status === 'past_due'
        ? []
        : [emit(next, 'subscription.past_due', { ...period, nextAttemptAt: retryAt }, now)]),
    ],
  };
}

function flagPaymentMethod(
  sub: Subscription,
  problem: PaymentMethodProblem | undefined,
  now: number,
): { paymentMethod: PaymentMethod; problem: PaymentMethodProblem; newlyFlagged: boolean } {
  const current = sub.paymentMethod;
  if (current.status === 'needs_replacement' && problem === undefined) {
    return { paymentMethod: current, problem: current.problem, newlyFlagged: false };
  }
  const reason = problem ?? 'declined_hard';
  return {
    paymentMethod: { ...current, status: 'needs_replacement', problem: reason, since: now },
    problem: reason,
    newlyFlagged: current.status !== 'needs_replacement',
  };
}

function settlePaid(
  sub: Subscription,
  inFlight: InFlightAttempt,
  now: number,
  settledEvent: (next: Subscription, result: 'paid') => DomainEvent[],
): Transition {
  const paid = inFlight.period;
  const periodReset = { inFlight: null, lastPaidPeriod: paid, attemptsMade: 0, dunning: NO_DUNNING };
  const facts = paymentFacts(inFlight);

  if (sub.status === 'canceled') {
    const cancellation = sub.cancellation;
    const extended =
      cancellation?.effect === 'period_end'
        ? {
            ...cancellation,
            serviceEndsAt: Math.max(cancellation.serviceEndsAt, periodCoverage(sub.schedule, paid).endsAt),
          }
        : cancellation;
    const next = changed(sub, { ...periodReset, currentPeriod: paid + 1, cancellation: extended }, now);
    return {
      subscription: next,
      events: [emit(next, 'payment.succeeded', facts, now), ...settledEvent(next, 'paid')],
    };
  }

  const target = catchUpTarget(sub, paid + 1, now);
  const next = changed(
    sub,
    {
      ...periodReset,
      status: 'active',
      currentPeriod: target,
      nextChargeAt: chargeAtOrNow(sub, target, now),
    },
    now,
  );
  const events: DomainEvent[] = [emit(next, 'payment.succeeded', facts, now), ...settledEvent(next, 'paid')];
  if (sub.status === 'incomplete') events.push(emit(next, 'subscription.activated', { period: paid }, now));
  if (sub.status === 'past_due' || sub.status === 'unpaid') {
    events.push(emit(next, 'subscription.recovered', { period: paid, periodKey: inFlight.periodKey }, now));
  }
  if (target > paid + 1) {
    events.push(
      emit(
        next,
        'subscription.periods_skipped',
        { fromPeriod: paid + 1, toPeriod: target, reason: 'caught_up' },
        now,
      ),
    );
  }
  return { subscription: next, events };
}

// ---------------------------------------------------------------------------------------------
// Commands

/**
 * A new billing key (the customer registered a card or account again). Clears `needs_replacement`.
 * A `past_due` or `unpaid` subscription with nothing in flight and no hold starts a fresh dunning
 * cycle and is charged at once (a new attempt). An attempt already in flight keeps its key; if it
 * is declined, the new key is charged at once (see `settleAttempt`). Refused when canceled.
 */
export function replacePaymentMethod(
  sub: Subscription,
  method: { readonly payType: PayType; readonly billingKeyRef: string },
  now: number,
): Transition {
  if (sub.status === 'canceled') fail(sub, 'replace_payment_method', 'the subscription is canceled');
  assertText('billingKeyRef', method.billingKeyRef, 1000);
  assertAmount(sub.plan.amount, method.payType);
  const paymentMethod: PaymentMethod = {
    payType: method.payType,
    billingKeyRef: method.billingKeyRef,
    revision: sub.paymentMethod.revision + 1,
    status: 'valid',
  };
  const overdue = sub.status === 'past_due' || sub.status === 'unpaid';
  const chargeNow = overdue && sub.inFlight === null && sub.hold === null;
  const next = changed(
    sub,
    chargeNow
      ? { paymentMethod, dunning: NO_DUNNING, nextChargeAt: earliestChargeInstant(now) }
      : { paymentMethod },
    now,
  );
  return {
    subscription: next,
    events: [
      emit(
        next,
        'subscription.payment_method_replaced',
        { payType: method.payType, nextAttemptAt: chargeNow ? next.nextChargeAt : null },
        now,
      ),
    ],
  };
}

/**
 * Payple reports the billing key `billingKeyRef` terminated (a webhook for a key deleted in Payple's
 * admin, or a PUSERINFO check). Marks the payment method `needs_replacement` (`key_terminated`) and
 * asks the customer for a new one. The schedule stays: if no new key arrives in time, the next
 * charge is refused by Payple as a hard decline (no money moves) and the subscription becomes
 * `past_due` on its billing date like any other failed payment. A key other than the current one (a
 * replaced key) or an already flagged one changes nothing (no events).
 */
export function terminatePaymentMethod(sub: Subscription, billingKeyRef: string, now: number): Transition {
  if (sub.status === 'canceled') fail(sub, 'terminate_payment_method', 'the subscription is canceled');
  if (billingKeyRef !== sub.paymentMethod.billingKeyRef || sub.paymentMethod.status === 'needs_replacement') {
    return { subscription: sub, events: [] };
  }
  const next = changed(
    sub,
    {
      paymentMethod: {
        ...sub.paymentMethod,
        status: 'needs_replacement',
        problem: 'key_terminated',
        since: now,
      },
    },
    now,
  );
  return {
    subscription: next,
    events: [emit(next, 'subscription.payment_method_required', { reason: 'key_terminated' }, now)],
  };
}

/**
 * An operator fixed the configuration: the held period gets a new attempt at once, with the same
 * retries used (the configuration error consumed none). A paused subscription stays paused (resume
 * schedules it). Refused without a hold.
 */
export function releaseHold(sub: Subscription, now: number): Transition {
  if (sub.hold === null) fail(sub, 'release_hold', 'there is no hold');
  const nextChargeAt = sub.status === 'paused' ? null : earliestChargeInstant(now);
  const next = changed(sub, { hold: null, nextChargeAt }, now);
  return {
    subscription: next,
    events: [emit(next, 'subscription.hold_released', { nextAttemptAt: nextChargeAt }, now)],
  };
}

/**
 * Stops charges of an `active` subscription until `resume`. Refused in other statuses (an overdue
 * period cannot be paused away) and while an attempt is in flight (`AttemptInFlightError`, retry
 * once it settles).
 */
export function pause(sub: Subscription, now: number): Transition {
  if (sub.status !== 'active') fail(sub, 'pause', 'only an active subscription can be paused');
  if (sub.inFlight !== null) throw new AttemptInFlightError(sub.id, sub.status, 'pause');
  const next = changed(sub, { status: 'paused', pausedAt: now, nextChargeAt: null }, now);
  return { subscription: next, events: [emit(next, 'subscription.paused', {}, now)] };
}

/**
 * Resumes a paused subscription. Billing continues with the period the subscription is in at `now`,
 * charged at once when its date has passed (a pause never makes the current period free); periods
 * that began and ended while paused are skipped (`subscription.periods_skipped`, reason `resumed`).
 * A subscription still on hold stays unscheduled until `releaseHold`.
 */
export function resume(sub: Subscription, now: number): Transition {
  if (sub.status !== 'paused') fail(sub, 'resume', 'only a paused subscription can be resumed');
  const target = catchUpTarget(sub, sub.currentPeriod, now);
  const skipped = target > sub.currentPeriod;
  const nextChargeAt = sub.hold === null ? chargeAtOrNow(sub, target, now) : null;
  const next = changed(
    sub,
    {
      status: 'active',
      pausedAt: null,
      currentPeriod: target,
      nextChargeAt,
      ...(skipped ? { attemptsMade: 0, dunning: NO_DUNNING } : {}),
    },
    now,
  );
  const events: DomainEvent[] = [emit(next, 'subscription.resumed', { period: target, nextChargeAt }, now)];
  if (skipped) {
    events.push(
      emit(
        next,
        'subscription.periods_skipped',
        { fromPeriod: sub.currentPeriod, toPeriod: target, reason: 'resumed' },
        now,
      ),
    );
  }
  return { subscription: next, events };
}

/** Options of `cancel`; see the module comment. */
export interface CancelRequest {
  readonly reason: Exclude<CancellationReason, 'first_payment_failed'>;
  /** Default `period_end`. */
  readonly effect?: CancellationEffect;
}

/**
 * Cancels: no charge is ever scheduled again, and any hold is dropped. `serviceEndsAt` is the end
 * of the last paid period (`period_end`, never before `now`) or `now` (`immediately`). An attempt
 * in flight stays in flight and is still settled. Refused when already canceled.
 */
export function cancel(sub: Subscription, request: CancelRequest, now: number): Transition {
  if (sub.status === 'canceled') fail(sub, 'cancel', 'already canceled');
  const effect = request.effect ?? 'period_end';
  const paidThrough =
    sub.lastPaidPeriod === null ? now : periodCoverage(sub.schedule, sub.lastPaidPeriod).endsAt;
  const serviceEndsAt = effect === 'immediately' ? now : Math.max(now, paidThrough);
  const next = changed(
    sub,
    {
      status: 'canceled',
      nextChargeAt: null,
      hold: null,
      pausedAt: null,
      cancellation: { reason: request.reason, effect, at: now, serviceEndsAt },
    },
    now,
  );
  return {
    subscription: next,
    events: [emit(next, 'subscription.canceled', { reason: request.reason, effect, serviceEndsAt }, now)],
  };
}

/** A refund Payple confirmed for one of the subscription's payments. */
export interface RefundRecord {
  readonly period: number;
  readonly attempt: number;
  readonly payType: PayType;
  /** Whole KRW the payment was for. */
  readonly paidAmount: number;
  /** Whole KRW of this refund. */
  readonly refundedAmount: number;
  /** Whole KRW of every refund of this payment so far, this one included. */
  readonly refundedTotal: number;
}

/**
 * Reports a refund (`payment.refunded`). A refund does not change the subscription (same version):
 * whether service continues is the merchant's call (`cancel`).
 */
export function recordRefund(sub: Subscription, refund: RefundRecord, now: number): Transition {
  const { paidAmount, refundedAmount, refundedTotal } = refund;
  const wholeWon = [paidAmount, refundedAmount, refundedTotal].every((v) => Number.isSafeInteger(v) && v > 0);
  if (!wholeWon || refundedAmount > refundedTotal || refundedTotal > paidAmount) {
    throw new InvalidRefundError(
      'refund',
      'refund amounts must be whole KRW with amount ≤ total ≤ paid amount',
    );
  }
  const facts: PaymentFacts = {
    oid: attemptOid(sub, refund),
    period: refund.period,
    periodKey: periodKey(sub.schedule, refund.period),
    attempt: refund.attempt,
    amount: paidAmount,
    payType: refund.payType,
  };
  const event = emit(
    sub,
    'payment.refunded',
    { ...facts, refundedAmount, refundedTotal, fullyRefunded: refundedTotal === paidAmount },
    now,
  );
  return { subscription: sub, events: [event] };
}

/** The KST billing date of the subscription's current period (for display). */
export function currentBillingDate(sub: Subscription): CalendarDate {
  return billingDate(sub.schedule, sub.currentPeriod);
}
