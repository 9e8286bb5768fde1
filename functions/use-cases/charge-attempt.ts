/**
 * The charger's use case: claim one due attempt, charge it at Payple with its OID, record what
 * happened. The protocol (ARCHITECTURE.md, "The charge protocol"):
 *
 * 1. Claim with one transaction: the subscription must still be due for exactly this period and
 *    attempt with nothing in flight (its version unchanged), and the payment item must not exist.
 *    A lost race or a stale message is an acknowledged no-op.
 * 2. Fresh partner auth and the charge with our OID (the Payple client never retries a charge).
 * 3. A definite answer settles payment and subscription in one conditional write; anything else
 *    leaves the payment `unknown` for the reconciler. A crash in between leaves it `charging`,
 *    which the reconciler also looks up after a bound.
 */
import {
  AttemptNotClaimableError,
  claimAttempt,
  newPaymentRecord,
  outcomeKindFor,
  type ChargeRequest,
  type Customer,
  type PaymentAnswer,
  type PaymentMethodProblem,
} from '../billing/index.ts';
import type {
  BillingKeyInfoOutcome,
  BillingKeyInput,
  ChargeInput,
  ChargeOutcome,
  PaymentReceipt,
  PaypleFailure,
  PaypleOutcome,
} from '../payple/index.ts';
import type { ChargeJob } from './ports.ts';
import {
  settleAttemptOutcome,
  type SettleDependencies,
  type SettleOutcome,
  type SettleResult,
} from './settle-attempt.ts';

/** The Payple operations the charger needs. */
export interface ChargeGateway {
  chargeBillingKey(input: ChargeInput): Promise<ChargeOutcome>;
  /** PUSERINFO; without it a hard decline counts as a card problem unless Payple's code says otherwise. */
  getBillingKeyInfo?(input: BillingKeyInput): Promise<BillingKeyInfoOutcome>;
}

/**
 * Payple codes that say the billing key itself is gone (missing, terminated, auto-terminated):
 * the customer must register a new card or account, whatever the card would say.
 */
const KEY_GONE_CODES = new Set([
  'SPCD0001',
  'SPCD0011',
  'SPCD0012',
  'RPCD0001',
  'RPCD0011',
  'RPCD0012',
  'SPCD1002',
  'SPCD1004',
  'RPCD1002',
  'RPCD1004',
]);

/**
 * Tells a terminated billing key from a card or account problem after a hard decline: Payple's
 * code when it says so, else PUSERINFO (a lookup-type call, not a charge). When PUSERINFO cannot
 * say, the decline stays a card problem: both ask the customer for a new payment method.
 */
async function paymentMethodProblem(
  payple: ChargeGateway,
  charge: ChargeRequest,
  code: string | undefined,
): Promise<PaymentMethodProblem> {
  if (code !== undefined && KEY_GONE_CODES.has(code)) return 'key_terminated';
  if (!payple.getBillingKeyInfo) return 'declined_hard';
  try {
    const info = await payple.getBillingKeyInfo({ billingKey: charge.billingKeyRef });
    return info.kind === 'hard_decline' ? 'key_terminated' : 'declined_hard';
  } catch {
    return 'declined_hard';
  }
}

export interface ChargeDependencies extends SettleDependencies {
  readonly payple: ChargeGateway;
  readonly now: () => number;
  /** Use Payple's month guard on monthly plans (a second line of defence against double charges). */
  readonly useMonthGuard: boolean;
  /** How long a `charging` payment may stay so before the reconciler assumes its charger died. */
  readonly chargingTimeoutMs: number;
  /** When the reconciler first looks up an `unknown` payment. */
  readonly firstLookupDelayMs: number;
}

export type ChargeJobResult =
  /** Nothing to do: the attempt is not (or no longer) due, or another charger claimed it. */
  | { readonly status: 'skipped'; readonly reason: string }
  | {
      readonly status: 'charged';
      readonly oid: string;
      readonly classification: ChargeOutcome['kind'];
      readonly settle: SettleResult;
    };

function payerFields(customer: Customer): Pick<ChargeInput, 'payerName' | 'payerPhone' | 'payerEmail'> {
  // Payple sends its receipts and shows the payer in its admin only when each charge carries them.
  // PCD_PAYER_NO (digits only at Payple) is left out: our customer ids need not be numeric.
  return {
    payerName: customer.name,
    ...(customer.phone ? { payerPhone: customer.phone } : {}),
    ...(customer.email ? { payerEmail: customer.email } : {}),
  };
}

function chargeInput(charge: ChargeRequest, customer: Customer, useMonthGuard: boolean): ChargeInput {
  return {
    payType: charge.payType,
    billingKey: charge.billingKeyRef,
    oid: charge.oid,
    amount: charge.amount,
    goods: charge.goodsName,
    ...(useMonthGuard && charge.monthGuard ? { monthGuard: charge.monthGuard } : {}),
    ...payerFields(customer),
  };
}

