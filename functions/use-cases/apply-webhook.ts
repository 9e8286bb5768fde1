/**
 * Applies what Payple's webhook reports. Payple does not sign its webhooks (PAYPLE.md, "Webhook"),
 * so a request that reached this use case has only proved that it knows the URL's path secret:
 * everything it says is checked against what we recorded, and only what we expected is applied.
 *
 * - A payment result applies only as a success that matches our payment (OID, billing key, amount,
 *   pay type) and that we still hold as unsettled. A success for an OID of ours (our OID format)
 *   with no payment recorded is kept as a report: a PAY window's return may record it moments
 *   later, or the money reached Payple without any record (unrecorded-payments.ts follows it up). It settles through `settleAttemptOutcome`, the
 *   same conditional transition as the charger and the reconciler, so duplicates and late copies
 *   change nothing.
 * - Anything else that would change money state (a decline, a mismatch, a success for a payment we
 *   hold as declined) is not applied: an unsettled payment is brought forward for the reconciler's
 *   result lookup, a settled one is reported as a contradiction for an operator. Acting on a forged
 *   decline could make us charge again; acting on a forged success would give service unpaid.
 * - A cancellation records a refund of a paid payment, identified by its time and amount.
 * - A billing key terminated in Payple's admin flags every subscription charging it.
 * - Registrations (AUTH window results) belong to the return flow: acknowledged, nothing changes.
 *
 * The use case never calls Payple: Payple wants an answer within 10 seconds, and the reconciler
 * owns the lookup budget.
 */
import {
  IllegalTransitionError,
  parseOid,
  terminatePaymentMethod,
  UNSETTLED_PAYMENT_STATES,
  type PaymentAnswer,
  type PaymentRecord,
  type PaymentState,
  type PayType,
  type Subscription,
} from '../billing/index.ts';
import { sameSecret } from '../shared/secrets.ts';
import type { BillingStore, UnrecordedPaymentReports } from './ports.ts';
import { recordPaymentRefund } from './refund-payment.ts';
import { settleAttemptOutcome, type SettleDependencies } from './settle-attempt.ts';

/** The store, plus the lookup by billing key that a key termination needs. */
export interface WebhookStore extends BillingStore {
  /** Subscriptions whose current billing key is `billingKey`. */
  findByBillingKey(billingKey: string): Promise<readonly Subscription[]>;
}

export interface ApplyWebhookDependencies extends SettleDependencies {
  readonly store: WebhookStore;
  /** Our Payple partner id (`cst_id`): every webhook must carry it as `PCD_CST_ID`. */
  readonly partnerId: string;
  readonly now: () => number;
  /** Where a success for an OID without a payment record is kept for follow-up. */
  readonly unrecordedPayments: UnrecordedPaymentReports;
}

/** A charge answer, a PAY window result or a CERT confirm, as Payple reported it. */
export interface PaymentResultNotification {
  readonly kind: 'payment_result';
  readonly partnerId: string;
  readonly oid: string;
  /**
   * `success`: `PCD_PAY_RST=success` with a success code. Everything else (`error`, `close`, a
   * success with a failure code) is `failure`.
   */
  readonly result: 'success' | 'failure';
  /** How Payple's codes classify it (for logs; a webhook decline is never applied as such). */
  readonly classification: string;
  /** Secret. */
  readonly billingKey: string | undefined;
  readonly amount: number | undefined;
  readonly payType: PayType | undefined;
  /** Masked card / bank fields and codes, kept with the payment when it settles. */
  readonly answer: PaymentAnswer;
}

/** A cancellation (refund) of a payment. */
export interface CancellationNotification {
  readonly kind: 'cancellation';
  readonly partnerId: string;
  readonly oid: string;
  /** False when Payple reports the cancellation itself failed: nothing was refunded. */
  readonly succeeded: boolean;
  /** Secret. */
  readonly billingKey: string;
  /** `PCD_REFUND_TOTAL`: this refund, whole KRW (Payple's cancel takes and echoes this refund's amount). */
  readonly refundAmount: number;
  /** `PCD_REFUND_TIME` as ISO 8601 (+09:00). */
  readonly refundedAt: string;
  /** `PCD_PAY_TOTAL` when sent: what the payment was for. */
  readonly paidAmount: number | undefined;
  /** `PCD_PAY_TYPE` when sent. */
  readonly payType: PayType | undefined;
}

/** A billing key ended in Payple's partner admin (`PCD_PAY_WORK=PUSERDEL`). */
export interface KeyTerminatedNotification {
  readonly kind: 'key_terminated';
  readonly partnerId: string;
  /** Secret. */
  readonly billingKey: string;
}

