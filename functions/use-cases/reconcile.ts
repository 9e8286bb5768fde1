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
 * - Lookups are sequential (Payple asks for that) under one lookup token the client reuses. A
 *   refused token (the client drops it) is retried once at once with a fresh one; a fresh token
 *   refused too ends the run.
 * - Found paid / declined: settled. Not found: still unknown until a grace period has passed since
 *   the request, then `not_charged` (the subscription makes a new attempt with a new OID). Anything
 *   else (errors, unknown answers) backs off on a schedule; when the schedule is exhausted the
 *   payment goes to `needs_review` and its period is never charged again on its own.
 * - Payple refusing our configuration (credentials, Referer, partner limits: `config_error`) says
 *   nothing about the payment, so it spends no back-off: the run ends and every payment keeps its
 *   place and its count of lookups; each scheduled run tries again (one or two lookups) until the
 *   configuration is fixed. A refused partner auth ends the run at once (the auth carries nothing of
 *   the payment). A refused lookup request might be about that request alone: when the lookup just
 *   before or just after it (of another payment) is answered, the refusal was the payment's own and
 *   it backs off like after any other error. Two refusals in a row end the run; a refusal with no
 *   answer on either side keeps its back-off too.
 */
import { kstCompactDateOf, type PaymentAnswer, type PaymentRecord } from '../billing/index.ts';
import {
  PaypleTransportError,
  type ClassificationReason,
  type FailureStage,
  type PaymentLookupInput,
  type PaymentLookupOutcome,
  type PaypleFailure,
} from '../payple/index.ts';
import { answerOf } from './charge-attempt.ts';
import type { LookupBudget, UnsettledIndex } from './ports.ts';
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

/** Payple refusing a lookup for something other than the payment. Safe to log: no message, no key. */
export interface LookupRefusal {
  /** The payment whose lookup was refused. */
  readonly oid: string;
  readonly classification: 'config_error' | 'token_expired';
  /** Payple's code (`AUTH0004`, `SPCD9991`, `PCHK0004`, ...); none for a `return_url` we refused. */
  readonly code?: string;
  readonly reason: ClassificationReason;
  /** `auth`: the partner auth was refused, nothing about the payment was sent. */
  readonly stage: FailureStage;
  /**
   * True: the run ended on it, taken as Payple refusing our lookups, and every payment kept its
   * place and its back-off. False: another payment got an answer in the same run, so the refusal was
   * about this payment's own request, which backed off like after any other error.
   */
  readonly paused: boolean;
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
  /** Lookups Payple answered with a configuration error (absent: none). */
  readonly configurationErrors?: number;
  /**
   * The refusal the run ended on (`paused`; a configuration error rather than a refused token when
   * there were both), else the last configuration error that turned out to be about its payment;
   * absent when Payple refused nothing.
   */
  readonly refusal?: LookupRefusal;
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

type Refusal = Omit<LookupRefusal, 'paused'>;

type LookupVerdict =
  | { readonly kind: 'settle'; readonly outcome: SettleOutcome; readonly answer: PaymentAnswer }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'retry_later'; readonly answer?: PaymentAnswer }
  | { readonly kind: 'refused'; readonly refusal: Refusal; readonly answer: PaymentAnswer }
  | { readonly kind: 'token_refused'; readonly refusal: Refusal }
  | { readonly kind: 'limited' }
  | { readonly kind: 'no_budget' };

function refusalOf(
  payment: PaymentRecord,
  classification: Refusal['classification'],
  failure: PaypleFailure,
): Refusal {
  return {
    oid: payment.oid,
    classification,
    ...(failure.code ? { code: failure.code } : {}),
    reason: failure.reason,
    stage: failure.stage,
  };
}

