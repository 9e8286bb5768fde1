/**
 * The return flow's use case: Payple's window posted its result to PCD_RST_URL through the
 * customer's browser. That post is untrusted and forgeable; only the session (recorded at checkout)
 * and Payple's own answers to our server calls decide anything:
 *
 * - AUTH: PUSERINFO confirms the billing key is active and of the session's pay type; then the
 *   subscription is created (period 0 due at once, its charge job enqueued at once), or, for a
 *   replacement, the key replaces the subscription's (an overdue period is charged at once).
 * - PAY: the window charged period 0 with the session's OID. The subscription and that attempt
 *   (`unknown`, reconcile now) are committed together, then one result lookup from the shared
 *   budget with the session's amount settles it when Payple confirms; otherwise the reconciler or
 *   the webhook will. The form's PCD_PAY_TOTAL / PCD_PAY_OID are never read. A PAY window that
 *   answered a decline is not taken at its word either: a lookup must find the attempt declined
 *   (or absent) before the session fails quietly; money found, or no definite answer, is recorded
 *   (with the form's billing key) or flagged for review (without one).
 * - CERT: nothing is charged until we confirm at PCD_PAY_COFURL (only Payple's host or the
 *   configured one). The attempt is claimed before the confirm, as the charger claims before a
 *   charge, and the confirm's answer settles it.
 *
 * The session moves `open → completing → completed | failed` with conditional writes, so a replayed
 * or concurrent post finds it no longer open and changes nothing.
 */
import {
  claimAttempt,
  createSubscription,
  IllegalTransitionError,
  kstCompactDateOf,
  newPaymentRecord,
  replacePaymentMethod,
  scheduledAttempt,
  type Customer,
  type PaymentRecord,
  type PaymentState,
  type PayType,
  type Subscription,
} from '../billing/index.ts';
import {
  classifyFailure,
  isAllowedTarget,
  PaypleTransportError,
  type BillingKeyInfoOutcome,
  type BillingKeyInput,
  type CertConfirmInput,
  type ChargeOutcome,
  type PaymentLookupOutcome,
} from '../payple/index.ts';
import { answerOf, settleOutcomeFor } from './charge-attempt.ts';
import {
  RETURN_GRACE_MS,
  SESSION_ID_PATTERN,
  type CheckoutSession,
  type CheckoutSessionStore,
  type RedirectPolicy,
} from './checkout.ts';
import type { JobQueue, LookupBudget } from './ports.ts';
import type { LookupGateway } from './reconcile.ts';
import { settleAttemptOutcome, type SettleDependencies } from './settle-attempt.ts';

/** The window's result as the edge read it from the browser's form post. Untrusted. */
export interface WindowResult {
  readonly result: 'success' | 'error' | 'close';
  readonly code?: string;
  readonly message?: string;
  /** `PCD_PAYER_ID`: the billing key the browser claims was issued. Secret: never logged. */
  readonly payerId?: string;
  /** CERT: `PCD_PAY_REQKEY`, `PCD_AUTH_KEY`, `PCD_PAY_COFURL`. Secret: never logged. */
  readonly requestKey?: string;
  readonly authKey?: string;
  readonly confirmUrl?: string;
}

/** The Payple calls of the return flow. */
export interface ReturnGateway extends LookupGateway {
  getBillingKeyInfo(input: BillingKeyInput): Promise<BillingKeyInfoOutcome>;
  confirmCertPayment(input: CertConfirmInput): Promise<ChargeOutcome>;
}

export interface CompleteCheckoutDependencies extends SettleDependencies {
  readonly sessions: CheckoutSessionStore;
  readonly queue: JobQueue;
  readonly budget: LookupBudget;
  readonly payple: ReturnGateway;
  /** The configured Payple base URL: a confirm URL must be Payple's host or this one. */
  readonly paypleHost: string;
  readonly redirects: RedirectPolicy;
  readonly now: () => number;
  /** How long a claimed CERT confirm may stay `charging` before the reconciler looks it up. */
  readonly chargingTimeoutMs: number;
  /** When the reconciler first looks up a confirm whose answer was not definite. */
  readonly firstLookupDelayMs: number;
  /** Payple codes of a lookup that found no payment with the OID and date. */
  readonly notFoundCodes: readonly string[];
}