/** A card or account registration (AUTH window, CERT window before its confirm). */
export interface RegistrationNotification {
  readonly kind: 'registration';
  readonly partnerId: string;
}

export type WebhookNotification =
  PaymentResultNotification | CancellationNotification | KeyTerminatedNotification | RegistrationNotification;

/** Why a payment result was not applied as it stands. */
export type NotAppliedReason =
  | 'not_a_success'
  | 'amount_mismatch'
  | 'pay_type_mismatch'
  | 'billing_key_mismatch'
  /** The billing key was replaced while the attempt was in flight: the attempt's key is not known. */
  | 'billing_key_unverifiable'
  /** The subscription is missing or no longer has this attempt in flight. */
  | 'subscription_disagrees'
  /** A success for a payment we hold as declined or not charged, or a failure for a paid one. */
  | 'contradicts_settled_state';

export type RefundRefusal =
  'not_paid' | 'exceeds_amount' | 'amount_mismatch' | 'pay_type_mismatch' | 'billing_key_mismatch';

interface PaymentIds {
  readonly oid: string;
  readonly subscriptionId: string;
}

export type WebhookOutcome =
  /** `PCD_CST_ID` is not our partner id. */
  | { readonly kind: 'foreign_partner' }
  /** No payment of ours has this OID. */
  | { readonly kind: 'not_our_payment'; readonly oid: string }
  /** A success for an OID in our format that no payment record has (yet): kept as a report. */
  | { readonly kind: 'unrecorded_payment_reported'; readonly oid: string }
  /** The payment is now paid (by this webhook). */
  | (PaymentIds & { readonly kind: 'settled' })
  /** It says what we already hold: nothing changed. */
  | (PaymentIds & { readonly kind: 'duplicate'; readonly state: PaymentState })
  /**
   * Not applied; the payment is unsettled and the reconciler looks it up (`requested`: brought
   * forward to now by this webhook; otherwise already due or already on the reconciler's schedule).
   */
  | (PaymentIds & {
      readonly kind: 'lookup_scheduled';
      readonly reason: NotAppliedReason;
      readonly requested: boolean;
    })
  /** Not applied; contradicts a settled payment (or one under review): an operator decides. */
  | (PaymentIds & {
      readonly kind: 'contradiction';
      readonly state: PaymentState;
      readonly reason: NotAppliedReason;
    })
  | (PaymentIds & {
      readonly kind: 'refund_recorded';
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
    })
  | (PaymentIds & { readonly kind: 'refund_duplicate' })
  | (PaymentIds & {
      readonly kind: 'refund_refused';
      readonly reason: RefundRefusal;
      readonly state: PaymentState;
      readonly lookupRequested: boolean;
    })
  /** `changed`: the subscriptions flagged now (the others were flagged or replaced already). */
  | { readonly kind: 'key_terminated'; readonly changed: readonly string[] }
  | { readonly kind: 'acknowledged'; readonly reason: 'registration' | 'cancellation_failed' };

/** How often a use case re-reads after a concurrent change before it gives up (and answers 500). */
const MAX_ROUNDS = 5;

const PAID_STATES: readonly PaymentState[] = ['paid', 'partially_refunded', 'refunded'];
const NOT_CHARGED_STATES: readonly PaymentState[] = ['declined', 'not_charged'];
/** Classifications of a failure that refused the request itself before anything was charged. */
const REFUSALS: readonly string[] = ['duplicate_oid', 'token_expired', 'config_error'];

/** Applies one webhook notification; throws only for infrastructure failures. */
export async function applyWebhook(
  deps: ApplyWebhookDependencies,
  notification: WebhookNotification,
): Promise<WebhookOutcome> {
  if (notification.partnerId !== deps.partnerId) return { kind: 'foreign_partner' };
  switch (notification.kind) {
    case 'payment_result':
      return applyPaymentResult(deps, notification);
    case 'cancellation':
      return applyCancellation(deps, notification);
    case 'key_terminated':
      return applyKeyTermination(deps, notification);
    case 'registration':
      return { kind: 'acknowledged', reason: 'registration' };
  }
}

/**
 * What does not match the payment's attempt, if anything: amount, pay type, then the billing key,
 * which only the subscription knows, and only while the attempt is in flight with the key it was
 * claimed with.
 */
