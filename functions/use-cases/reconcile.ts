/**
 * The reconciler's use case: look up, with the same OID, every attempt whose outcome never arrived
 * (`unknown`, or `charging` past the bound after which its charger must have died) and settle it
 * through the same conditional transitions as the charger and the webhook.
 *
 * - Oldest first across all shards; what one run cannot look up stays due, oldest first next time,
 *   so a backlog larger than one budget window is worked off across windows without starving
 *   anything.
 * - Every lookup is reserved from the deployment-wide budget first; Payple's PCHK9997 ends the run
 *   and blocks the budget for everyone for the rest of the window.
 * - Lookups are sequential (Payple asks for that) under one lookup token the client reuses.
 * - Found paid / declined: settled. Not found: still unknown until a grace period has passed since
 *   the request, then `not_charged` (the subscription makes a new attempt with a new OID). Anything
 *   else (errors, unknown answers) backs off on a schedule; when the schedule is exhausted the
 *   payment goes to `needs_review` and its period is never charged again on its own.
 */
import { kstCompactDateOf, type PaymentAnswer, type PaymentRecord } from '../billing/index.ts';
import { PaypleTransportError, type PaymentLookupInput, type PaymentLookupOutcome } from '../payple/index.ts';
import type { LookupBudget } from '../store/lookup-budget.ts';
import { answerOf } from './charge-attempt.ts';
import type { UnsettledIndex } from './ports.ts';
import { settleAttemptOutcome, type SettleDependencies, type SettleOutcome } from './settle-attempt.ts';

export interface LookupGateway {
  lookupPayment(input: PaymentLookupInput): Promise<PaymentLookupOutcome>;
}

export interface ReconcileDependencies extends SettleDependencies {
  readonly index: UnsettledIndex;
  readonly budget: LookupBudget;
  readonly payple: LookupGateway;
  readonly now: () => number;
  /** Waits between lookups after a failed one, e.g. per attempt: 5 min, 30 min, 2 h, 12 h, 1 day. */
  readonly backoffMs: readonly number[];
  /** How long after the request "not found" may still mean "not recorded yet". */
  readonly notFoundGraceMs: number;
  /** Payple codes of a lookup that found no payment with the OID and date. */
  readonly notFoundCodes: readonly string[];
  /** How long a listed payment is hidden from other reconcilers while this one looks it up. */
  readonly leaseMs: number;
}

export interface ReconcileRequest {
  /** Most payments this run looks at (its share of time; the budget decides the lookups). */
  readonly maxPayments: number;
  readonly shouldStop: () => boolean;
}

export interface ReconcileReport {
  readonly examined: number;
  readonly lookups: number;
  readonly settled: number;
  readonly rescheduled: number;
  readonly needsReview: number;
  /** True when the run ended because the budget (or Payple's own limit) was spent. */
  readonly budgetExhausted: boolean;
  /**
   * How long ago the oldest attempt due for a lookup was requested (0 when none is due): an
   * outcome unknown for hours means lookups are failing or falling behind.
   */
  readonly oldestUnsettledAgeMs: number;
}

/** The KST date of the request, and the next one too when the request was just before midnight. */
export function lookupDates(payment: PaymentRecord): string[] {
  const dates = [payment.requestDate];
  // A request at 23:59:50 KST may be recorded on the next date at Payple.
  const nextDay = kstCompactDateOf(payment.requestedAt + 10 * 60_000);
  if (nextDay !== payment.requestDate) dates.push(nextDay);
  return dates;
}

async function oldestDue(index: UnsettledIndex, now: number, limit: number): Promise<PaymentRecord[]> {
  const shards = Array.from({ length: index.unsettledShardCount }, (_, shard) => shard);
  const pages = await Promise.all(shards.map((shard) => index.listUnsettled(shard, now, limit)));
  return pages
    .flat()
    .sort((a, b) => (a.reconcile?.nextAt ?? 0) - (b.reconcile?.nextAt ?? 0))
    .slice(0, limit);
}

type LookupVerdict =
  | { readonly kind: 'settle'; readonly outcome: SettleOutcome; readonly answer: PaymentAnswer }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'retry_later'; readonly answer?: PaymentAnswer }
  | { readonly kind: 'limited' }
  | { readonly kind: 'no_budget' };

