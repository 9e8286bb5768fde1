/**
 * Domain events: what the transitions in `subscription.ts` report, for the EventBridge bus.
 *
 * Every event carries the subscription id, the subscription's `sequence` (its version after the
 * change that produced the event; one change can produce several events, which share it) and its
 * status after the change, so a consumer keeps the last sequence it applied per subscription and
 * drops anything older. Events carry identifiers, amounts and dates only: never a billing key, a
 * customer's name, phone number or e-mail. Instants are epoch milliseconds.
 */
import type { BillingInterval, PeriodKey } from './calendar.ts';
import type { PaymentMethodProblem, SubscriptionStatus } from './status.ts';

export type PayType = 'card' | 'transfer';

/** How a definite outcome became known. */
export type ResolvedBy =
  /** The charge call's own answer. */
  | 'charge_answer'
  /** A result lookup (the reconciler, or the return page confirming a first payment). */
  | 'result_lookup'
  /** Payple's webhook (confirmed by a lookup where it did not match what we sent). */
  | 'webhook'
  /** An operator resolving an attempt the reconciler gave up on (`needs_review`). */
  | 'operator';

/** Which kind of refusal a `payment.failed` was. */
export type DeclineClass = 'soft' | 'hard' | 'config';

/** Why a subscription was canceled. */
export type CancellationReason = 'requested_by_customer' | 'requested_by_merchant' | 'first_payment_failed';

/** When a cancellation ends the customer's service (charges stop at once either way). */
export type CancellationEffect = 'period_end' | 'immediately';

/** The charge attempt a payment event is about. */
export interface PaymentFacts {
  readonly oid: string;
  readonly period: number;
  readonly periodKey: PeriodKey;
  readonly attempt: number;
  /** Whole KRW. */
  readonly amount: number;
  readonly payType: PayType;
}

/** Each event type and the fields it adds to the envelope. */
export interface DomainEventPayloads {
  'subscription.created': {
    readonly amount: number;
    readonly interval: BillingInterval;
    /** `YYYY-MM-DD`. */
    readonly firstBillingDate: string;
    readonly firstChargeAt: number;
  };
  /** The first payment (period 0) succeeded: `incomplete` → `active`. */
  'subscription.activated': { readonly period: number };
  'subscription.past_due': {
    readonly period: number;
    readonly periodKey: PeriodKey;
    /** `null`: no automatic retry (waiting for a new billing key, or on hold). */
    readonly nextAttemptAt: number | null;
  };
  /** The dunning policy is exhausted: no more automatic charges. */
  'subscription.unpaid': { readonly period: number; readonly periodKey: PeriodKey };
  /** A `past_due` or `unpaid` subscription paid the overdue period. */
  'subscription.recovered': { readonly period: number; readonly periodKey: PeriodKey };
  'subscription.payment_method_required': { readonly reason: PaymentMethodProblem };
  'subscription.payment_method_replaced': {
    readonly payType: PayType;
    /** When the new key is charged for an overdue period, else `null`. */
    readonly nextAttemptAt: number | null;
  };
  'subscription.canceled': {
    readonly reason: CancellationReason;
    readonly effect: CancellationEffect;
    /** End of the service the customer keeps (end of the last paid period, or the cancel instant). */
    readonly serviceEndsAt: number;
  };
  'subscription.paused': Record<string, never>;
  'subscription.resumed': {
    readonly period: number;
    /** `null` while a hold remains. */
    readonly nextChargeAt: number | null;
  };
  /** Periods `[fromPeriod, toPeriod)` will never be billed (see `subscription.ts`, "catching up"). */
  'subscription.periods_skipped': {
    readonly fromPeriod: number;
    readonly toPeriod: number;
    readonly reason: 'resumed' | 'caught_up';
  };
  /** A configuration error stopped automatic charges until an operator releases the hold. */
  'subscription.held': { readonly period: number; readonly attempt: number; readonly oid: string };
  'subscription.hold_released': { readonly nextAttemptAt: number | null };
  'payment.succeeded': PaymentFacts;
  'payment.failed': PaymentFacts & {
    readonly declineClass: DeclineClass;
    /** Payple's code or the issuer's, when the charger had one (never a message text). */
    readonly code: string | null;
    /** The next automatic attempt of the period, or `null` when there is none. */
    readonly nextAttemptAt: number | null;
  };
  /** The outcome is not known yet; the period stays blocked until it is settled. */
  'payment.unknown': PaymentFacts;
  /** An outcome learned after the fact (lookup, webhook, operator) rather than from the charge answer. */
  'payment.settled': PaymentFacts & {
    readonly result: 'paid' | 'declined' | 'not_charged';
    readonly resolvedBy: ResolvedBy;
  };
  'payment.refunded': PaymentFacts & {
    /** This refund, whole KRW. */
    readonly refundedAmount: number;
    /** All refunds of the payment so far, this one included. */
    readonly refundedTotal: number;
    readonly fullyRefunded: boolean;
  };
}

export type DomainEventType = keyof DomainEventPayloads;

/** Every event type, e.g. for EventBridge rules and exhaustiveness tests. */
export const DOMAIN_EVENT_TYPES = [
  'subscription.created',
  'subscription.activated',
  'subscription.past_due',
  'subscription.unpaid',
  'subscription.recovered',
  'subscription.payment_method_required',
  'subscription.payment_method_replaced',
  'subscription.canceled',
  'subscription.paused',
  'subscription.resumed',
  'subscription.periods_skipped',
  'subscription.held',
  'subscription.hold_released',
  'payment.succeeded',
  'payment.failed',
  'payment.unknown',
  'payment.settled',
  'payment.refunded',
] as const satisfies readonly DomainEventType[];

/** Fields every event has. */
export interface EventEnvelope<T extends DomainEventType = DomainEventType> {
  readonly type: T;
  /**
   * Deterministic: `{subscriptionId}:{sequence}:{type}`, plus the OID for payment events and the
   * refunded total for refunds. Publishing the same change twice gives the same id (dedupe on it).
   */
  readonly id: string;
  readonly subscriptionId: string;
  readonly sequence: number;
  /** The subscription's status after the change. */
  readonly status: SubscriptionStatus;
  readonly customerId: string;
  readonly planId: string;
  readonly occurredAt: number;
}

export type DomainEventOf<T extends DomainEventType> = EventEnvelope<T> & DomainEventPayloads[T];

/** Any domain event, discriminated by `type`. */
export type DomainEvent = { [T in DomainEventType]: DomainEventOf<T> }[DomainEventType];

/** The subscription fields an envelope is made from. */
export interface EventSource {
  readonly id: string;
  readonly version: number;
  readonly status: SubscriptionStatus;
  readonly customer: { readonly id: string };
  readonly plan: { readonly id: string };
}

/** Builds one event for `source` (the subscription after the change). */
export function domainEvent<T extends DomainEventType>(
  source: EventSource,
  type: T,
  payload: DomainEventPayloads[T],
  occurredAt: number,
): DomainEventOf<T> {
  const payment = payload as Partial<PaymentFacts & { refundedTotal: number }>;
  const suffix = [payment.oid, payment.refundedTotal].filter((part) => part !== undefined).join(':');
  const envelope: EventEnvelope<T> = {
    type,
    id: `${source.id}:${source.version}:${type}${suffix === '' ? '' : `:${suffix}`}`,
    subscriptionId: source.id,
    sequence: source.version,
    status: source.status,
    customerId: source.customer.id,
    planId: source.plan.id,
    occurredAt,
  };
  return { ...envelope, ...payload };
}