function mismatchOf(
  notification: PaymentResultNotification,
  payment: PaymentRecord,
  subscription: Subscription | undefined,
): NotAppliedReason | undefined {
  if (notification.amount !== payment.amount) return 'amount_mismatch';
  if (notification.payType !== payment.payType) return 'pay_type_mismatch';
  const inFlight = subscription?.inFlight;
  if (subscription === undefined || inFlight?.oid !== payment.oid) return 'subscription_disagrees';
  if (inFlight.paymentMethodRevision !== subscription.paymentMethod.revision)
    return 'billing_key_unverifiable';
  if (!sameSecret(notification.billingKey ?? '', subscription.paymentMethod.billingKeyRef))
    return 'billing_key_mismatch';
  return undefined;
}

/** A settled payment: the webhook either repeats it or contradicts it. */
function judgeSettled(
  notification: PaymentResultNotification,
  payment: PaymentRecord,
  ids: PaymentIds,
): WebhookOutcome {
  const { state } = payment;
  if (notification.result === 'success') {
    // A copy of the success we applied (or the reconciler found): its money must be the same.
    // The billing key is not compared: the subscription may have replaced it since.
    if (PAID_STATES.includes(state)) {
      if (notification.amount !== payment.amount)
        return { ...ids, kind: 'contradiction', state, reason: 'amount_mismatch' };
      if (notification.payType !== payment.payType)
        return { ...ids, kind: 'contradiction', state, reason: 'pay_type_mismatch' };
      return { ...ids, kind: 'duplicate', state };
    }
    return { ...ids, kind: 'contradiction', state, reason: 'contradicts_settled_state' };
  }
  // A refused request (a resent OID, an expired token, our configuration) says nothing about the
  // money of the payment that settled.
  if (NOT_CHARGED_STATES.includes(state) || REFUSALS.includes(notification.classification))
    return { ...ids, kind: 'duplicate', state };
  return { ...ids, kind: 'contradiction', state, reason: 'contradicts_settled_state' };
}

async function applyPaymentResult(
  deps: ApplyWebhookDependencies,
  notification: PaymentResultNotification,
): Promise<WebhookOutcome> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const payment = await deps.store.getPayment(notification.oid);
    if (!payment) return reportUnrecorded(deps, notification);
    const ids = { oid: payment.oid, subscriptionId: payment.subscriptionId };
    const unsettled = UNSETTLED_PAYMENT_STATES.includes(payment.state);
    if (!unsettled && payment.state !== 'needs_review') return judgeSettled(notification, payment, ids);

    const subscription = await deps.store.getSubscription(payment.subscriptionId);
    const reason: NotAppliedReason | undefined =
      notification.result === 'success' ? mismatchOf(notification, payment, subscription) : 'not_a_success';

    if (reason === undefined) {
      const settled = await settleAttemptOutcome(deps, {
        oid: payment.oid,
        outcome: { kind: 'paid', resolvedBy: 'webhook' },
        answer: notification.answer,
        now: deps.now(),
      });
      if (settled.status === 'settled') return { ...ids, kind: 'settled' };
      if (settled.status === 'inconsistent') {
        return { ...ids, kind: 'contradiction', state: settled.state, reason: 'subscription_disagrees' };
      }
      continue; // Settled by someone else meanwhile: judge this webhook against what they found.
    }

    // Under review, the reconciler has given up looking: only an operator moves it on.
    if (!unsettled) return { ...ids, kind: 'contradiction', state: payment.state, reason };

    const requested = await requestLookup(deps, payment);
    if (requested === 'conflict') continue;
    return { ...ids, kind: 'lookup_scheduled', reason, requested: requested === 'requested' };
  }
  throw new Error(`webhook for ${notification.oid}: still conflicting after ${MAX_ROUNDS} rounds`);
}

/**
 * A success with no payment record: money may have reached Payple under one of our OIDs (a PAY
 * window whose return has not recorded it, or never will). Only our OID format is kept, so a
 * stranger's OIDs cannot fill the report.
 */
async function reportUnrecorded(
  deps: ApplyWebhookDependencies,
  notification: PaymentResultNotification,
): Promise<WebhookOutcome> {
  const { oid } = notification;
  if (notification.result !== 'success' || parseOid(oid) === undefined)
    return { kind: 'not_our_payment', oid };
  await deps.unrecordedPayments.record({
    oid,
    reportedAt: deps.now(),
    ...(notification.amount === undefined ? {} : { amount: notification.amount }),
    ...(notification.payType === undefined ? {} : { payType: notification.payType }),
  });
  return { kind: 'unrecorded_payment_reported', oid };
}

/**
 * Brings an unsettled payment's next lookup forward to now (a conditional write on what was read),
 * so the reconciler's next run looks it up. Only before the reconciler's first lookup: after that
 * its backoff schedule decides, so a stream of (forged) declines can neither spend the shared lookup
 * budget nor run the payment through its schedule into `needs_review`.
 */