/** Why a return ended the way it did. Safe to log. */
export type ReturnReason =
  | 'unknown_session'
  | 'malformed_result'
  | 'expired'
  | 'already_completed'
  | 'already_used'
  | 'closed'
  | 'window_error'
  | 'missing_fields'
  | 'key_not_active'
  | 'wrong_pay_type'
  | 'key_unverifiable'
  | 'confirm_url_not_allowed'
  | 'not_replaceable'
  | 'conflict'
  | 'subscribed'
  | 'payment_method_replaced'
  | 'first_payment_paid'
  | 'first_payment_unconfirmed'
  | 'first_payment_declined'
  /** Something unexpected failed; the session is closed as failed, the error is in `error`. */
  | 'internal_error';

export interface ReturnResult {
  readonly outcome: 'success' | 'failure';
  /** The session's success or failure URL (allow-listed), or the default result page. */
  readonly redirectTo: string;
  readonly reason: ReturnReason;
  readonly sessionId?: string;
  readonly subscriptionId?: string;
  readonly oid?: string;
  readonly paymentState?: PaymentState;
  /**
   * Money may have moved under the session's OID without a subscription recording it (a paid window
   * whose key or session was refused): an operator must check the OID at Payple.
   */
  readonly needsReview?: boolean;
  /** For `internal_error`: what was thrown (to log). */
  readonly error?: unknown;
  /**
   * A step after the outcome was committed failed (sending the charge job, closing the session):
   * the outcome stands (the dispatcher's next run enqueues the job), the error is for the log.
   */
  readonly followUpError?: unknown;
}

interface Completion {
  readonly outcome: 'success' | 'failure';
  readonly reason: ReturnReason;
  readonly oid?: string;
  readonly paymentState?: PaymentState;
  readonly needsReview?: boolean;
  readonly followUpError?: unknown;
}

const succeeded = (reason: ReturnReason, extra: Partial<Completion> = {}): Completion => ({
  outcome: 'success',
  reason,
  ...extra,
});
const failed = (reason: ReturnReason, extra: Partial<Completion> = {}): Completion => ({
  outcome: 'failure',
  reason,
  ...extra,
});

/** Where to send the browser: the session's page if it is still allow-listed, else ours. */
function redirectFor(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession | undefined,
  outcome: 'success' | 'failure',
): string {
  const wanted = outcome === 'success' ? session?.successUrl : session?.failureUrl;
  if (wanted !== undefined && deps.redirects.allowed.has(wanted)) return wanted;
  return outcome === 'success' ? deps.redirects.defaultSuccessUrl : deps.redirects.defaultFailureUrl;
}

/**
 * Whether a window PAY that answered `error` may still have taken money ("no answer from the card
 * company", "result not received", a duplicate OID): then it is treated like a success to confirm.
 */
function payMayHaveCharged(result: WindowResult, payType: PayType): boolean {
  if (result.result !== 'error') return false;
  const { kind } = classifyFailure(result.code, result.message, { operation: 'charge', payType });
  return kind === 'unknown' || kind === 'duplicate_oid';
}

type KeyCheck = 'valid' | 'not_active' | 'wrong_pay_type' | 'unverifiable';

/** PUSERINFO: is the key the browser named an active key of the session's pay type? */
async function checkBillingKey(
  deps: CompleteCheckoutDependencies,
  billingKey: string,
  payType: PayType,
): Promise<KeyCheck> {
  for (let round = 0; round < 2; round++) {
    let info: BillingKeyInfoOutcome;
    try {
      info = await deps.payple.getBillingKeyInfo({ billingKey });
    } catch (error) {
      if (error instanceof PaypleTransportError) return 'unverifiable';
      throw error;
    }
    if (info.kind === 'success') return info.value.payType === payType ? 'valid' : 'wrong_pay_type';
    if (info.kind === 'hard_decline') return 'not_active';
    // A refused lookup token is dropped by the client: one more try with a fresh one.
    if (info.kind !== 'token_expired') return 'unverifiable';
  }
  return 'unverifiable';
}

