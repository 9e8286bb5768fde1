/**
 * The operations tests run the refund and cancel use cases against the webhook harness (the local
 * stack's tables, charger and Payple sandbox, with the real webhook behind the local gateway), so
 * the refund they make is the one Payple's webhook reports afterwards. Wrappers here let a test
 * watch or alter what Payple answers, and act at the moment a use case commits.
 */
import type { PaymentRecord, Subscription } from '../../functions/billing/index.ts';
import type { RefundInput, RefundOutcome } from '../../functions/payple/index.ts';
import type {
  CancelSubscriptionDependencies,
  CancelSubscriptionStore,
} from '../../functions/use-cases/cancel-subscription.ts';
import type { Commit, CommitResult } from '../../functions/use-cases/ports.ts';
import type { RefundGateway, RefundPaymentDependencies } from '../../functions/use-cases/refund-payment.ts';
import type { WebhookHarness } from '../webhook/support.ts';

/**
 * A refund gateway over the harness's Payple client that records every request; `before` runs
 * before the request goes on to Payple (a call held on its way), `alter` changes Payple's answer,
 * `after` runs once Payple has answered (before the use case sees the answer).
 */
export class RecordingRefundGateway implements RefundGateway {
  readonly inputs: RefundInput[] = [];
  readonly #inner: RefundGateway;
  readonly #alter: ((outcome: RefundOutcome) => RefundOutcome) | undefined;
  readonly #after: (() => Promise<void>) | undefined;
  readonly #before: (() => Promise<void>) | undefined;

  constructor(
    inner: RefundGateway,
    options: {
      readonly before?: () => Promise<void>;
      readonly alter?: (outcome: RefundOutcome) => RefundOutcome;
      readonly after?: () => Promise<void>;
    } = {},
  ) {
    this.#inner = inner;
    this.#before = options.before;
    this.#alter = options.alter;
    this.#after = options.after;
  }

  async refund(input: RefundInput): Promise<RefundOutcome> {
    this.inputs.push(input);
    await this.#before?.();
    const outcome = await this.#inner.refund(input);
    await this.#after?.();
    return this.#alter ? this.#alter(outcome) : outcome;
  }
}

/**
 * The harness's store, with `beforeCommit` run once before the commit it is asked for at position
 * `interruptAt` (1-based, default the first): what another process does while the use case works.
 * `failCommits` makes every commit throw; `failFrom`, every commit from that position on.
 */
export class InterruptedStore implements CancelSubscriptionStore {
  readonly commits: CommitResult[] = [];
  readonly #inner: CancelSubscriptionStore;
  #beforeCommit: (() => Promise<void>) | undefined;
  readonly #interruptAt: number;
  readonly #failFrom: number;
  #asked = 0;

  constructor(
    inner: CancelSubscriptionStore,
    options: {
      readonly beforeCommit?: () => Promise<void>;
      readonly interruptAt?: number;
      readonly failCommits?: boolean;
      readonly failFrom?: number;
    } = {},
  ) {
    this.#inner = inner;
    this.#beforeCommit = options.beforeCommit;
    this.#interruptAt = options.interruptAt ?? 1;
    this.#failFrom = options.failCommits ? 1 : (options.failFrom ?? Number.POSITIVE_INFINITY);
  }

  getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
    return this.#inner.getSubscription(subscriptionId);
  }

  getPayment(oid: string): Promise<PaymentRecord | undefined> {
    return this.#inner.getPayment(oid);
  }

  findByBillingKey(billingKey: string): Promise<readonly Subscription[]> {
    return this.#inner.findByBillingKey(billingKey);
  }

  async commit(commit: Commit): Promise<CommitResult> {
    this.#asked += 1;
    if (this.#asked === this.#interruptAt) {
      const before = this.#beforeCommit;
      this.#beforeCommit = undefined;
      await before?.();
    }
    if (this.#asked >= this.#failFrom) {
      throw Object.assign(new Error('simulated store failure'), { name: 'StoreDown' });
    }
    const result = await this.#inner.commit(commit);
    this.commits.push(result);
    return result;
  }
}

export function refundDeps(
  harness: WebhookHarness,
  overrides: Partial<RefundPaymentDependencies> = {},
): RefundPaymentDependencies {
  const { stack } = harness;
  return {
    store: stack.billing.store,
    publisher: stack.billing.publisher,
    payple: harness.payple,
    now: stack.clock.now,
    ...overrides,
  };
}

export function cancelDeps(
  harness: WebhookHarness,
  overrides: Partial<CancelSubscriptionDependencies> = {},
): CancelSubscriptionDependencies {
  const { stack } = harness;
  return {
    store: stack.billing.store,
    publisher: stack.billing.publisher,
    payple: harness.payple,
    now: stack.clock.now,
    ...overrides,
  };
}

/** A sandbox `YYYYMMDDhhmmss` KST time as ISO 8601, as the client and the webhook record it. */
export function isoFromKstTime(time: string): string {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at, i) => time.slice(at, i === 0 ? 4 : at + 2));
  return `${y}-${mo}-${d}T${h}:${mi}:${s}+09:00`;
}
