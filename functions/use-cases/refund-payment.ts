/**
 * Refunds a payment at Payple on an operator's (or the merchant backend's) request, and records
 * the refund exactly as Payple's cancellation webhook does, so the webhook for the same refund
 * arrives as a duplicate.
 *
 * Money rules:
 * - Only a payment we hold as `paid` or `partially_refunded` is refunded, never for more than is
 *   left of it; anything else is refused before Payple hears of it.
 * - Claim before you call, as charges are. Payple's cancel has no idempotency key and only stops a
 *   refund past the payment's total, so a partial refund sent twice (a caller's retry, two
 *   operators at once) would be made twice. Before Payple is called, one conditional write (on the
 *   payment's state and version) puts `pendingRefund` on a payment that has none; whoever comes
 *   second is refused (`refund_in_progress`) and sends nothing. The claim is cleared in the same
 *   write that records the refund, or, when the refund certainly did not happen (Payple declined
 *   or refused it, nothing was sent), by a write that only clears it.
 * - The refund call is made once. An indefinite outcome (timeout, 5xx, unreadable answer) is
 *   reported as `outcome_unknown` and leaves the claim in place: every further refund of the
 *   payment is refused until it is resolved. Payple's cancellation webhook resolves it when it
 *   reports a refund of the claimed amount made after the claim (`recordPaymentRefund`); otherwise an
 *   operator checks Payple's partner admin and calls `resolvePendingRefund` (refunded at Payple's
 *   refund time, or not refunded). The same holds for a refund Payple confirmed that could not be
 *   recorded here (`refunded_unrecorded`): the claim stays until the refund is recorded.
 * - The crash window: a function that dies after its claim is committed (before, while or after
 *   calling Payple) leaves the claim, so the payment's refunds stay blocked until the webhook or an
 *   operator resolves it. That is the safe side: a refund blocked for a while costs a person a look
 *   at Payple's admin; a refund sent twice costs money. An operator may resolve a claim only once it
 *   is `PENDING_REFUND_SETTLE_MS` old: the operations function (5 minutes at most) has ended by
 *   then, so no call made under the claim can still reach Payple after the operator looked.
 * - A refund is recognised by its amount and Payple's `PCD_REFUND_TIME` (the webhook's key), so
 *   only Payple's own refund time is recorded. An answer without it is not recorded here
 *   (`refunded_unrecorded`): any time of ours would make the webhook record the refund a second
 *   time.
 * - Once Payple has refunded, nothing throws: a record that cannot be written (a conflict that
 *   does not settle, a store failure) is reported as `refunded_unrecorded`, so a caller never
 *   mistakes a refund that happened for a failure and asks again.
 *
 * - The claim stops concurrent requests and requests made while an outcome is unknown. A retry of a
 *   refund that completed (its answer lost) is told from a new partial refund of the same amount
 *   by the caller's `requestId`: the claim carries it, and every refund recorded under a claim keeps
 *   it (recorded here, by `resolvePendingRefund`, or by the webhook when its refund resolves the
 *   claim; a refund the webhook recorded first gets it when this use case records the same refund).
 *   A request whose id is on one of the payment's refunds is answered from that record
 *   (`already_done`), or refused (`request_id_reused`) when it names another amount: nothing is
 *   sent, nothing changes. A request id is only forgotten with a claim that certainly refunded
 *   nothing (declined, not sent, or an operator's "not refunded"): then the same request may be
 *   made again.
 *
 * Results are safe to log: OIDs, subscription ids, amounts, times, Payple's codes and scrubbed
 * messages; never a billing key or personal data.
 */