const KEY_FAILURE: Readonly<Record<Exclude<KeyCheck, 'valid'>, ReturnReason>> = {
  not_active: 'key_not_active',
  wrong_pay_type: 'wrong_pay_type',
  unverifiable: 'key_unverifiable',
};

function customerOf(session: CheckoutSession): Customer {
  if (session.customer === undefined) {
    throw new Error(`checkout session for ${session.subscriptionId} has no customer while completing`);
  }
  return session.customer;
}

function newSubscription(session: CheckoutSession, billingKey: string, now: number) {
  const { firstPayment: _mode, ...plan } = session.plan;
  return createSubscription(
    {
      id: session.subscriptionId,
      customer: customerOf(session),
      plan,
      payType: session.payType,
      billingKeyRef: billingKey,
    },
    now,
  );
}

/**
 * Sends the due attempt to the billing queue now. The dispatcher's next run is the fallback, so a
 * failure here must not turn a committed subscription into a failure page (a customer told so
 * would subscribe again): it is returned for the log.
 */
async function enqueueIfDue(
  deps: CompleteCheckoutDependencies,
  sub: Subscription,
  now: number,
): Promise<Pick<Completion, 'followUpError'>> {
  const attempt = scheduledAttempt(sub);
  if (attempt === undefined || attempt.dueAt > now) return {};
  try {
    await deps.queue.send([{ subscriptionId: sub.id, period: attempt.period, attempt: attempt.attempt }]);
    return {};
  } catch (error) {
    return { followUpError: error };
  }
}

async function subscribe(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  billingKey: string,
): Promise<Completion> {
  const now = deps.now();
  const { subscription, events } = newSubscription(session, billingKey, now);
  const commit = await deps.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    events,
  });
  if (!commit.committed) return failed('conflict');
  await deps.publisher.publish(events);
  return succeeded('subscribed', await enqueueIfDue(deps, subscription, now));
}

const MAX_REPLACE_ROUNDS = 5;

async function replaceKey(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  billingKey: string,
): Promise<Completion> {
  for (let round = 0; round < MAX_REPLACE_ROUNDS; round++) {
    const sub = await deps.store.getSubscription(session.subscriptionId);
    if (sub === undefined) return failed('not_replaceable');
    const now = deps.now();
    let transition;
    try {
      transition = replacePaymentMethod(sub, { payType: session.payType, billingKeyRef: billingKey }, now);
    } catch (error) {
      if (error instanceof IllegalTransitionError) return failed('not_replaceable');
      throw error;
    }
    const commit = await deps.store.commit({
      subscription: { expectedVersion: sub.version, next: transition.subscription },
      events: transition.events,
    });
    if (!commit.committed) continue; // the charger or a webhook changed it meanwhile: decide again
    await deps.publisher.publish(transition.events);
    return succeeded('payment_method_replaced', await enqueueIfDue(deps, transition.subscription, now));
  }
  return failed('conflict');
}

/**
 * The subscription with period 0 attempt 1 claimed, as of the checkout instant: the OID handed to
 * the window at checkout carries that instant's KST date (checkouts that pay at once are refused
 * where the session could cross midnight or the maintenance window, see checkout.ts).
 */
function claimFirstPayment(session: CheckoutSession, billingKey: string) {
  const created = newSubscription(session, billingKey, session.createdAt);
  const claimed = claimAttempt(created.subscription, { period: 0, attempt: 1 }, session.createdAt);
  if (claimed.charge.oid !== session.firstPaymentOid) {
    throw new Error(`first payment OID of ${session.subscriptionId} differs from the session's`);
  }
  return {
    subscription: claimed.subscription,
    events: [...created.events, ...claimed.events],
    charge: claimed.charge,
  };
}

