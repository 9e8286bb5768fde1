/**
 * Applies an outcome to a claimed attempt: the one path by which the charger, the webhook, the
 * reconciler and an operator move a payment and its subscription. It writes both (and the events)
 * in one transaction conditional on what it read, so whoever comes second changes nothing.
 */
import {
  AttemptNotInFlightError,
  settleAttempt,
  SETTLEABLE_PAYMENT_STATES,
  type AttemptOutcome,
  type DomainEvent,
  type DunningPolicy,
  type PaymentAnswer,
  type PaymentRecord,
  type PaymentState,
  type ResolvedBy,
} from '../billing/index.ts';
import type { BillingStore, EventPublisher } from './ports.ts';

export interface SettleDependencies {
  readonly store: BillingStore;
  readonly publisher: EventPublisher;
  readonly dunningPolicy: DunningPolicy;
}

/** A definite outcome, or `unknown` with when to look it up. */
export type SettleOutcome =
  Exclude<AttemptOutcome, { kind: 'unknown' }> | { readonly kind: 'unknown'; readonly lookUpAt: number };

export interface SettleRequest {
  readonly oid: string;
  readonly outcome: SettleOutcome;
  readonly answer?: PaymentAnswer;
  readonly now: number;
}

export type SettleResult =
  /** The payment and subscription moved. */
  | { readonly status: 'settled'; readonly state: PaymentState; readonly events: readonly DomainEvent[] }
  /** The payment is already settled (by whoever came first) or gone: nothing changed. */
  | { readonly status: 'already_settled'; readonly state: PaymentState | undefined }
  /** The payment is unsettled but its subscription no longer has it in flight: an operator looks. */
  | { readonly status: 'inconsistent'; readonly state: PaymentState };

/** How often a settle re-reads and retries after a concurrent change before it gives up. */
const MAX_CONFLICT_RETRIES = 5;

function paymentStateFor(outcome: SettleOutcome): PaymentState {
  switch (outcome.kind) {
    case 'paid':
      return 'paid';
    case 'soft_declined':
    case 'hard_declined':
    case 'config_error':
      return 'declined';
    case 'not_charged':
      return 'not_charged';
    case 'unknown':
      return 'unknown';
  }
}

function declineClassFor(outcome: SettleOutcome): PaymentRecord['declineClass'] {
  if (outcome.kind === 'soft_declined') return 'soft';
  if (outcome.kind === 'hard_declined') return 'hard';
  if (outcome.kind === 'config_error') return 'config';
  return undefined;
}

function resolvedByOf(outcome: SettleOutcome): ResolvedBy | undefined {
  return outcome.kind === 'unknown' ? undefined : (outcome.resolvedBy ?? 'charge_answer');
}

function nextPayment(payment: PaymentRecord, request: SettleRequest): PaymentRecord {
  const { outcome, now } = request;
  const answer = request.answer ?? payment.answer;
  if (outcome.kind === 'unknown') {
    return {
      ...payment,
      state: 'unknown',
      ...(answer ? { answer } : {}),
      reconcile: { nextAt: outcome.lookUpAt, lookups: payment.reconcile?.lookups ?? 0 },
      version: payment.version + 1,
    };
  }
  const { reconcile: _settled, ...rest } = payment;
  const declineClass = declineClassFor(outcome);
  const resolvedBy = resolvedByOf(outcome);
  return {
    ...rest,
    state: paymentStateFor(outcome),
    ...(declineClass ? { declineClass } : {}),
    ...(answer ? { answer } : {}),
    ...(resolvedBy ? { resolvedBy } : {}),
    settledAt: now,
    version: payment.version + 1,
  };
}

/**
 * Settles attempt `oid` with `outcome`. Safe to call any number of times from any number of places:
 * only the first definite outcome for an unsettled payment changes anything.
 */
export async function settleAttemptOutcome(
  deps: SettleDependencies,
  request: SettleRequest,
): Promise<SettleResult> {
  for (let round = 0; round <= MAX_CONFLICT_RETRIES; round++) {
    const payment = await deps.store.getPayment(request.oid);
    if (!payment || !SETTLEABLE_PAYMENT_STATES.includes(payment.state)) {
      return { status: 'already_settled', state: payment?.state };
    }
    // `unknown` never overrides an operator's hold on a payment under review.
    if (request.outcome.kind === 'unknown' && payment.state === 'needs_review') {
      return { status: 'already_settled', state: payment.state };
    }
    const subscription = await deps.store.getSubscription(payment.subscriptionId);
    if (!subscription) return { status: 'inconsistent', state: payment.state };

    let transition;
    try {
      const domainOutcome: AttemptOutcome =
        request.outcome.kind === 'unknown' ? { kind: 'unknown' } : request.outcome;
      transition = settleAttempt(
        subscription,
        { period: payment.period, attempt: payment.attempt },
        domainOutcome,
        request.now,
        deps.dunningPolicy,
      );
    } catch (error) {
      if (!(error instanceof AttemptNotInFlightError)) throw error;
      // Someone may have settled the payment between our two reads, moving the subscription on:
      // then this settle came second (a duplicate), not a disagreement. The payment item decides.
      const current = await deps.store.getPayment(request.oid);
      if (current?.version !== payment.version) continue;
      return { status: 'inconsistent', state: payment.state };
    }

    const next = nextPayment(payment, request);
    const subscriptionChanged = transition.subscription !== subscription;
    const result = await deps.store.commit({
      ...(subscriptionChanged
        ? { subscription: { expectedVersion: subscription.version, next: transition.subscription } }
        : {}),
      payment: { expected: { states: [payment.state], version: payment.version }, next },
      events: transition.events,
    });
    if (result.committed) {
      await deps.publisher.publish(transition.events);
      return { status: 'settled', state: next.state, events: transition.events };
    }
    // Someone else wrote the payment or the subscription in between: read again and decide again.
  }
  throw new Error(`settling ${request.oid}: still conflicting after ${MAX_CONFLICT_RETRIES} retries`);
}
