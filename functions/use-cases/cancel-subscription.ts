/**
 * Cancels a subscription on an operator's (or the merchant backend's) request, and optionally ends
 * its billing key at Payple (PUSERDEL), the last step of the key's life.
 *
 * - The cancel is the domain's `cancel` (charges stop at once; `period_end` keeps service to the end
 *   of the last paid period, `immediately` ends it now), written conditionally on the version read
 *   and re-read on a conflict. An attempt already in flight stays in flight and is still settled.
 * - The key is deleted only after the cancel is committed, and the cancel stands whatever Payple
 *   answers. It is kept when another subscription that is not canceled charges the same key, and
 *   while any subscription charging it still has an attempt in flight: that charge may still be on
 *   its way to Payple (or processing there), and what Payple does with a key deleted under a charge
 *   it has not finished is not documented. A refund never needs the key (it goes by OID), so
 *   keeping it costs nothing but a later `releaseBillingKey` once the attempt is settled.
 * - PUSERDEL sends no webhook, so nothing else learns of the deletion.
 *
 * Results are safe to log: ids, statuses, instants and Payple's codes; never the billing key.
 */
import {
  cancel,
  type CancellationEffect,
  type CancellationReason,
  type CancelRequest,
  type Subscription,
} from '../billing/index.ts';
import {
  PaypleError,
  PaypleTransportError,
  type BillingKeyDeleteOutcome,
  type BillingKeyInput,
} from '../payple/index.ts';
import type { BillingStore, EventPublisher } from './ports.ts';

/** The Payple operation this use case needs (`PaypleClient` fits). */
export interface BillingKeyGateway {
  deleteBillingKey(input: BillingKeyInput): Promise<BillingKeyDeleteOutcome>;
}

/** The store, plus the lookup of every subscription charging a billing key (`byBillingKey`). */
export interface CancelSubscriptionStore extends BillingStore {
  findByBillingKey(billingKey: string): Promise<readonly Subscription[]>;
}

export interface CancelSubscriptionDependencies {
  readonly store: CancelSubscriptionStore;
  readonly publisher: EventPublisher;
  readonly payple: BillingKeyGateway;
  readonly now: () => number;
}

export interface CancelSubscriptionCommand {
  readonly subscriptionId: string;
  readonly effect: CancellationEffect;
  readonly reason: CancelRequest['reason'];
  /** Also delete the billing key at Payple (PUSERDEL) once the cancel is committed. */
  readonly deleteBillingKey?: boolean;
}

/** What became of the billing key. */
export type BillingKeyDeletion =
  | { readonly outcome: 'not_requested' }
  /** Payple deleted it: it can never be charged again. */
  | { readonly outcome: 'deleted' }
  /** Payple says the key is unknown or deleted already (`PUER0011`/`PUER0012`). */
  | { readonly outcome: 'already_deleted'; readonly code?: string }
  /** Other subscriptions that are not canceled charge the same key. */
  | { readonly outcome: 'kept'; readonly reason: 'shared'; readonly sharedWith: readonly string[] }
  /** A subscription charging it has an attempt in flight (`oid`): delete it once that is settled. */
  | { readonly outcome: 'kept'; readonly reason: 'attempt_in_flight'; readonly oid: string }
  /**
   * Payple did not delete it. `retryable`: asking again is safe (no answer, a refused token);
   * otherwise Payple refused our request (configuration) and a person looks.
   */
  | {
      readonly outcome: 'failed';
      readonly classification: string;
      readonly code?: string;
      readonly retryable: boolean;
    };

interface CanceledFacts {
  readonly subscriptionId: string;
  readonly effect: CancellationEffect;
  readonly cancellationReason: CancellationReason;
  /** When it was canceled (epoch ms). */
  readonly canceledAt: number;
  /** End of the service the customer keeps (epoch ms). */
  readonly serviceEndsAt: number;
}

export type CancelSubscriptionResult =
  | (CanceledFacts & {
      readonly kind: 'canceled';
      /** The OID of an attempt still in flight: it is settled as usual. */
      readonly attemptInFlight: string | null;
      readonly billingKey: BillingKeyDeletion;
    })
  | { readonly kind: 'refused'; readonly subscriptionId: string; readonly reason: 'not_found' }
  /** Canceled before: nothing changed (the earlier cancellation's facts). */
  | (CanceledFacts & { readonly kind: 'refused'; readonly reason: 'already_canceled' })
  | {
      readonly kind: 'refused';
      readonly subscriptionId: string;
      readonly reason: 'invalid_command';
      readonly detail: string;
    };

export type ReleaseBillingKeyResult =
  | {
      readonly kind: 'refused';
      readonly subscriptionId: string;
      readonly reason: 'not_found' | 'not_canceled';
    }
  | { readonly kind: 'released'; readonly subscriptionId: string; readonly billingKey: BillingKeyDeletion };

/** How often a use case re-reads after a concurrent change before it gives up. */
const MAX_ROUNDS = 5;

const EFFECTS: readonly string[] = ['period_end', 'immediately'];
const REASONS: readonly string[] = ['requested_by_customer', 'requested_by_merchant'];
/** PUSERDEL codes for a key Payple does not know or has deleted (sandbox numbers). */
const KEY_GONE_CODES: readonly string[] = ['PUER0011', 'PUER0012'];

