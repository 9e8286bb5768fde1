/**
 * Refunds a payment at Payple on an operator's (or the merchant backend's) request, and records
 * the refund exactly as Payple's cancellation webhook does, so the webhook for the same refund
 * arrives as a duplicate.
 *
 * Money rules:
 * - Only a payment we hold as `paid` or `partially_refunded` is refunded, never for more than is
 *   left of it; anything else is refused before Payple hears of it.
 * - The refund call is made once. Payple's cancel has no idempotency key: a second call after an
 *   answer that never arrived could refund twice. An indefinite outcome (timeout, 5xx, unreadable
 *   answer) is reported as `outcome_unknown` and recorded nowhere: Payple's webhook records it if
 *   it happened, and an operator checks Payple's admin.
 * - A refund is recognised by its amount and Payple's `PCD_REFUND_TIME` (the webhook's key), so
 *   only Payple's own refund time is recorded. An answer without it is not recorded here
 *   (`refunded_unrecorded`): any time of ours would make the webhook record the refund a second
 *   time.
 * - Once Payple has refunded, nothing throws: a record that cannot be written (a conflict that
 *   does not settle, a store failure) is reported as `refunded_unrecorded`, so a caller never
 *   mistakes a refund that happened for a failure and asks again.
 *
 * Results are safe to log: OIDs, subscription ids, amounts, Payple's codes and scrubbed messages;
 * never a billing key or personal data.
 */
import {
  kstCompactDateOf,
  recordRefund,
  type PaymentRecord,
  type PaymentRefund,
  type PaymentState,
  type Subscription,
} from '../billing/index.ts';
import {
  PaypleConfigurationError,
  PaypleError,
  type ClassificationReason,
  type FailureStage,
  type RefundInput,
  type RefundOutcome,
} from '../payple/index.ts';
import type { BillingStore, EventPublisher } from './ports.ts';

/** The Payple operation this use case needs (`PaypleClient` fits). */
export interface RefundGateway {
  refund(input: RefundInput): Promise<RefundOutcome>;
}

/** What recording a refund writes to. */
export interface RefundRecordingDependencies {
  readonly store: BillingStore;
  readonly publisher: EventPublisher;
}

export interface RefundPaymentDependencies extends RefundRecordingDependencies {
  readonly payple: RefundGateway;
  readonly now: () => number;
}

export interface RefundPaymentCommand {
  readonly oid: string;
  /** Whole KRW; default: everything not yet refunded. */
  readonly amount?: number;
}

/** Why a refund was refused before Payple was asked. */
export type RefundPaymentRefusal =
  /** `amount` is not a positive safe integer. */
  | 'invalid_amount'
  /** No payment has this OID. */
  | 'not_found'
  /** The payment is not paid (declined, not charged, still unknown, under review). */
  | 'not_paid'
  /** Refunded in full already. */
  | 'already_refunded'
  /** More than is left of the payment (`remaining`). */
  | 'exceeds_remaining'
  /** The payment's subscription is missing (a refund event could not be published). */
  | 'subscription_missing';

/** Why a refund Payple made is not (yet) recorded here. */
export type UnrecordedRefundReason =
  /** Payple's answer carried no `PCD_REFUND_TIME`: only its webhook can record the refund. */
  | 'no_refund_time'
  /** What we hold disagrees (the refund would exceed the payment): an operator looks. */
  | 'record_disagrees'
  /** Concurrent changes kept the record from being written. */
  | 'conflict'
  /** The store failed while writing the record. */
  | 'store_failed';

interface RefundIds {
  readonly oid: string;
  readonly subscriptionId: string;
}

export type RefundPaymentResult =
  /**
   * Refunded at Payple and recorded: by this request (`recorded: 'now'`) or, when Payple's webhook
   * for this very refund came first, by the webhook (`recorded: 'already'`).
   */
  | (RefundIds & {
      readonly kind: 'refunded';
      readonly amount: number;
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
      /** Payple's `PCD_REFUND_TIME`, ISO 8601 (+09:00). */
      readonly refundedAt: string;
      readonly recorded: 'now' | 'already';
    })
  /** Refunded at Payple but not recorded here; Payple's cancellation webhook records it. */
  | (RefundIds & {
      readonly kind: 'refunded_unrecorded';
      readonly amount: number;
      readonly refundedAt: string | undefined;
      readonly reason: UnrecordedRefundReason;
      /** With `store_failed`: the error's name. */
      readonly error?: string;
    })
  /** Refused before Payple was asked: nothing was sent, nothing changed. */
  | {
      readonly kind: 'refused';
      readonly oid: string;
      readonly reason: RefundPaymentRefusal;
      readonly state?: PaymentState;
      /** Whole KRW still refundable (with `exceeds_remaining`). */
      readonly remaining?: number;
    }
  /**
   * Payple refused the refund, or it could not be sent (`stage: 'not_sent'`, e.g. no refund key
   * configured): nothing was refunded, nothing changed. `retryable`: the same request may simply be
   * made again (nothing reached Payple, or Payple refused a token); the others need a person.
   */
  | (RefundIds & {
      readonly kind: 'declined';
      readonly amount: number;
      readonly classification: string;
      readonly stage: FailureStage | 'not_sent';
      readonly code?: string;
      readonly message?: string;
      readonly retryable: boolean;
    })
  /**
   * Payple's answer did not say whether the refund happened. Never retried and not recorded: the
   * webhook records it if it happened; check Payple's admin before asking again.
   */
  | (RefundIds & {
      readonly kind: 'outcome_unknown';
      readonly amount: number;
      readonly reason: ClassificationReason;
      readonly code?: string;
    });