export async function reconcileUnsettledPayments(
  deps: ReconcileDependencies,
  request: ReconcileRequest,
): Promise<ReconcileReport> {
  const listedAt = deps.now();
  const candidates = await oldestDue(deps.index, listedAt, request.maxPayments);
  const oldestRequest = Math.min(...candidates.map((payment) => payment.requestedAt));
  const report = {
    examined: 0,
    lookups: 0,
    settled: 0,
    rescheduled: 0,
    needsReview: 0,
    budgetExhausted: false,
    oldestUnsettledAgeMs: candidates.length > 0 ? Math.max(0, listedAt - oldestRequest) : 0,
  };
  let reserved = 0;

  const lookUp = async (payment: PaymentRecord, date: string): Promise<LookupVerdict> => {
    if (reserved === 0) {
      // Reserve in small steps: what a run reserves and does not use is lost for the window.
      reserved = await deps.budget.reserve(Math.min(10, candidates.length - report.examined + 1), deps.now());
      if (reserved === 0) return { kind: 'no_budget' };
    }
    reserved--;
    report.lookups++;
    let outcome: PaymentLookupOutcome;
    try {
      outcome = await deps.payple.lookupPayment({
        oid: payment.oid,
        payType: payment.payType,
        date,
        expectedAmount: payment.amount,
      });
    } catch (error) {
      if (error instanceof PaypleTransportError) return { kind: 'retry_later' };
      throw error;
    }
    const answer = answerOf(outcome);
    switch (outcome.kind) {
      case 'success':
        return { kind: 'settle', outcome: { kind: 'paid', resolvedBy: 'result_lookup' }, answer };
      case 'soft_decline':
        return {
          kind: 'settle',
          outcome: {
            kind: 'soft_declined',
            resolvedBy: 'result_lookup',
            ...(outcome.code ? { code: outcome.code } : {}),
          },
          answer,
        };
      case 'hard_decline':
        return {
          kind: 'settle',
          outcome: {
            kind: 'hard_declined',
            resolvedBy: 'result_lookup',
            ...(outcome.code ? { code: outcome.code } : {}),
          },
          answer,
        };
      case 'lookup_limited':
        return { kind: 'limited' };
      case 'unknown':
        if (outcome.code !== undefined && deps.notFoundCodes.includes(outcome.code))
          return { kind: 'not_found' };
        return { kind: 'retry_later', answer };
      case 'token_expired':
      case 'config_error':
      case 'duplicate_oid':
        return { kind: 'retry_later', answer };
    }
  };

  for (const listed of candidates) {
    if (request.shouldStop()) break;
    const payment = await lease(deps, listed, deps.now() + deps.leaseMs);
    if (!payment) continue;
    report.examined++;

    let verdict: LookupVerdict = { kind: 'not_found' };
    for (const date of lookupDates(payment)) {
      verdict = await lookUp(payment, date);
      if (verdict.kind !== 'not_found') break;
    }

    if (verdict.kind === 'no_budget' || verdict.kind === 'limited') {
      if (verdict.kind === 'limited') await deps.budget.block(deps.now());
      report.budgetExhausted = true;
      // Give the payment back at once: it keeps its place as the oldest for the next run.
      await lease(deps, payment, listed.reconcile?.nextAt ?? deps.now());
      break;
    }

    const settledAt = deps.now();
    if (verdict.kind === 'settle') {
      const result = await settleAttemptOutcome(deps, {
        oid: payment.oid,
        outcome: verdict.outcome,
        answer: verdict.answer,
        now: settledAt,
      });
      if (result.status === 'settled') report.settled++;
      continue;
    }
    if (verdict.kind === 'not_found' && settledAt - payment.requestedAt >= deps.notFoundGraceMs) {
      const result = await settleAttemptOutcome(deps, {
        oid: payment.oid,
        outcome: { kind: 'not_charged', resolvedBy: 'result_lookup' },
        now: settledAt,
      });
      if (result.status === 'settled') report.settled++;
      continue;
    }

    const lookups = (payment.reconcile?.lookups ?? 0) + 1;
    const delay = deps.backoffMs[lookups - 1];
    if (delay === undefined) {
      const marked = await markNeedsReview(deps, payment, settledAt);
      if (marked) report.needsReview++;
      continue;
    }
    const committed = await deps.store.commit({
      payment: {
        expected: { states: [payment.state], version: payment.version },
        next: {
          ...payment,
          state: 'unknown',
          ...(verdict.kind === 'retry_later' && verdict.answer ? { answer: verdict.answer } : {}),
          reconcile: { nextAt: settledAt + delay, lookups },
          version: payment.version + 1,
        },
      },
      events: [],
    });
    if (committed.committed) report.rescheduled++;
  }
  return report;
}

/**
 * Takes a listed payment for this run by moving its next lookup to `until`, in one write
 * conditional on the version it was listed with: of two reconcilers that listed it, one wins. The
 * record itself carries the new time (not only the index key), so a run that dies holding the
 * lease leaves a payment that is simply due again, and leasable, once `until` has passed.
 */
async function lease(
  deps: ReconcileDependencies,
  payment: PaymentRecord,
  until: number,
): Promise<PaymentRecord | undefined> {
  const leased: PaymentRecord = {
    ...payment,
    reconcile: { nextAt: until, lookups: payment.reconcile?.lookups ?? 0 },
    version: payment.version + 1,
  };
  const result = await deps.store.commit({
    payment: { expected: { states: [payment.state], version: payment.version }, next: leased },
    events: [],
  });
  return result.committed ? leased : undefined;
}

/**
 * Gives up looking: the payment waits for an operator, and its subscription stays blocked for
 * that period (its attempt is still in flight), so nothing charges it again on its own.
 */
async function markNeedsReview(
  deps: ReconcileDependencies,
  payment: PaymentRecord,
  now: number,
): Promise<boolean> {
  const { reconcile: _done, ...rest } = payment;
  const result = await deps.store.commit({
    payment: {
      expected: { states: [payment.state], version: payment.version },
      next: { ...rest, state: 'needs_review', settledAt: now, version: payment.version + 1 },
    },
    events: [],
  });
  return result.committed;
}