import {
  formatKstInstant,
  kstCompactDateOf,
  recordRefund,
  type PaymentRecord,
  type PaymentRefund,
  type PaymentState,
  type PendingRefund,
  type Subscription,
} from '../billing/index.ts';
import {
  PaypleConfigurationError,
  PaypleInvalidRequestError,
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

/** What a request id may be (a ticket number, a merchant's refund id): safe to log. */
export const REFUND_REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export interface RefundPaymentCommand {
  readonly oid: string;
  /** Whole KRW; default: everything not yet refunded. */
  readonly amount?: number;
  /**
   * The caller's id of this refund request (`REFUND_REQUEST_ID_PATTERN`), the same on every retry
   * of it and new for every refund meant: a repeated request is answered from the refund it made
   * and never refunds twice. Recognised among the refunds of the payment it names. Required: a
   * refund without one could not be told from a retry, and every caller (the operations function,
   * the tests) can name one.
   */
  readonly requestId: string;
}

/** Why a refund was refused before Payple was asked. */
export type RefundPaymentRefusal =
  /** `amount` is not a positive safe integer. */
  | 'invalid_amount'
  /** `requestId` does not match `REFUND_REQUEST_ID_PATTERN`. */
  | 'invalid_request_id'
  /**
   * The payment has a refund made for this `requestId`, of another amount than asked: the id was
   * reused for another refund (`refund` is the one it made).
   */
  | 'request_id_reused'
  /** No payment has this OID. */
  | 'not_found'
  /** Another refund of the payment is claimed and unresolved (`pendingRefund`). */
  | 'refund_in_progress'
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

/**
 * On a result: the claim this refund put on the payment, left in place. Every further refund of the
 * payment is refused until Payple's webhook reports the refund or `resolvePendingRefund` resolves it.
 */
interface ClaimLeft {
  readonly pendingRefund: PendingRefund;
}

export type RefundPaymentResult =
  /**
   * Refunded at Payple and recorded: by this request (`recorded: 'now'`) or, when Payple's webhook
   * for this very refund came first, by the webhook (`recorded: 'already'`). The claim is cleared.
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
  /**
   * Refunded at Payple but not recorded here; Payple's cancellation webhook records it (and clears
   * the claim), or an operator does with `resolvePendingRefund`.
   */
  | (RefundIds &
      ClaimLeft & {
        readonly kind: 'refunded_unrecorded';
        readonly amount: number;
        readonly refundedAt: string | undefined;
        readonly reason: UnrecordedRefundReason;
        /** With `store_failed`: the error's name. */
        readonly error?: string;
      })
  /**
   * This request (its `requestId`) was refunded before, by an earlier call whose answer the caller
   * may have lost: `amount` and `refundedAt` are that refund as recorded; `refundedTotal` and
   * `fullyRefunded` are the payment now. Nothing was sent, nothing changed.
   */
  | (RefundIds & {
      readonly kind: 'already_done';
      readonly requestId: string;
      readonly amount: number;
      /** Payple's `PCD_REFUND_TIME` of that refund, ISO 8601 (+09:00). */
      readonly refundedAt: string;
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
    })
  /** Refused before Payple was asked: nothing was sent, nothing changed. */
  | {
      readonly kind: 'refused';
      readonly oid: string;
      readonly reason: RefundPaymentRefusal;
      readonly state?: PaymentState;
      /** Whole KRW still refundable (with `exceeds_remaining`). */
      readonly remaining?: number;
      /** With `refund_in_progress`: the refund claimed, of how much, since when, for which request. */
      readonly pendingRefund?: PendingRefund;
      /** With `request_id_reused`: the refund recorded for the request id. */
      readonly refund?: PaymentRefund;
    }
  /**
   * Payple refused the refund, or it could not be sent (`stage: 'not_sent'`, e.g. no refund key
   * configured): nothing was refunded and the claim is cleared. `retryable`: the same request may
   * simply be made again (nothing reached Payple, or Payple refused a token); the others need a
   * person. With `pendingRefund`: the claim could not be cleared (store failure, conflicts), so
   * `resolvePendingRefund` (not refunded) clears it.
   */
  | (RefundIds &
      Partial<ClaimLeft> & {
        readonly kind: 'declined';
        readonly amount: number;
        readonly classification: string;
        readonly stage: FailureStage | 'not_sent';
        readonly code?: string;
        readonly message?: string;
        readonly retryable: boolean;
      })
  /**
   * Payple's answer did not say whether the refund happened. Never retried and not recorded; the
   * claim stays, so no other refund of the payment is sent until the webhook reports this one or an
   * operator checks Payple's admin and calls `resolvePendingRefund`.
   */
  | (RefundIds &
      ClaimLeft & {
        readonly kind: 'outcome_unknown';
        readonly amount: number;
        readonly reason: ClassificationReason;
        readonly code?: string;
      });

/** How often the record is re-read after a concurrent change before the use case gives up. */
const MAX_ROUNDS = 5;

/**
 * How much earlier than a claim Payple's time for the claimed refund may seem: Payple's clock is
 * not ours, and its refund times have whole seconds. A refund Payple made before `requestedAt`
 * minus this is not the claimed one.
 */
const REFUND_CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * The age at which a pending refund may be resolved by an operator. The operations function runs
 * for 5 minutes at most: a claim this old has no call under it still on the way to Payple, so what
 * Payple's admin shows then is final for it.
 */
export const PENDING_REFUND_SETTLE_MS = 10 * 60_000;

/** Paid, possibly refunded since: the states a refund is recorded against (or recognised in). */
const PAID_STATES: readonly PaymentState[] = ['paid', 'partially_refunded', 'refunded'];

const sameClaim = (a: PendingRefund | undefined, b: PendingRefund): boolean =>
  a !== undefined && a.amount === b.amount && a.requestedAt === b.requestedAt && a.requestId === b.requestId;

/** The payment without its claim, one version on (the write that clears it). */
function withoutClaim(payment: PaymentRecord): PaymentRecord {
  const { pendingRefund: _cleared, ...rest } = payment;
  return { ...rest, version: payment.version + 1 };
}

export type RefundRecording =
  | {
      readonly status: 'recorded';
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
    }
  /**
   * The payment already has a refund of this amount at this time: the same refund, told again.
   * Nothing is written, except that a `claim` the caller names is cleared and its request id put
   * on the refund if it has none.
   */
  | {
      readonly status: 'duplicate';
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
    }
  /** The refund would take the total past what was paid: nothing written. */
  | { readonly status: 'exceeds_amount' }
  /** The payment is not in a paid state: nothing written. */
  | { readonly status: 'not_paid' }
  /** The payment changed since it was read: nothing written; read again and retry. */
  | { readonly status: 'conflict' };

/**
 * Whether `refund` resolves the payment's pending refund. With `claim` (the caller knows the refund
 * is the claimed one: its own call, or an operator's word), only that very claim. Without (Payple's
 * webhook), a refund of the claimed amount that Payple made after the claim (within the clock
 * margin); a refund of another amount, or an older one, leaves the claim.
 */
function resolvesClaim(payment: PaymentRecord, refund: PaymentRefund, claim: PendingRefund | undefined) {
  const pending = payment.pendingRefund;
  if (pending === undefined || pending.amount !== refund.amount) return false;
  if (claim !== undefined) return sameClaim(pending, claim);
  const refundedAt = Date.parse(refund.refundedAt);
  return Number.isFinite(refundedAt) && refundedAt >= pending.requestedAt - REFUND_CLOCK_MARGIN_MS;
}

/**
 * Records one refund Payple made of `payment` (as read, with its subscription): the payment becomes
 * `partially_refunded` or `refunded` with the refund appended and `refundedTotal` grown, and
 * `payment.refunded` is published, in one write conditional on the payment's state and version.
 * The same write clears the payment's pending refund when this refund resolves it (see
 * `resolvesClaim`); the refund keeps the request id of the claim it was made under (the caller's
 * `claim`, or the pending claim it resolves). A refund already recorded (same amount, same
 * `refundedAt`) is a `duplicate`; when the caller names its claim and the recorded refund has no
 * request id (the webhook recorded it first without knowing the claim), the claim's is put on it.
 * Shared by this use case and Payple's cancellation webhook, so both record a refund alike and
 * recognise each other's.
 */
export async function recordPaymentRefund(
  deps: RefundRecordingDependencies,
  request: {
    readonly payment: PaymentRecord;
    readonly subscription: Subscription;
    readonly refund: PaymentRefund;
    readonly now: number;
    /** The claim this refund was made under, when the caller knows it. */
    readonly claim?: PendingRefund;
  },
): Promise<RefundRecording> {
  const { payment, subscription, refund, now } = request;
  if (!PAID_STATES.includes(payment.state)) return { status: 'not_paid' };
  const recorded = payment.refunds ?? [];
  const previousTotal = payment.refundedTotal ?? 0;
  const clearsClaim = resolvesClaim(payment, refund, request.claim);
  const known = recorded.find((r) => r.amount === refund.amount && r.refundedAt === refund.refundedAt);
  if (known !== undefined) {
    // Only a caller's own claim is cleared by a refund recorded already: a copy of a webhook is
    // no news about a refund claimed since.
    const clears = clearsClaim && request.claim !== undefined;
    // The webhook recorded this refund before the caller could (and did not take it for the
    // claim): the caller's request id goes on it, so a retry of the request is recognised.
    const claimedId = request.claim?.requestId;
    const attaches = claimedId !== undefined && known.requestId === undefined;
    if (clears || attaches) {
      const base = clears ? withoutClaim(payment) : { ...payment, version: payment.version + 1 };
      const written = await deps.store.commit({
        payment: {
          expected: { states: [payment.state], version: payment.version },
          next: attaches
            ? { ...base, refunds: recorded.map((r) => (r === known ? { ...r, requestId: claimedId } : r)) }
            : base,
        },
        events: [],
      });
      if (!written.committed) return { status: 'conflict' };
    }
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
  const base = clearsClaim ? withoutClaim(payment) : { ...payment, version: payment.version + 1 };
  // The request the refund was made for: the caller's claim's, or that of the claim it resolves.
  const requestId = request.claim?.requestId ?? (clearsClaim ? payment.pendingRefund?.requestId : undefined);
  const result = await deps.store.commit({
    payment: {
      expected: { states: [payment.state], version: payment.version },
      next: {
        ...base,
        state: fullyRefunded ? 'refunded' : 'partially_refunded',
        refundedTotal,
        refunds: [
          ...recorded,
          {
            amount: refund.amount,
            refundedAt: refund.refundedAt,
            ...(requestId === undefined ? {} : { requestId }),
          },
        ],
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
function payDateOf(payment: PaymentRecord): string {
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

/** A refund claimed on the payment: what is sent to Payple next. */
interface ClaimedRefund {
  readonly ids: RefundIds;
  /** The payment as read before the claim (its Payple fields do not change). */
  readonly payment: PaymentRecord;
  readonly claim: PendingRefund;
}

type Answered = Extract<RefundPaymentResult, { kind: 'refused' | 'already_done' }>;

/**
 * Checks the payment (as just read) can be refunded by `command`; the amount to refund if so. A
 * request already refunded is answered from its record first, whatever else is going on.
 */
function refusalOf(
  oid: string,
  payment: PaymentRecord | undefined,
  command: RefundPaymentCommand,
): Answered | { readonly payment: PaymentRecord; readonly amount: number } {
  if (!payment) return { kind: 'refused', oid, reason: 'not_found' };
  const { state } = payment;
  // The last: should the webhook have taken an admin refund of the same amount for the claim, the
  // refund recorded here under the claim comes after it.
  const done = payment.refunds?.findLast((refund) => refund.requestId === command.requestId);
  if (done !== undefined) {
    if (command.amount !== undefined && command.amount !== done.amount) {
      return { kind: 'refused', oid, reason: 'request_id_reused', state, refund: done };
    }
    const refundedTotal = payment.refundedTotal ?? 0;
    return {
      kind: 'already_done',
      oid,
      subscriptionId: payment.subscriptionId,
      requestId: command.requestId,
      amount: done.amount,
      refundedAt: done.refundedAt,
      refundedTotal,
      fullyRefunded: refundedTotal === payment.amount,
    };
  }
  if (payment.pendingRefund !== undefined) {
    return {
      kind: 'refused',
      oid,
      reason: 'refund_in_progress',
      state,
      pendingRefund: payment.pendingRefund,
    };
  }
  if (state === 'refunded') return { kind: 'refused', oid, reason: 'already_refunded', state };
  if (state !== 'paid' && state !== 'partially_refunded') {
    return { kind: 'refused', oid, reason: 'not_paid', state };
  }
  const remaining = payment.amount - (payment.refundedTotal ?? 0);
  if (remaining <= 0) return { kind: 'refused', oid, reason: 'already_refunded', state };
  const amount = command.amount ?? remaining;
  if (amount > remaining) return { kind: 'refused', oid, reason: 'exceeds_remaining', state, remaining };
  return { payment, amount };
}

/**
 * Refunds `command.amount` (default: all that is left) of a paid payment at Payple and records it,
 * under a claim on the payment made before Payple is called. A request whose `requestId` is on a
 * refund of the payment already is answered from it (`already_done`) and sends nothing.
 * Throws only for infrastructure failures before Payple is asked (the store could not be read or
 * the claim written), and for an error of the gateway that is not Payple's (then the claim stays).
 */
export async function refundPayment(
  deps: RefundPaymentDependencies,
  command: RefundPaymentCommand,
): Promise<RefundPaymentResult> {
  const { oid } = command;
  if (command.amount !== undefined && !(Number.isSafeInteger(command.amount) && command.amount > 0)) {
    return { kind: 'refused', oid, reason: 'invalid_amount' };
  }
  if (typeof command.requestId !== 'string' || !REFUND_REQUEST_ID_PATTERN.test(command.requestId)) {
    return { kind: 'refused', oid, reason: 'invalid_request_id' };
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const checked = refusalOf(oid, await deps.store.getPayment(oid), command);
    if ('kind' in checked) return checked;
    const { payment, amount } = checked;
    const subscription = await deps.store.getSubscription(payment.subscriptionId);
    if (!subscription) return { kind: 'refused', oid, reason: 'subscription_missing', state: payment.state };

    const claim: PendingRefund = { amount, requestedAt: deps.now(), requestId: command.requestId };
    const claimed = await deps.store.commit({
      payment: {
        expected: { states: [payment.state], version: payment.version },
        next: { ...payment, pendingRefund: claim, version: payment.version + 1 },
      },
      events: [],
    });
    // Lost to a concurrent change (another claim, a refund recorded): decide again on what is there.
    if (!claimed.committed) continue;
    return sendClaimedRefund(deps, {
      ids: { oid, subscriptionId: payment.subscriptionId },
      payment,
      claim,
    });
  }
  throw new Error(`refund of ${oid}: still conflicting after ${MAX_ROUNDS} rounds, nothing sent`);
}

/** Calls Payple for a claimed refund, then records it or clears the claim as the answer allows. */
async function sendClaimedRefund(
  deps: RefundPaymentDependencies,
  claimed: ClaimedRefund,
): Promise<RefundPaymentResult> {
  const { ids, payment, claim } = claimed;
  const { amount } = claim;
  let outcome: RefundOutcome;
  try {
    outcome = await deps.payple.refund(refundInputOf(payment, amount));
  } catch (error) {
    // Thrown only before anything is sent: no refund key configured, or an input Payple's rules
    // refuse. The client builds these messages from safe fields only. Anything else (a transport
    // error included: the request may have reached Payple) may have happened anywhere: it is thrown
    // and the claim stays.
    if (!(error instanceof PaypleConfigurationError || error instanceof PaypleInvalidRequestError))
      throw error;
    return declined(deps, claim, {
      ...ids,
      kind: 'declined',
      amount,
      classification: error instanceof PaypleConfigurationError ? 'config_error' : 'invalid_request',
      stage: 'not_sent',
      message: error.message,
      retryable: false,
    });
  }

  if (outcome.kind === 'success') {
    const { refundedAt, refundedAtField } = outcome.value;
    if (refundedAt === undefined || refundedAtField !== 'PCD_REFUND_TIME') {
      return {
        ...ids,
        kind: 'refunded_unrecorded',
        amount,
        refundedAt: undefined,
        reason: 'no_refund_time',
        pendingRefund: claim,
      };
    }
    return recordMadeRefund(deps, ids, { amount, refundedAt }, claim);
  }
  const code = outcome.code === undefined ? {} : { code: outcome.code };
  // A failed partner auth never sent the refund: whatever its kind, nothing moved.
  if (outcome.kind === 'unknown' && outcome.stage === 'operation') {
    return {
      ...ids,
      kind: 'outcome_unknown',
      amount,
      reason: outcome.reason,
      ...code,
      pendingRefund: claim,
    };
  }
  return declined(deps, claim, {
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
  });
}

/** A refund that certainly did not happen: clears its claim, or says it is left. */
async function declined(
  deps: RefundPaymentDependencies,
  claim: PendingRefund,
  result: Extract<RefundPaymentResult, { kind: 'declined' }>,
): Promise<RefundPaymentResult> {
  const cleared = await clearClaim(deps.store, result.oid, claim);
  return cleared ? result : { ...result, pendingRefund: claim };
}

/**
 * Clears `claim` from the payment (nothing was refunded under it). True when it is gone: cleared
 * now, or already by someone else. False when it could not be cleared (conflicts, a store failure).
 */
async function clearClaim(store: BillingStore, oid: string, claim: PendingRefund): Promise<boolean> {
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const payment = await store.getPayment(oid);
      if (!payment || !sameClaim(payment.pendingRefund, claim)) return true;
      const result = await store.commit({
        payment: {
          expected: { states: [payment.state], version: payment.version },
          next: withoutClaim(payment),
        },
        events: [],
      });
      if (result.committed) return true;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * Records a refund Payple confirmed and clears its claim in the same write; re-reads on a conflict
 * (the webhook may record it first).
 */
async function recordMadeRefund(
  deps: RefundPaymentDependencies,
  ids: RefundIds,
  refund: PaymentRefund,
  claim: PendingRefund,
): Promise<RefundPaymentResult> {
  const unrecorded = (reason: UnrecordedRefundReason, error?: unknown): RefundPaymentResult => ({
    ...ids,
    kind: 'refunded_unrecorded',
    amount: refund.amount,
    refundedAt: refund.refundedAt,
    reason,
    ...(error instanceof Error ? { error: error.name } : {}),
    pendingRefund: claim,
  });
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const payment = await deps.store.getPayment(ids.oid);
      const subscription = await deps.store.getSubscription(ids.subscriptionId);
      if (!payment || !subscription) return unrecorded('record_disagrees');
      const recording = await recordPaymentRefund(deps, {
        payment,
        subscription,
        refund,
        now: deps.now(),
        claim,
      });
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

// ---------------------------------------------------------------------------------------------
// Resolving a pending refund by hand

export interface ResolvePendingRefundDependencies extends RefundRecordingDependencies {
  readonly now: () => number;
}

export interface ResolvePendingRefundCommand {
  readonly oid: string;
  /** What Payple's partner admin shows for the pending refund. */
  readonly refunded: boolean;
  /**
   * Payple's refund time, ISO 8601 with `+09:00` and whole seconds (`2027-03-01T09:00:05+09:00`):
   * required when `refunded`, absent otherwise. With its amount it identifies the refund, so the
   * webhook for it is recognised as a duplicate.
   */
  readonly refundedAt?: string;
}

/** Why a pending refund was not resolved: nothing changed. */
export type ResolvePendingRefundRefusal =
  /**
   * `refundedAt` is missing (refunded), present (not refunded), not of the form
   * `YYYY-MM-DDThh:mm:ss+09:00`, not a real time, or in the future.
   */
  | 'invalid_refunded_at'
  /** No payment has this OID. */
  | 'not_found'
  /** The payment has no pending refund (resolved already, by the webhook or another operator). */
  | 'no_pending_refund'
  /** The claim is younger than `PENDING_REFUND_SETTLE_MS`: its call may still reach Payple. */
  | 'claim_too_recent'
  /** `refundedAt` is before the claim was made: that refund is another one. */
  | 'refunded_before_claim'
  /** The refund would not fit what we hold (more than is left of the payment): a person looks. */
  | 'record_disagrees'
  /** The payment's subscription is missing (a refund event could not be published). */
  | 'subscription_missing';

export type ResolvePendingRefundResult =
  /**
   * Refunded: the claimed amount is recorded as refunded at `refundedAt` (`recorded: 'already'`
   * when that very refund was recorded before) with the claim's request id, and the claim is
   * cleared, in one write. A retry of that request is then answered `already_done`.
   */
  | (RefundIds & {
      readonly kind: 'refund_recorded';
      /** The claim's request id (absent only for claims made before request ids). */
      readonly requestId?: string;
      readonly amount: number;
      readonly refundedAt: string;
      readonly refundedTotal: number;
      readonly fullyRefunded: boolean;
      readonly recorded: 'now' | 'already';
    })
  /**
   * Not refunded: the claim is cleared, nothing else changes; the payment may be refunded again,
   * and the claim's request may be made again with the same request id.
   */
  | (RefundIds & {
      readonly kind: 'claim_cleared';
      /** The claim's request id (absent only for claims made before request ids). */
      readonly requestId?: string;
      readonly amount: number;
      /** When the cleared claim was made (epoch ms). */
      readonly requestedAt: number;
    })
  | {
      readonly kind: 'refused';
      readonly oid: string;
      readonly reason: ResolvePendingRefundRefusal;
      readonly state?: PaymentState;
      readonly pendingRefund?: PendingRefund;
    };

/** Payple's refund time as the webhook records it, if `value` is one (and not in the future). */
function refundTimeOf(value: string, now: number): string | undefined {
  const instant = Date.parse(value);
  if (!Number.isFinite(instant) || formatKstInstant(instant) !== value) return undefined;
  return instant <= now + REFUND_CLOCK_MARGIN_MS ? value : undefined;
}

/**
 * Resolves a payment's pending refund after an operator checked Payple's partner admin: refunded
 * (recorded as the webhook would record it, at Payple's refund time, and the claim cleared) or not
 * refunded (the claim cleared). Refused, changing nothing, for a payment without a pending refund
 * and for a claim younger than `PENDING_REFUND_SETTLE_MS`. Never calls Payple. Throws only for
 * store failures and for conflicts that do not settle (nothing is written then).
 */
export async function resolvePendingRefund(
  deps: ResolvePendingRefundDependencies,
  command: ResolvePendingRefundCommand,
): Promise<ResolvePendingRefundResult> {
  const { oid } = command;
  const invalid = { kind: 'refused', oid, reason: 'invalid_refunded_at' } as const;
  let refundedAt: string | undefined;
  if (command.refunded) {
    refundedAt = command.refundedAt === undefined ? undefined : refundTimeOf(command.refundedAt, deps.now());
    if (refundedAt === undefined) return invalid;
  } else if (command.refundedAt !== undefined) {
    return invalid;
  }

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const payment = await deps.store.getPayment(oid);
    if (!payment) return { kind: 'refused', oid, reason: 'not_found' };
    const { state, pendingRefund } = payment;
    if (pendingRefund === undefined) return { kind: 'refused', oid, reason: 'no_pending_refund', state };
    const refused = (reason: ResolvePendingRefundRefusal): ResolvePendingRefundResult => ({
      kind: 'refused',
      oid,
      reason,
      state,
      pendingRefund,
    });
    if (deps.now() - pendingRefund.requestedAt < PENDING_REFUND_SETTLE_MS) return refused('claim_too_recent');
    const ids: RefundIds = { oid, subscriptionId: payment.subscriptionId };
    const requestId = pendingRefund.requestId === undefined ? {} : { requestId: pendingRefund.requestId };

    if (refundedAt === undefined) {
      const cleared = await deps.store.commit({
        payment: { expected: { states: [state], version: payment.version }, next: withoutClaim(payment) },
        events: [],
      });
      if (!cleared.committed) continue;
      return {
        ...ids,
        kind: 'claim_cleared',
        ...requestId,
        amount: pendingRefund.amount,
        requestedAt: pendingRefund.requestedAt,
      };
    }

    if (Date.parse(refundedAt) < pendingRefund.requestedAt - REFUND_CLOCK_MARGIN_MS) {
      return refused('refunded_before_claim');
    }
    const subscription = await deps.store.getSubscription(payment.subscriptionId);
    if (!subscription) return refused('subscription_missing');
    const refund: PaymentRefund = { amount: pendingRefund.amount, refundedAt };
    const recording = await recordPaymentRefund(deps, {
      payment,
      subscription,
      refund,
      now: deps.now(),
      claim: pendingRefund,
    });
    switch (recording.status) {
      case 'recorded':
      case 'duplicate':
        return {
          ...ids,
          kind: 'refund_recorded',
          ...requestId,
          amount: refund.amount,
          refundedAt,
          refundedTotal: recording.refundedTotal,
          fullyRefunded: recording.fullyRefunded,
          recorded: recording.status === 'recorded' ? 'now' : 'already',
        };
      case 'exceeds_amount':
      case 'not_paid':
        return refused('record_disagrees');
      case 'conflict':
        continue;
    }
  }
  throw new Error(`pending refund of ${oid}: still conflicting after ${MAX_ROUNDS} rounds, nothing changed`);
}