async function requestLookup(
  deps: ApplyWebhookDependencies,
  payment: PaymentRecord,
): Promise<'requested' | 'already_scheduled' | 'conflict'> {
  const now = deps.now();
  const current = payment.reconcile;
  if (current !== undefined && (current.nextAt <= now || current.lookups > 0)) return 'already_scheduled';
  const result = await deps.store.commit({
    payment: {
      expected: { states: [payment.state], version: payment.version },
      next: {
        ...payment,
        reconcile: { nextAt: now, lookups: current?.lookups ?? 0 },
        version: payment.version + 1,
      },
    },
    events: [],
  });
  return result.committed ? 'requested' : 'conflict';
}

async function applyCancellation(
  deps: ApplyWebhookDependencies,
  notification: CancellationNotification,
): Promise<WebhookOutcome> {
  if (!notification.succeeded) return { kind: 'acknowledged', reason: 'cancellation_failed' };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const payment = await deps.store.getPayment(notification.oid);
    if (!payment) return { kind: 'not_our_payment', oid: notification.oid };
    const ids = { oid: payment.oid, subscriptionId: payment.subscriptionId };
    const refused = (reason: RefundRefusal, lookupRequested = false): WebhookOutcome => ({
      ...ids,
      kind: 'refund_refused',
      reason,
      state: payment.state,
      lookupRequested,
    });

    if (!PAID_STATES.includes(payment.state)) {
      if (!UNSETTLED_PAYMENT_STATES.includes(payment.state)) return refused('not_paid');
      // A refund says the money was taken: find out what happened to the charge first.
      const requested = await requestLookup(deps, payment);
      if (requested === 'conflict') continue;
      return refused('not_paid', requested === 'requested');
    }
    if (notification.paidAmount !== undefined && notification.paidAmount !== payment.amount)
      return refused('amount_mismatch');
    if (notification.payType !== undefined && notification.payType !== payment.payType)
      return refused('pay_type_mismatch');
    const subscription = await deps.store.getSubscription(payment.subscriptionId);
    // Payple echoes the billing key that paid. Compared with the subscription's current key, so a
    // refund of a payment made with a key replaced since is refused and left to an operator.
    if (!subscription || !sameSecret(notification.billingKey, subscription.paymentMethod.billingKeyRef))
      return refused('billing_key_mismatch');

    const recording = await recordPaymentRefund(deps, {
      payment,
      subscription,
      refund: { amount: notification.refundAmount, refundedAt: notification.refundedAt },
      now: deps.now(),
    });
    switch (recording.status) {
      case 'recorded':
        return {
          ...ids,
          kind: 'refund_recorded',
          refundedTotal: recording.refundedTotal,
          fullyRefunded: recording.fullyRefunded,
        };
      case 'duplicate':
        return { ...ids, kind: 'refund_duplicate' };
      case 'exceeds_amount':
        return refused('exceeds_amount');
      case 'not_paid':
        return refused('not_paid');
      case 'conflict':
        continue;
    }
  }
  throw new Error(`refund webhook for ${notification.oid}: still conflicting after ${MAX_ROUNDS} rounds`);
}

async function applyKeyTermination(
  deps: ApplyWebhookDependencies,
  notification: KeyTerminatedNotification,
): Promise<WebhookOutcome> {
  const changed: string[] = [];
  for (const found of await deps.store.findByBillingKey(notification.billingKey)) {
    if (await terminateKeyOf(deps, found, notification.billingKey)) changed.push(found.id);
  }
  return { kind: 'key_terminated', changed };
}

/** Flags one subscription's payment method; false when there was nothing to change. */
async function terminateKeyOf(
  deps: ApplyWebhookDependencies,
  found: Subscription,
  billingKey: string,
): Promise<boolean> {
  let subscription: Subscription | undefined = found;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!subscription || subscription.status === 'canceled') return false;
    let transition;
    try {
      transition = terminatePaymentMethod(subscription, billingKey, deps.now());
    } catch (error) {
      if (error instanceof IllegalTransitionError) return false;
      throw error;
    }
    if (transition.subscription === subscription) return false;
    const result = await deps.store.commit({
      subscription: { expectedVersion: subscription.version, next: transition.subscription },
      events: transition.events,
    });
    if (result.committed) {
      await deps.publisher.publish(transition.events);
      return true;
    }
    subscription = await deps.store.getSubscription(found.id);
  }
  throw new Error(`terminating the key of ${found.id}: still conflicting after ${MAX_ROUNDS} rounds`);
}