/** A payment whose lookup was refused, held under this run's lease until the run knows by whom. */
interface RefusedPayment {
  readonly payment: PaymentRecord;
  /** Where it was listed: given back there, it keeps its place. */
  readonly listedAt: number;
  readonly refusal: Refusal;
  readonly answer: PaymentAnswer;
}

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
  let configurationErrors = 0;
  let refusal: LookupRefusal | undefined;
  let reserved = 0;

  const lookUp = async (payment: PaymentRecord, date: string, freshToken = false): Promise<LookupVerdict> => {
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
      case 'config_error':
        configurationErrors++;
        return { kind: 'refused', refusal: refusalOf(payment, 'config_error', outcome), answer };
      case 'token_expired':
        // A token is never about the payment, so a refused one must not spend its back-off (tokens
        // refused for a while would walk every payment towards needs_review). The client has
        // dropped it, so asking again gets a fresh one; that costs one more lookup from the budget.
        // Once only: a fresh token refused as well means something is wrong for every lookup, and
        // the run ends (a loop here could spend the whole budget on refusals).
        if (!freshToken) return lookUp(payment, date, true);
        return { kind: 'token_refused', refusal: refusalOf(payment, 'token_expired', outcome) };
      case 'duplicate_oid':
        return { kind: 'retry_later', answer };
    }
  };

  const backOff = async (payment: PaymentRecord, now: number, answer?: PaymentAnswer) => {
    const outcome = await scheduleNextLookup(deps, payment, now, answer);
    if (outcome === 'rescheduled') report.rescheduled++;
    if (outcome === 'needs_review') report.needsReview++;
  };

  /** A refused payment not yet known to be refused for its own sake. */
  let refused: RefusedPayment | undefined;
  /** Whether Payple answered the last lookup that was answered or refused (errors do not count). */
  let lastAnswered = false;

  for (const listed of candidates) {
    if (request.shouldStop()) break;
    const payment = await lease(deps, listed, deps.now() + deps.leaseMs);
    if (!payment) continue;
    report.examined++;
    const place = listed.reconcile?.nextAt ?? deps.now();

    let verdict: LookupVerdict = { kind: 'not_found' };
    for (const date of lookupDates(payment)) {
      verdict = await lookUp(payment, date);
      if (verdict.kind !== 'not_found') break;
    }

    if (verdict.kind === 'no_budget' || verdict.kind === 'limited') {
      if (verdict.kind === 'limited') await deps.budget.block(deps.now());
      report.budgetExhausted = true;
      // Give the payment back at once: it keeps its place as the oldest for the next run.
      await lease(deps, payment, place);
      break;
    }
    if (verdict.kind === 'token_refused') {
      await lease(deps, payment, place);
      refusal = { ...verdict.refusal, paused: true };
      break;
    }
    if (verdict.kind === 'refused') {
      if (verdict.refusal.stage === 'auth' || refused !== undefined) {
        // Payple refuses us, not the payment: end the run, nobody's back-off spent.
        await lease(deps, payment, place);
        refusal = { ...verdict.refusal, paused: true };
        break;
      }
      if (lastAnswered) {
        // The lookup just before, with the same configuration, was answered: this one's own.
        await backOff(payment, deps.now(), verdict.answer);
        refusal = { ...verdict.refusal, paused: false };
        lastAnswered = false;
        continue;
      }
      // Possibly about this request alone: keep it leased and let the next payment tell.
      refused = { payment, listedAt: place, refusal: verdict.refusal, answer: verdict.answer };
      continue;
    }

    const settledAt = deps.now();
    if (verdict.kind === 'settle' || verdict.kind === 'not_found') {
      lastAnswered = true;
      if (refused !== undefined) {
        // Payple answered this lookup with the same configuration: the refusal was about that
        // payment.
        await backOff(refused.payment, settledAt, refused.answer);
        refusal = { ...refused.refusal, paused: false };
        refused = undefined;
      }
    }
    const settleFound = async (outcome: SettleOutcome, answer?: PaymentAnswer) => {
      const result = await settleAttemptOutcome(deps, {
        oid: payment.oid,
        outcome,
        ...(answer ? { answer } : {}),
        now: settledAt,
      });
      if (result.status === 'settled') report.settled++;
      // Its subscription no longer has this attempt in flight (only an edit by hand does that):
      // looking it up again would spend the budget for ever. An operator decides.
      if (result.status === 'inconsistent' && (await markNeedsReview(deps, payment, settledAt))) {
        report.needsReview++;
      }
    };
    if (verdict.kind === 'settle') {
      await settleFound(verdict.outcome, verdict.answer);
      continue;
    }
    if (verdict.kind === 'not_found' && settledAt - payment.requestedAt >= deps.notFoundGraceMs) {
      await settleFound({ kind: 'not_charged', resolvedBy: 'result_lookup' });
      continue;
    }
    await backOff(payment, settledAt, verdict.kind === 'retry_later' ? verdict.answer : undefined);
  }

  if (refused !== undefined) {
    // The run ended before another payment could tell: take it as Payple refusing us (the safe
    // reading: a payment keeps its back-off) and give it back where it was.
    await lease(deps, refused.payment, refused.listedAt);
    const endedOnConfiguration = refusal?.paused === true && refusal.classification === 'config_error';
    if (!endedOnConfiguration) refusal = { ...refused.refusal, paused: true };
  }
  return {
    ...report,
    ...(configurationErrors > 0 ? { configurationErrors } : {}),
    ...(refusal ? { refusal } : {}),
  };
}

/**
 * After a lookup that settled nothing: the next one on the back-off schedule, or `needs_review`
 * when the schedule is spent. Conditional on the version this run holds.
 */
async function scheduleNextLookup(
  deps: ReconcileDependencies,
  payment: PaymentRecord,
  now: number,
  answer: PaymentAnswer | undefined,
): Promise<'rescheduled' | 'needs_review' | undefined> {
  const lookups = (payment.reconcile?.lookups ?? 0) + 1;
  const delay = deps.backoffMs[lookups - 1];
  if (delay === undefined) return (await markNeedsReview(deps, payment, now)) ? 'needs_review' : undefined;
  const committed = await deps.store.commit({
    payment: {
      expected: { states: [payment.state], version: payment.version },
      next: {
        ...payment,
        state: 'unknown',
        ...(answer ? { answer } : {}),
        reconcile: { nextAt: now + delay, lookups },
        version: payment.version + 1,
      },
    },
    events: [],
  });
  return committed.committed ? 'rescheduled' : undefined;
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