/** What Payple's ledger says of the first payment's OID. */
type LookupFinding =
  | { readonly verdict: 'paid' | 'declined'; readonly outcome: PaymentLookupOutcome }
  | { readonly verdict: 'not_found' | 'unconfirmed' };

/**
 * Looks the first payment up, one lookup per possible KST date (the checkout's, then `laterDate`),
 * from the shared budget. `unconfirmed`: no budget, Payple not answering, or an answer that is
 * neither a payment nor Payple's "not found".
 */
async function lookUpFirstPayment(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  oid: string,
  laterDate: string,
): Promise<LookupFinding> {
  const dates = [...new Set([kstCompactDateOf(session.createdAt), laterDate])];
  let notFoundOnEveryDate = true;
  for (const date of dates) {
    const now = deps.now();
    if ((await deps.budget.reserve(1, now)) === 0) return { verdict: 'unconfirmed' };
    let outcome;
    try {
      outcome = await deps.payple.lookupPayment({
        oid,
        payType: session.payType,
        date,
        expectedAmount: session.plan.amount,
      });
    } catch (error) {
      if (error instanceof PaypleTransportError) return { verdict: 'unconfirmed' };
      throw error;
    }
    if (outcome.kind === 'success') return { verdict: 'paid', outcome };
    if (outcome.kind === 'soft_decline' || outcome.kind === 'hard_decline') {
      return { verdict: 'declined', outcome };
    }
    if (outcome.kind === 'lookup_limited') {
      await deps.budget.block(now);
      return { verdict: 'unconfirmed' };
    }
    const notFound = outcome.kind === 'unknown' && deps.notFoundCodes.includes(outcome.code ?? '');
    if (!notFound) notFoundOnEveryDate = false;
  }
  return { verdict: notFoundOnEveryDate ? 'not_found' : 'unconfirmed' };
}

/** Settles the claimed first payment on what the lookup found; anything else leaves it `unknown`. */
async function settleFirstPayment(
  deps: CompleteCheckoutDependencies,
  payment: PaymentRecord,
  finding: LookupFinding,
): Promise<PaymentState> {
  if (finding.verdict === 'paid' || finding.verdict === 'declined') {
    const { outcome } = finding;
    const code = outcome.kind === 'success' ? undefined : outcome.code;
    const settled = await settleAttemptOutcome(deps, {
      oid: payment.oid,
      outcome:
        finding.verdict === 'paid'
          ? { kind: 'paid', resolvedBy: 'result_lookup' }
          : {
              kind: outcome.kind === 'hard_decline' ? 'hard_declined' : 'soft_declined',
              resolvedBy: 'result_lookup',
              ...(code ? { code } : {}),
            },
      answer: answerOf(outcome),
      now: deps.now(),
    });
    return settled.state ?? 'unknown';
  }
  // Not confirmed (yet): the payment stays `unknown` for the webhook or the reconciler, whose
  // grace period decides when "not found" means "not charged".
  return (await deps.store.getPayment(payment.oid))?.state ?? 'unknown';
}

function firstPaymentCompletion(oid: string, state: PaymentState): Completion {
  if (state === 'paid') return succeeded('first_payment_paid', { oid, paymentState: state });
  if (state === 'declined' || state === 'not_charged') {
    return failed('first_payment_declined', { oid, paymentState: state });
  }
  return succeeded('first_payment_unconfirmed', { oid, paymentState: state });
}

/**
 * Records the window's payment and settles it by a lookup (or by `found`, a lookup already made for
 * this return).
 */
async function payNow(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  result: WindowResult,
  found?: LookupFinding,
): Promise<Completion> {
  const oid = session.firstPaymentOid;
  // Money may have moved under our OID from here on: every refusal is for an operator to review.
  if (result.payerId === undefined) return failed('missing_fields', { oid, needsReview: true });
  const key = await checkBillingKey(deps, result.payerId, session.payType);
  // Unverifiable (Payple not answering) still records the payment: losing it would be worse.
  if (key === 'not_active' || key === 'wrong_pay_type') {
    return failed(KEY_FAILURE[key], { oid, needsReview: true });
  }
  const now = deps.now();
  const { subscription, events, charge } = claimFirstPayment(session, result.payerId);
  const payment = newPaymentRecord(charge, 'unknown', now, now);
  const commit = await deps.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    payment: { expected: 'new', next: payment },
    events,
  });
  if (!commit.committed) return failed('conflict', { oid, needsReview: true });
  await deps.publisher.publish(events);
  const finding = found ?? (await lookUpFirstPayment(deps, session, payment.oid, payment.requestDate));
  return firstPaymentCompletion(charge.oid, await settleFirstPayment(deps, payment, finding));
}