/** How often the record is re-read after a concurrent change before the use case gives up. */
const MAX_ROUNDS = 5;

/** Paid, possibly refunded since: the states a refund is recorded against (or recognised in). */
const PAID_STATES: readonly PaymentState[] = ['paid', 'partially_refunded', 'refunded'];

export type RefundRecording =
  | {
      readonly status: 'recorded';
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
    }
  /** The payment already has a refund of this amount at this time: the same refund, told again. */
  | { readonly status: 'duplicate'; readonly refundedTotal: number; readonly fullyRefunded: boolean }
  /** The refund would take the total past what was paid: nothing written. */
  | { readonly status: 'exceeds_amount' }
  /** The payment is not in a paid state: nothing written. */
  | { readonly status: 'not_paid' }
  /** The payment changed since it was read: nothing written; read again and retry. */
  | { readonly status: 'conflict' };

/**
 * Records one refund Payple made of `payment` (as read, with its subscription): the payment becomes
 * `partially_refunded` or `refunded` with the refund appended and `refundedTotal` grown, and
 * `payment.refunded` is published, in one write conditional on the payment's state and version.
 * A refund already recorded (same amount, same `refundedAt`) is a `duplicate`. Shared by this use
 * case and Payple's cancellation webhook, so both record a refund alike and recognise each other's.
 */
export async function recordPaymentRefund(
  deps: RefundRecordingDependencies,
  request: {
    readonly payment: PaymentRecord;
    readonly subscription: Subscription;
    readonly refund: PaymentRefund;
    readonly now: number;
  },
): Promise<RefundRecording> {
  const { payment, subscription, refund, now } = request;
  if (!PAID_STATES.includes(payment.state)) return { status: 'not_paid' };
  const recorded = payment.refunds ?? [];
  const previousTotal = payment.refundedTotal ?? 0;
  if (recorded.some((r) => r.amount === refund.amount && r.refundedAt === refund.refundedAt)) {
    return {
      status: 'duplicate',
      refundedTotal: previousTotal,
      fullyRefunded: previousTotal === payment.amount,
    };
  }
  const refundedTotal = previousTotal + refund.amount;
  if (refundedTotal > payment.amount) return { status: 'exceeds_amount' };

  const transition = recordRefund(
    subscription,
    {
      period: payment.period,
      attempt: payment.attempt,
      payType: payment.payType,
      paidAmount: payment.amount,
      refundedAmount: refund.amount,
      refundedTotal,
    },
    now,
  );
  const fullyRefunded = refundedTotal === payment.amount;
  const result = await deps.store.commit({
    payment: {
      expected: { states: [payment.state], version: payment.version },
      next: {
        ...payment,
        state: fullyRefunded ? 'refunded' : 'partially_refunded',
        refundedTotal,
        refunds: [...recorded, { amount: refund.amount, refundedAt: refund.refundedAt }],
        version: payment.version + 1,
      },
    },
    events: transition.events,
  });
  if (!result.committed) return { status: 'conflict' };
  await deps.publisher.publish(transition.events);
  return { status: 'recorded', refundedTotal, fullyRefunded };
}

/**
 * The payment's date at Payple (`PCD_PAY_DATE`, "the original date the transaction was paid"):
 * the KST date of Payple's own `PCD_PAY_TIME` when we have it, else the KST date we requested it
 * on. They only differ for a payment that crossed midnight, which the charge schedule avoids.
 */
export function payDateOf(payment: PaymentRecord): string {
  const paidAt = payment.answer?.paidAt;
  const instant = paidAt === undefined ? Number.NaN : Date.parse(paidAt);
  return Number.isNaN(instant) ? payment.requestDate : kstCompactDateOf(instant);
}

function refundInputOf(payment: PaymentRecord, amount: number): RefundInput {
  return {
    oid: payment.oid,
    payDate: payDateOf(payment),
    amount,
    payType: payment.payType,
    ...(payment.monthGuard ? { monthGuard: payment.monthGuard } : {}),
  };
}

