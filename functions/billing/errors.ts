/**
 * Errors of the billing domain. Messages carry identifiers, statuses and rule names only: never a
 * billing key, a customer's name, phone number or e-mail.
 *
 * Two families:
 * - invalid input (`Invalid...Error`): a value that can never be right (a date that does not
 *   exist, a charge time inside the banks' maintenance window, a malformed id). Final.
 * - `IllegalTransitionError`: a command or outcome that the subscription's current state does not
 *   allow. The store's conditional writes make the same refusal on the stored item, so a caller that
 *   lost a race (a duplicate queue message, a late webhook) treats it as an acknowledged no-op.
 *   Only `AttemptInFlightError` is `retryable`: the same command succeeds once the attempt settles.
 */
import type { SubscriptionStatus } from './status.ts';

export interface BillingDomainErrorOptions {
  readonly cause?: unknown;
}

export abstract class BillingDomainError extends Error {
  /** Whether the same call may succeed later without anything else changing first. */
  abstract readonly retryable: boolean;

  constructor(message: string, options: BillingDomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A value outside the domain's rules. `field` names the input, never its value when sensitive. */
export abstract class InvalidInputError extends BillingDomainError {
  readonly retryable = false;

  constructor(
    readonly field: string,
    message: string,
    options: BillingDomainErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** Not a real calendar date, not in the supported years, or not written as expected. */
export class InvalidCalendarDateError extends InvalidInputError {}

/** Not a time of day (`HH:MM`, 00:00-23:59). */
export class InvalidTimeOfDayError extends InvalidInputError {}

/** A charge time of day inside the banks' nightly maintenance window (23:30-00:30 KST). */
export class ChargeTimeInMaintenanceWindowError extends InvalidTimeOfDayError {}

/** A billing interval or schedule that breaks a rule (count, anchor, first billing date). */
export class InvalidScheduleError extends InvalidInputError {}

/** A period index that is negative, not an integer, or past the supported calendar. */
export class PeriodOutOfRangeError extends InvalidInputError {}

/** A dunning policy whose delays are not strictly increasing whole days. */
export class InvalidDunningPolicyError extends InvalidInputError {}

/** A subscription id, attempt number or period key that cannot form an OID. */
export class InvalidOidPartError extends InvalidInputError {}

/** Input to create or change a subscription that breaks a rule (amount, plan, customer). */
export class InvalidSubscriptionError extends InvalidInputError {}

/** Refund amounts that are not whole KRW or exceed what was paid. */
export class InvalidRefundError extends InvalidInputError {}

/** What a subscription was asked to do when the refusal happened. */
export type SubscriptionAction =
  | 'claim_attempt'
  | 'settle_attempt'
  | 'replace_payment_method'
  | 'terminate_payment_method'
  | 'release_hold'
  | 'pause'
  | 'resume'
  | 'cancel';

/** The subscription's state does not allow the command or outcome. */
export class IllegalTransitionError extends BillingDomainError {
  readonly retryable: boolean = false;

  constructor(
    readonly subscriptionId: string,
    readonly status: SubscriptionStatus,
    readonly action: SubscriptionAction,
    detail: string,
    options: BillingDomainErrorOptions = {},
  ) {
    super(`subscription ${subscriptionId} (${status}) cannot ${action}: ${detail}`, options);
  }
}

/** Why `claimAttempt` refused; the charger acknowledges every one of them as a no-op. */
export type ClaimRefusal =
  /** Canceled, paused, or waiting for something other than time (hold, new billing key, unpaid). */
  | 'not_scheduled'
  /** Scheduled, but its instant has not come yet. */
  | 'not_yet_due'
  /** Another attempt of this subscription is in flight. */
  | 'attempt_in_flight'
  /** The message names another period or attempt than the one due (a stale or duplicate message). */
  | 'different_attempt'
  /** Inside the banks' nightly maintenance window: the dispatcher sends it again afterwards. */
  | 'maintenance_window';

/** `claimAttempt` refused: the attempt named is not the one due right now. */
export class AttemptNotClaimableError extends IllegalTransitionError {
  constructor(
    subscriptionId: string,
    status: SubscriptionStatus,
    readonly reason: ClaimRefusal,
    detail: string,
  ) {
    super(subscriptionId, status, 'claim_attempt', `${reason} (${detail})`);
  }
}

/**
 * An outcome for an attempt that is not the one in flight: already settled (a late webhook, a
 * second reconciler run) or never claimed. The stored payment item decides whether it is a
 * duplicate or a conflict worth an alarm; the subscription is not touched.
 */
export class AttemptNotInFlightError extends IllegalTransitionError {
  constructor(subscriptionId: string, status: SubscriptionStatus, detail: string) {
    super(subscriptionId, status, 'settle_attempt', detail);
  }
}

/** A command that must wait until the attempt in flight is settled (pausing mid-charge). */
export class AttemptInFlightError extends IllegalTransitionError {
  override readonly retryable = true;

  constructor(subscriptionId: string, status: SubscriptionStatus, action: SubscriptionAction) {
    super(subscriptionId, status, action, 'an attempt is in flight; retry once it is settled');
  }
}