/**
 * A PAY window that answered a decline. The browser's word is not enough to forget the OID: only
 * Payple finding the attempt declined, or finding nothing under it, ends the session quietly.
 * Money found, or no definite answer: with the form's billing key the payment is recorded for the
 * lookup / reconciler to settle (a real decline then fails the subscription's first payment),
 * without one an operator must check the OID.
 */
async function payDeclinedInWindow(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  result: WindowResult,
): Promise<Completion> {
  const oid = session.firstPaymentOid;
  if (oid === undefined) throw new Error(`PAY checkout session for ${session.subscriptionId} has no OID`);
  const found = await lookUpFirstPayment(deps, session, oid, kstCompactDateOf(deps.now()));
  if (found.verdict === 'declined' || found.verdict === 'not_found') return failed('window_error', { oid });
  if (result.payerId === undefined) return failed('window_error', { oid, needsReview: true });
  const recorded = await payNow(deps, session, result, found);
  // The customer saw a decline in the window: not "subscribed" until Payple says it was paid.
  return recorded.reason === 'first_payment_unconfirmed' ? { ...recorded, outcome: 'failure' } : recorded;
}

async function payAfterConfirm(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  result: WindowResult,
): Promise<Completion> {
  const { payerId, requestKey, authKey, confirmUrl } = result;
  if (
    payerId === undefined ||
    requestKey === undefined ||
    authKey === undefined ||
    confirmUrl === undefined
  ) {
    return failed('missing_fields');
  }
  // Checked before anything is written: the confirm carries our custKey.
  if (!isAllowedTarget(confirmUrl, deps.paypleHost)) return failed('confirm_url_not_allowed');
  const key = await checkBillingKey(deps, payerId, session.payType);
  if (key !== 'valid') return failed(KEY_FAILURE[key]);

  const now = deps.now();
  const { subscription, events, charge } = claimFirstPayment(session, payerId);
  // Claimed before the confirm, as the charger claims before a charge: a crash leaves `charging`.
  const payment = newPaymentRecord(charge, 'charging', now, now + deps.chargingTimeoutMs);
  const commit = await deps.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    payment: { expected: 'new', next: payment },
    events,
  });
  if (!commit.committed) return failed('conflict');
  await deps.publisher.publish(events);

  const outcome = await deps.payple.confirmCertPayment({
    confirmUrl,
    authKey,
    requestKey,
    billingKey: payerId,
    payType: session.payType,
    expectedOid: charge.oid,
    expectedAmount: charge.amount,
  });
  const settled = await settleAttemptOutcome(deps, {
    oid: charge.oid,
    outcome: settleOutcomeFor(outcome, deps.now(), deps.firstLookupDelayMs),
    answer: answerOf(outcome),
    now: deps.now(),
  });
  return firstPaymentCompletion(charge.oid, settled.state ?? 'unknown');
}

async function complete(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession,
  result: WindowResult,
): Promise<Completion> {
  if (result.result === 'close') return failed('closed');
  if (session.work === 'PAY' && (result.result === 'success' || payMayHaveCharged(result, session.payType))) {
    return payNow(deps, session, result);
  }
  if (session.work === 'PAY' && result.result === 'error') return payDeclinedInWindow(deps, session, result);
  if (result.result === 'error') return failed('window_error');
  if (session.work === 'CERT') return payAfterConfirm(deps, session, result);

  if (result.payerId === undefined) return failed('missing_fields');
  const key = await checkBillingKey(deps, result.payerId, session.payType);
  if (key !== 'valid') return failed(KEY_FAILURE[key]);
  return session.purpose === 'replace_payment_method'
    ? replaceKey(deps, session, result.payerId)
    : subscribe(deps, session, result.payerId);
}

