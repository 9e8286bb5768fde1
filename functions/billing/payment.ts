/**
 * A charge attempt as we record it, keyed by the `PCD_PAY_OID` we sent. The record is created when
 * the attempt is claimed (before Payple hears of it), so a payment can never exist at Payple
 * without a record here.
 */
import type { DeclineClass, PayType, ResolvedBy } from './events.ts';
import type { PeriodKey } from './calendar.ts';
import { kstCompactDateOf } from './kst.ts';
import type { ChargeRequest } from './subscription.ts';

/**
 * The states of a payment. Every change is a conditional write on the current state, so whichever
 * of the charger, the webhook, the reconciler or an operator comes second changes nothing.
 *
 * ```
 * charging ──▶ paid | declined | unknown | not_charged | needs_review
 * unknown  ──▶ paid | declined | not_charged | needs_review
 * needs_review ──▶ paid | declined | not_charged        (an operator, after checking Payple)
 * paid ──▶ partially_refunded | refunded
 * partially_refunded ──▶ partially_refunded | refunded
 * ```
 */
export const PaymentState = {
  /** Claimed; the charge may be on its way to Payple. */
  charging: 'charging',
  paid: 'paid',
  declined: 'declined',
  /** Payple's answer was not definite: money may have moved. Only a lookup or webhook settles it. */
  unknown: 'unknown',
  /** A lookup proved Payple never charged it; the subscription makes a new attempt. */
  not_charged: 'not_charged',
  /** Unresolved after the whole lookup schedule: an operator decides; nothing charges on its own. */
  needs_review: 'needs_review',
  refunded: 'refunded',
  partially_refunded: 'partially_refunded',
} as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

/** States whose outcome is not yet known: the period stays blocked and the reconciler looks. */
export const UNSETTLED_PAYMENT_STATES: readonly PaymentState[] = ['charging', 'unknown'];
/** States a definite outcome may still be applied to. */
export const SETTLEABLE_PAYMENT_STATES: readonly PaymentState[] = ['charging', 'unknown', 'needs_review'];

/** What Payple told us about the attempt (masked card/bank fields only, never the billing key). */
export interface PaymentAnswer {
  readonly code?: string;
  readonly issuerCode?: string;
  /** Payple's message with secrets scrubbed. */
  readonly message?: string;
  /** `PCD_PAY_TIME` as ISO 8601 (+09:00). */
  readonly paidAt?: string;
  readonly cardName?: string;
  readonly maskedCardNumber?: string;
  readonly bankName?: string;
  readonly maskedAccountNumber?: string;
  readonly tradeNumber?: string;
  readonly approvalNumber?: string;
  readonly receiptUrl?: string;
}

/**
 * A refund Payple reported. Payple gives a refund no id of its own: its time and amount identify it
 * (a second delivery of the same refund is recognised by both).
 */
export interface PaymentRefund {
  /** Whole KRW of this refund. */
  readonly amount: number;
  /** `PCD_REFUND_TIME` as ISO 8601 (+09:00). */
  readonly refundedAt: string;
  /**
   * The caller's id of the request this refund was made for (`refundPayment`'s `requestId`), so a
   * retry of that request is answered from here and sends nothing. Absent for a refund that reached
   * us only through Payple's webhook (made in Payple's admin, or recorded before request ids).
   */
  readonly requestId?: string;
}

/**
 * A refund of this payment claimed before Payple was asked for it, not yet recorded or known not to
 * have happened (functions/use-cases/refund-payment.ts). While a payment has one, no other refund
 * of it is sent.
 */
export interface PendingRefund {
  /** Whole KRW asked for. */
  readonly amount: number;
  /** When the refund was claimed (epoch ms). */
  readonly requestedAt: number;
  /**
   * The caller's id of the request that claimed it; recorded on the refund when the claim is
   * resolved as refunded. Absent only on claims written before request ids.
   */
  readonly requestId?: string;
}

export interface PaymentRecord {
  readonly oid: string;
  readonly subscriptionId: string;
  readonly period: number;
  readonly periodKey: PeriodKey;
  readonly attempt: number;
  /** Whole KRW. */
  readonly amount: number;
  readonly payType: PayType;
  readonly state: PaymentState;
  /** When the attempt was claimed (epoch ms). */
  readonly requestedAt: number;
  /** KST `YYYYMMDD` of the request: the date Payple's result lookup and refunds need. */
  readonly requestDate: string;
  readonly declineClass?: DeclineClass;
  readonly answer?: PaymentAnswer;
  readonly resolvedBy?: ResolvedBy;
  readonly settledAt?: number;
  /** While unsettled: when the reconciler looks next, and how many lookups it has made. */
  readonly reconcile?: { readonly nextAt: number; readonly lookups: number };
  readonly refundedTotal?: number;
  /** The refunds recorded, oldest first; `refundedTotal` is their sum. */
  readonly refunds?: readonly PaymentRefund[];
  /**
   * The month guard (`PCD_REGULER_FLAG`, year, month) the charge was sent with, if any: a refund
   * of a guarded payment names it too. Absent for window payments and unguarded charges.
   */
  readonly monthGuard?: { readonly year: number; readonly month: number };
  /** A refund claimed and sent (or on its way) whose outcome is not recorded yet. */
  readonly pendingRefund?: PendingRefund;
  /** +1 on every change. */
  readonly version: number;
}

/**
 * The record of a claimed attempt, written in the same transaction as the claim: before Payple
 * hears of the charge, so no money can move under an OID we have no record of. Its KST request date
 * is the date Payple's lookup and refunds need; `reconcileAt` is when the reconciler looks if no
 * outcome is recorded by then.
 */
export function newPaymentRecord(
  charge: ChargeRequest,
  state: 'charging' | 'unknown',
  requestedAt: number,
  reconcileAt: number,
): PaymentRecord {
  return {
    oid: charge.oid,
    subscriptionId: charge.subscriptionId,
    period: charge.period,
    periodKey: charge.periodKey,
    attempt: charge.attempt,
    amount: charge.amount,
    payType: charge.payType,
    state,
    requestedAt,
    requestDate: kstCompactDateOf(requestedAt),
    reconcile: { nextAt: reconcileAt, lookups: 0 },
    version: 1,
  };
}