/** What we keep of Payple's answer: codes and masked fields, never the billing key or PII. */
export function answerOf(outcome: PaypleOutcome<PaymentReceipt>): PaymentAnswer {
  if (outcome.kind === 'success') {
    const { method, paidAt } = outcome.value;
    return {
      ...(outcome.code ? { code: outcome.code } : {}),
      ...(paidAt ? { paidAt } : {}),
      ...(method.type === 'card'
        ? {
            ...(method.cardName ? { cardName: method.cardName } : {}),
            ...(method.maskedCardNumber ? { maskedCardNumber: method.maskedCardNumber } : {}),
            ...(method.tradeNumber ? { tradeNumber: method.tradeNumber } : {}),
            ...(method.approvalNumber ? { approvalNumber: method.approvalNumber } : {}),
            ...(method.receiptUrl ? { receiptUrl: method.receiptUrl } : {}),
          }
        : {
            ...(method.bankName ? { bankName: method.bankName } : {}),
            ...(method.maskedAccountNumber ? { maskedAccountNumber: method.maskedAccountNumber } : {}),
          }),
    };
  }
  const failure: PaypleFailure = outcome;
  return {
    ...(failure.code ? { code: failure.code } : {}),
    ...(failure.issuerCode ? { issuerCode: failure.issuerCode } : {}),
    ...(failure.message ? { message: failure.message } : {}),
  };
}

/** Maps the client's classification of a charge answer to what the attempt becomes. */
export function settleOutcomeFor(
  outcome: ChargeOutcome,
  now: number,
  firstLookupDelayMs: number,
): SettleOutcome {
  const kind = outcomeKindFor(outcome.kind);
  const code = outcome.kind === 'success' ? undefined : outcome.code;
  switch (kind) {
    case 'paid':
      return { kind: 'paid' };
    case 'soft_declined':
      return { kind: 'soft_declined', ...(code ? { code } : {}) };
    case 'hard_declined':
      return { kind: 'hard_declined', ...(code ? { code } : {}) };
    case 'config_error':
      return { kind: 'config_error', ...(code ? { code } : {}) };
    case 'unknown':
    case 'resend_same_oid':
      return { kind: 'unknown', lookUpAt: now + firstLookupDelayMs };
  }
}

/** Processes one queued job. Throws only for infrastructure failures (the message is then retried). */
export async function processChargeJob(deps: ChargeDependencies, job: ChargeJob): Promise<ChargeJobResult> {
  const subscription = await deps.store.getSubscription(job.subscriptionId);
  if (!subscription) return { status: 'skipped', reason: 'no such subscription' };

  const claimedAt = deps.now();
  let claimed;
  try {
    claimed = claimAttempt(subscription, { period: job.period, attempt: job.attempt }, claimedAt);
  } catch (error) {
    if (error instanceof AttemptNotClaimableError) return { status: 'skipped', reason: error.reason };
    throw error;
  }
  const { charge } = claimed;
  const input = chargeInput(charge, subscription.customer, deps.useMonthGuard);
  // Found by the reconciler if this charger never records an outcome. The month guard sent is
  // kept: a refund of the payment names it.
  const record = newPaymentRecord(charge, 'charging', claimedAt, claimedAt + deps.chargingTimeoutMs);
  const payment = input.monthGuard ? { ...record, monthGuard: input.monthGuard } : record;
  const claim = await deps.store.commit({
    subscription: { expectedVersion: subscription.version, next: claimed.subscription },
    payment: { expected: 'new', next: payment },
    events: claimed.events,
  });
  if (!claim.committed) return { status: 'skipped', reason: 'lost_race' };

  let outcome = await deps.payple.chargeBillingKey(input);
  if (outcome.kind === 'token_expired') {
    // The token was refused before anything was charged; the same OID again is safe (Payple
    // refuses a second charge with it), so one resend with a fresh auth.
    outcome = await deps.payple.chargeBillingKey(input);
  }
  let settleOutcome = settleOutcomeFor(outcome, deps.now(), deps.firstLookupDelayMs);
  if (settleOutcome.kind === 'hard_declined') {
    settleOutcome = {
      ...settleOutcome,
      problem: await paymentMethodProblem(deps.payple, charge, settleOutcome.code),
    };
  }
  const now = deps.now();
  const settle = await settleAttemptOutcome(deps, {
    oid: charge.oid,
    outcome: settleOutcome,
    answer: answerOf(outcome),
    now,
  });
  return { status: 'charged', oid: charge.oid, classification: outcome.kind, settle };
}