function facts(subscription: Subscription): CanceledFacts | undefined {
  const { cancellation } = subscription;
  if (cancellation === null) return undefined;
  return {
    subscriptionId: subscription.id,
    effect: cancellation.effect,
    cancellationReason: cancellation.reason,
    canceledAt: cancellation.at,
    serviceEndsAt: cancellation.serviceEndsAt,
  };
}

/**
 * Cancels the subscription (and, when asked, deletes its billing key afterwards). Throws only for
 * infrastructure failures of the store; Payple's answer to the deletion never undoes the cancel.
 */
export async function cancelSubscription(
  deps: CancelSubscriptionDependencies,
  command: CancelSubscriptionCommand,
): Promise<CancelSubscriptionResult> {
  const { subscriptionId } = command;
  if (!EFFECTS.includes(command.effect) || !REASONS.includes(command.reason)) {
    return {
      kind: 'refused',
      subscriptionId,
      reason: 'invalid_command',
      detail: `effect must be one of ${EFFECTS.join(', ')}; reason one of ${REASONS.join(', ')}`,
    };
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const subscription = await deps.store.getSubscription(subscriptionId);
    if (!subscription) return { kind: 'refused', subscriptionId, reason: 'not_found' };
    if (subscription.status === 'canceled') {
      const earlier = facts(subscription);
      if (earlier) return { ...earlier, kind: 'refused', reason: 'already_canceled' };
      throw new Error(`subscription ${subscriptionId} is canceled without a cancellation`);
    }
    const transition = cancel(subscription, { reason: command.reason, effect: command.effect }, deps.now());
    const result = await deps.store.commit({
      subscription: { expectedVersion: subscription.version, next: transition.subscription },
      events: transition.events,
    });
    if (!result.committed) continue;
    await deps.publisher.publish(transition.events);

    const canceled = transition.subscription;
    const canceledFacts = facts(canceled);
    if (!canceledFacts) throw new Error(`cancel of ${subscriptionId} recorded no cancellation`);
    // The cancel is committed: from here on nothing may throw, or a caller would take it for undone.
    const billingKey: BillingKeyDeletion = command.deleteBillingKey
      ? await deleteKeyOf(deps, canceled).catch((error: unknown): BillingKeyDeletion => ({
          outcome: 'failed',
          classification: error instanceof Error ? error.name : 'error',
          retryable: true,
        }))
      : { outcome: 'not_requested' };
    return {
      ...canceledFacts,
      kind: 'canceled',
      attemptInFlight: canceled.inFlight?.oid ?? null,
      billingKey,
    };
  }
  throw new Error(`canceling ${subscriptionId}: still conflicting after ${MAX_ROUNDS} rounds`);
}

/**
 * Deletes the billing key of a subscription canceled earlier, with the same checks as
 * `cancelSubscription` (for a key kept while an attempt was in flight, or a deletion that failed).
 */
export async function releaseBillingKey(
  deps: CancelSubscriptionDependencies,
  command: { readonly subscriptionId: string },
): Promise<ReleaseBillingKeyResult> {
  const { subscriptionId } = command;
  const subscription = await deps.store.getSubscription(subscriptionId);
  if (!subscription) return { kind: 'refused', subscriptionId, reason: 'not_found' };
  if (subscription.status !== 'canceled') return { kind: 'refused', subscriptionId, reason: 'not_canceled' };
  return { kind: 'released', subscriptionId, billingKey: await deleteKeyOf(deps, subscription) };
}

/** Deletes the key of a canceled subscription unless something may still charge it. */
async function deleteKeyOf(
  deps: CancelSubscriptionDependencies,
  canceled: Subscription,
): Promise<BillingKeyDeletion> {
  const billingKey = canceled.paymentMethod.billingKeyRef;
  // The index is eventually consistent: the subscription itself is added in case it is not there yet.
  const found = await deps.store.findByBillingKey(billingKey);
  const holders = [canceled, ...found.filter((sub) => sub.id !== canceled.id)];
  const sharedWith = holders.filter((sub) => sub.status !== 'canceled').map((sub) => sub.id);
  if (sharedWith.length > 0) return { outcome: 'kept', reason: 'shared', sharedWith };
  const inFlight = holders.find((sub) => sub.inFlight !== null)?.inFlight;
  if (inFlight) return { outcome: 'kept', reason: 'attempt_in_flight', oid: inFlight.oid };

  let outcome: BillingKeyDeleteOutcome;
  try {
    outcome = await deps.payple.deleteBillingKey({ billingKey });
  } catch (error) {
    // No usable answer (PUSERDEL is safe to repeat), or a request refused before it was sent.
    if (!(error instanceof PaypleError)) throw error;
    return {
      outcome: 'failed',
      classification: error instanceof PaypleTransportError ? 'no_answer' : 'invalid_request',
      retryable: error.retryable,
    };
  }
  if (outcome.kind === 'success') return { outcome: 'deleted' };
  const code = outcome.code === undefined ? {} : { code: outcome.code };
  if (
    outcome.kind === 'hard_decline' &&
    outcome.code !== undefined &&
    KEY_GONE_CODES.includes(outcome.code)
  ) {
    return { outcome: 'already_deleted', ...code };
  }
  return {
    outcome: 'failed',
    classification: outcome.kind,
    ...code,
    retryable: outcome.kind === 'token_expired' || outcome.kind === 'unknown',
  };
}