/** A post for a session that is not open: nothing changes (an expired open session is closed). */
async function refuse(
  deps: CompleteCheckoutDependencies,
  session: CheckoutSession | undefined,
  result: WindowResult,
  now: number,
): Promise<ReturnResult> {
  if (session === undefined) {
    return {
      outcome: 'failure',
      redirectTo: redirectFor(deps, undefined, 'failure'),
      reason: 'unknown_session',
    };
  }
  const ids = { sessionId: session.sessionId, subscriptionId: session.subscriptionId };
  if (session.status === 'completed') {
    // The same answer as the first post gave: a customer who reloads must not be told it failed.
    return {
      outcome: 'success',
      redirectTo: redirectFor(deps, session, 'success'),
      reason: 'already_completed',
      ...ids,
    };
  }
  const expired = session.status === 'open';
  if (expired) await deps.sessions.finish(session.sessionId, 'open', 'failed', 'expired', now);
  return {
    outcome: 'failure',
    redirectTo: redirectFor(deps, session, 'failure'),
    reason: expired ? 'expired' : 'already_used',
    ...ids,
    // Not looked up after expiry: a PAY window that did not just close may have taken money (an
    // "error" too, as in `complete`), so it is for an operator to check.
    ...(expired && session.work === 'PAY' && result.result !== 'close'
      ? { oid: session.firstPaymentOid, needsReview: true }
      : {}),
  };
}

/**
 * Completes the checkout `sessionId` with the window's `result` (undefined: the post could not be
 * read, and the session is left as it was). Always answers where to send the browser.
 */
export async function completeCheckout(
  deps: CompleteCheckoutDependencies,
  request: { readonly sessionId: string; readonly result: WindowResult | undefined },
): Promise<ReturnResult> {
  const { sessionId, result } = request;
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    return {
      outcome: 'failure',
      redirectTo: redirectFor(deps, undefined, 'failure'),
      reason: 'unknown_session',
    };
  }
  if (result === undefined) {
    const session = await deps.sessions.get(sessionId);
    return {
      outcome: 'failure',
      redirectTo: redirectFor(deps, session, 'failure'),
      reason: session === undefined ? 'unknown_session' : 'malformed_result',
      ...(session ? { sessionId } : {}),
    };
  }
  const now = deps.now();
  const begun = await deps.sessions.beginCompletion(sessionId, now - RETURN_GRACE_MS, now);
  if (!begun.ok) return refuse(deps, begun.session, result, now);
  const session = begun.session;

  let completion: Completion;
  try {
    completion = await complete(deps, session, result);
  } catch (error) {
    // What was committed stays (a claimed payment is the reconciler's); the session cannot be reused
    // (left `completing` if the store fails this too: the review flag below must not be lost to it).
    await deps.sessions
      .finish(sessionId, 'completing', 'failed', 'internal_error', deps.now())
      .catch(() => false);
    return {
      outcome: 'failure',
      redirectTo: redirectFor(deps, session, 'failure'),
      reason: 'internal_error',
      sessionId,
      subscriptionId: session.subscriptionId,
      ...(session.work === 'AUTH' ? {} : { oid: session.firstPaymentOid, needsReview: true }),
      error,
    };
  }
  // The outcome is committed: a store failure closing the session leaves it `completing` (never
  // reusable) and must not replace the customer's answer.
  const closeError = await deps.sessions
    .finish(
      sessionId,
      'completing',
      completion.outcome === 'success' ? 'completed' : 'failed',
      completion.reason,
      deps.now(),
    )
    .then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
  return {
    ...completion,
    ...(closeError === undefined || completion.followUpError !== undefined
      ? {}
      : { followUpError: closeError.error }),
    redirectTo: redirectFor(deps, session, completion.outcome),
    sessionId,
    subscriptionId: session.subscriptionId,
  };
}
