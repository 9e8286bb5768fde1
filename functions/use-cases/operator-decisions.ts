/**
 * What only a person may decide, after checking Payple's partner admin (docs/runbook.md):
 *
 * - Release the hold a configuration error put a subscription on: its held period is charged again
 *   at the next dispatcher run (one subscription, or every held one after the configuration is
 *   fixed).
 * - Settle a payment the reconciler gave up on (`needs_review`) as paid, declined or not charged.
 *   It goes through `settleAttemptOutcome`, the same conditional transition as every other settle,
 *   with `resolvedBy: operator`; a payment in any other state is refused (an `unknown` one is still
 *   the reconciler's: deciding it by hand could charge twice).
 * - Dismiss a report of an unrecorded payment once it has been dealt with at Payple.
 *
 * Each returns a result safe to log; nothing is changed by a refused request.
 */
import { releaseHold, type PaymentState, type Subscription } from '../billing/index.ts';
import type { UnrecordedPaymentReports } from './ports.ts';
import { settleAttemptOutcome, type SettleDependencies } from './settle-attempt.ts';

export interface OperatorDependencies extends SettleDependencies {
  readonly unrecordedPayments: UnrecordedPaymentReports;
  readonly now: () => number;
}

/** How often a use case re-reads after a concurrent change before it gives up. */
const MAX_ROUNDS = 5;

export type ReleaseHoldResult =
  | { readonly kind: 'released'; readonly subscriptionId: string; readonly nextChargeAt: number | null }
  | { readonly kind: 'refused'; readonly subscriptionId: string; readonly reason: 'not_found' | 'no_hold' };

/** Releases one subscription's hold (its held period becomes due at once). */
export async function releaseSubscriptionHold(
  deps: OperatorDependencies,
  subscriptionId: string,
): Promise<ReleaseHoldResult> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const subscription = await deps.store.getSubscription(subscriptionId);
    if (subscription === undefined) return { kind: 'refused', subscriptionId, reason: 'not_found' };
    if (subscription.hold === null) return { kind: 'refused', subscriptionId, reason: 'no_hold' };
    const transition = releaseHold(subscription, deps.now());
    const commit = await deps.store.commit({
      subscription: { expectedVersion: subscription.version, next: transition.subscription },
      events: transition.events,
    });
    if (!commit.committed) continue;
    await deps.publisher.publish(transition.events);
    return { kind: 'released', subscriptionId, nextChargeAt: transition.subscription.nextChargeAt };
  }
  throw new Error(`releasing the hold of ${subscriptionId}: still conflicting after ${MAX_ROUNDS} rounds`);
}

/** Held subscriptions, page by page (a scan: an operator's occasional request). */
export interface HeldSubscriptions {
  /** The held ones among up to `limit` subscriptions from `cursor` on; no cursor at the end. */
  listHeld(
    limit: number,
    cursor?: string,
  ): Promise<{ readonly subscriptions: readonly Subscription[]; readonly cursor?: string }>;
}

export interface ReleaseAllHoldsResult {
  readonly released: readonly string[];
  /** Pass it back to go on; absent when every subscription has been looked at. */
  readonly cursor?: string;
}

/** Releases the holds among up to `limit` subscriptions from `cursor` on; call again with `cursor`. */
export async function releaseAllHolds(
  deps: OperatorDependencies & { readonly held: HeldSubscriptions },
  request: { readonly limit: number; readonly cursor?: string },
): Promise<ReleaseAllHoldsResult> {
  const page = await deps.held.listHeld(request.limit, request.cursor);
  const released: string[] = [];
  for (const subscription of page.subscriptions) {
    const result = await releaseSubscriptionHold(deps, subscription.id);
    if (result.kind === 'released') released.push(subscription.id);
  }
  return { released, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) };
}

/** What the operator found at Payple for a payment under review. */
export type PaymentDecision = 'paid' | 'declined' | 'not_charged';

export type DecidePaymentResult =
  | { readonly kind: 'settled'; readonly oid: string; readonly state: PaymentState }
  | {
      readonly kind: 'refused';
      readonly oid: string;
      readonly reason: 'not_found' | 'not_under_review' | 'subscription_disagrees';
      readonly state?: PaymentState;
    };

/** Settles a `needs_review` payment as the operator found it at Payple. */
export async function decidePayment(
  deps: OperatorDependencies,
  request: { readonly oid: string; readonly decision: PaymentDecision },
): Promise<DecidePaymentResult> {
  const { oid, decision } = request;
  const payment = await deps.store.getPayment(oid);
  if (payment === undefined) return { kind: 'refused', oid, reason: 'not_found' };
  if (payment.state !== 'needs_review') {
    return { kind: 'refused', oid, reason: 'not_under_review', state: payment.state };
  }
  const outcome =
    decision === 'paid'
      ? ({ kind: 'paid', resolvedBy: 'operator' } as const)
      : decision === 'declined'
        ? ({ kind: 'soft_declined', resolvedBy: 'operator' } as const)
        : ({ kind: 'not_charged', resolvedBy: 'operator' } as const);
  const settled = await settleAttemptOutcome(deps, { oid, outcome, now: deps.now() });
  if (settled.status === 'settled') return { kind: 'settled', oid, state: settled.state };
  if (settled.status === 'inconsistent') {
    return { kind: 'refused', oid, reason: 'subscription_disagrees', state: settled.state };
  }
  // Someone settled it meanwhile (a matching webhook): what they found stands.
  return {
    kind: 'refused',
    oid,
    reason: 'not_under_review',
    ...(settled.state === undefined ? {} : { state: settled.state }),
  };
}

export type DismissReportResult =
  | { readonly kind: 'dismissed'; readonly oid: string }
  | { readonly kind: 'refused'; readonly oid: string; readonly reason: 'not_reported' };

/** Removes the report of an unrecorded payment (the `UnrecordedPayments` alarm then clears). */
export async function dismissUnrecordedPayment(
  deps: OperatorDependencies,
  oid: string,
): Promise<DismissReportResult> {
  const reported = (await deps.unrecordedPayments.list()).some((report) => report.oid === oid);
  if (!reported) return { kind: 'refused', oid, reason: 'not_reported' };
  await deps.unrecordedPayments.remove(oid);
  return { kind: 'dismissed', oid };
}
