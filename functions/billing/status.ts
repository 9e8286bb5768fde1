/**
 * The closed sets of states a subscription and its payment method can be in.
 */

/**
 * Subscription status. Every transition (the function in `subscription.ts` that makes it):
 *
 * | from         | to           | when                                                              |
 * |--------------|--------------|-------------------------------------------------------------------|
 * | (new)        | `incomplete` | `createSubscription`: billing key registered, period 0 not paid   |
 * | `incomplete` | `active`     | `settleAttempt` paid (first payment)                               |
 * | `incomplete` | `canceled`   | `settleAttempt` soft/hard declined (first payment failed); `cancel`|
 * | `active`     | `active`     | `settleAttempt` paid (next period)                                 |
 * | `active`     | `past_due`   | `settleAttempt` soft declined (retry scheduled) or hard declined   |
 * | `active`     | `unpaid`     | `settleAttempt` soft declined under a policy with no retries       |
 * | `active`     | `paused`     | `pause`                                                            |
 * | `active`     | `canceled`   | `cancel`                                                           |
 * | `past_due`   | `active`     | `settleAttempt` paid (recovered)                                   |
 * | `past_due`   | `past_due`   | `settleAttempt` soft declined with retries left, hard declined     |
 * | `past_due`   | `unpaid`     | `settleAttempt` soft declined with the dunning policy exhausted    |
 * | `past_due`   | `canceled`   | `cancel`                                                           |
 * | `unpaid`     | `active`     | `settleAttempt` paid (the charge a new billing key triggered)      |
 * | `unpaid`     | `past_due`   | `settleAttempt` declined after a new billing key (fresh dunning)   |
 * | `unpaid`     | `canceled`   | `cancel`                                                           |
 * | `paused`     | `active`     | `resume`                                                           |
 * | `paused`     | `canceled`   | `cancel`                                                           |
 * | `canceled`   | (none)       | terminal; an attempt already in flight is still settled            |
 *
 * Not statuses, and orthogonal to them: a `hold` (a configuration error stopped automatic charges;
 * `releaseHold` re-arms), the payment method's status (`needs_replacement` after a hard decline or
 * a terminated key), and an attempt in flight (claimed, outcome not yet known; blocks every new
 * attempt until settled). `unknown` outcomes change nothing.
 *
 * `incomplete` exists because a subscription is stored before its first payment settles: the
 * charger and the reconciler need the record (and the in-flight marker) to charge and settle
 * period 0 exactly like any other period, yet a customer whose first payment failed never had a
 * paid subscription, so it must not enter dunning as `past_due`.
 */
export const SubscriptionStatus = {
  Incomplete: 'incomplete',
  Active: 'active',
  PastDue: 'past_due',
  Unpaid: 'unpaid',
  Paused: 'paused',
  Canceled: 'canceled',
} as const;
export type SubscriptionStatus = (typeof SubscriptionStatus)[keyof typeof SubscriptionStatus];

/** Every status-to-status move `subscription.ts` makes (self-moves included); tests check against it. */
export const allowedStatusTransitions: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  incomplete: ['incomplete', 'active', 'canceled'],
  active: ['active', 'past_due', 'unpaid', 'paused', 'canceled'],
  past_due: ['past_due', 'active', 'unpaid', 'canceled'],
  unpaid: ['unpaid', 'active', 'past_due', 'canceled'],
  paused: ['paused', 'active', 'canceled'],
  canceled: ['canceled'],
};

/** Statuses in which charges may be scheduled or be in flight. */
export const BILLABLE_STATUSES: readonly SubscriptionStatus[] = [
  'incomplete',
  'active',
  'past_due',
  'unpaid',
];

/**
 * Payment method status. Transitions:
 * - `valid` → `needs_replacement`: a hard decline (`declined_hard`) or Payple reporting the billing
 *   key terminated (`key_terminated`).
 * - `needs_replacement` → `valid`: `replacePaymentMethod` (a new billing key).
 * - `valid` → `valid`: `replacePaymentMethod` on a working key (the customer switched cards).
 */
export const PaymentMethodStatus = {
  Valid: 'valid',
  NeedsReplacement: 'needs_replacement',
} as const;
export type PaymentMethodStatus = (typeof PaymentMethodStatus)[keyof typeof PaymentMethodStatus];

/** Why a payment method needs replacing. */
export const PaymentMethodProblem = {
  /** The card company or bank refused for good (expired, stolen, closed account, ...). */
  DeclinedHard: 'declined_hard',
  /** The billing key no longer exists at Payple (deleted in Payple's admin, auto-terminated). */
  KeyTerminated: 'key_terminated',
} as const;
export type PaymentMethodProblem = (typeof PaymentMethodProblem)[keyof typeof PaymentMethodProblem];