/**
 * Refunds `command.amount` (default: all that is left) of a paid payment at Payple and records it.
 * Throws only for infrastructure failures before Payple is asked (the store could not be read).
 */
export async function refundPayment(
  deps: RefundPaymentDependencies,
  command: RefundPaymentCommand,
): Promise<RefundPaymentResult> {
  const { oid } = command;
  if (command.amount !== undefined && !(Number.isSafeInteger(command.amount) && command.amount > 0)) {
    return { kind: 'refused', oid, reason: 'invalid_amount' };
  }
  const payment = await deps.store.getPayment(oid);
  if (!payment) return { kind: 'refused', oid, reason: 'not_found' };
  const { state } = payment;
  if (state === 'refunded') return { kind: 'refused', oid, reason: 'already_refunded', state };
  if (state !== 'paid' && state !== 'partially_refunded') {
    return { kind: 'refused', oid, reason: 'not_paid', state };
  }
  const remaining = payment.amount - (payment.refundedTotal ?? 0);
  if (remaining <= 0) return { kind: 'refused', oid, reason: 'already_refunded', state };
  const amount = command.amount ?? remaining;
  if (amount > remaining) return { kind: 'refused', oid, reason: 'exceeds_remaining', state, remaining };
  const subscription = await deps.store.getSubscription(payment.subscriptionId);
  if (!subscription) return { kind: 'refused', oid, reason: 'subscription_missing', state };

  const ids: RefundIds = { oid, subscriptionId: payment.subscriptionId };
  let outcome: RefundOutcome;
  try {
    outcome = await deps.payple.refund(refundInputOf(payment, amount));
  } catch (error) {
    // Thrown only before anything is sent: no refund key configured, or an input Payple's rules
    // refuse. The client builds these messages from safe fields only.
    if (!(error instanceof PaypleError)) throw error;
    return {
      ...ids,
      kind: 'declined',
      amount,
      classification: error instanceof PaypleConfigurationError ? 'config_error' : 'invalid_request',
      stage: 'not_sent',
      message: error.message,
      retryable: false,
    };
  }

  if (outcome.kind === 'success') {
    const { refundedAt, refundedAtField } = outcome.value;
    if (refundedAt === undefined || refundedAtField !== 'PCD_REFUND_TIME') {
      return { ...ids, kind: 'refunded_unrecorded', amount, refundedAt: undefined, reason: 'no_refund_time' };
    }
    return recordMadeRefund(deps, ids, { amount, refundedAt });
  }
  const code = outcome.code === undefined ? {} : { code: outcome.code };
  // A failed partner auth never sent the refund: whatever its kind, nothing moved.
  if (outcome.kind === 'unknown' && outcome.stage === 'operation') {
    return { ...ids, kind: 'outcome_unknown', amount, reason: outcome.reason, ...code };
  }
  return {
    ...ids,
    kind: 'declined',
    amount,
    classification: outcome.kind,
    stage: outcome.stage,
    ...code,
    ...(outcome.message === undefined ? {} : { message: outcome.message }),
    // Nothing reached Payple, or it refused the token: asking again is safe. Declines and
    // configuration errors need a person.
    retryable: outcome.kind === 'unknown' || outcome.kind === 'token_expired',
  };
}

/** Records a refund Payple confirmed; re-reads on a conflict (the webhook may record it first). */
async function recordMadeRefund(
  deps: RefundPaymentDependencies,
  ids: RefundIds,
  refund: PaymentRefund,
): Promise<RefundPaymentResult> {
  const unrecorded = (reason: UnrecordedRefundReason, error?: unknown): RefundPaymentResult => ({
    ...ids,
    kind: 'refunded_unrecorded',
    amount: refund.amount,
    refundedAt: refund.refundedAt,
    reason,
    ...(error instanceof Error ? { error: error.name } : {}),
  });
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const payment = await deps.store.getPayment(ids.oid);
      const subscription = await deps.store.getSubscription(ids.subscriptionId);
      if (!payment || !subscription) return unrecorded('record_disagrees');
      const recording = await recordPaymentRefund(deps, { payment, subscription, refund, now: deps.now() });
      switch (recording.status) {
        case 'recorded':
        case 'duplicate':
          return {
            ...ids,
            kind: 'refunded',
            amount: refund.amount,
            refundedTotal: recording.refundedTotal,
            fullyRefunded: recording.fullyRefunded,
            refundedAt: refund.refundedAt,
            recorded: recording.status === 'recorded' ? 'now' : 'already',
          };
        case 'exceeds_amount':
        case 'not_paid':
          return unrecorded('record_disagrees');
        case 'conflict':
          continue;
      }
    }
    return unrecorded('conflict');
  } catch (error) {
    // Payple has refunded: a thrown error would read as "nothing happened" and invite a second refund.
    return unrecorded('store_failed', error);
  }
}
