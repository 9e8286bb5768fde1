/**
 * What the use cases need from the outside world. Adapters (DynamoDB, EventBridge, SQS, Payple)
 * implement these; tests use the real adapters against the emulators and the Payple sandbox.
 */
import type { DomainEvent, PaymentRecord, PaymentState, PayType, Subscription } from '../billing/index.ts';

/** One subscription change in a commit: written only if the stored version is still `expectedVersion`. */
export interface SubscriptionWrite {
  /** `undefined`: the subscription must not exist yet. */
  readonly expectedVersion: number | undefined;
  readonly next: Subscription;
}

/** One payment change in a commit. */
export interface PaymentWrite {
  /** `new`: the payment must not exist; otherwise it must be in one of these states at `expectedVersion`. */
  readonly expected: 'new' | { readonly states: readonly PaymentState[]; readonly version: number };
  readonly next: PaymentRecord;
}

/** A unit of work: every part is written, or none (one DynamoDB transaction). */
export interface Commit {
  readonly subscription?: SubscriptionWrite;
  readonly payment?: PaymentWrite;
  /** Domain events, kept in the outbox until they are published. */
  readonly events: readonly DomainEvent[];
}

export type CommitResult =
  { readonly committed: true } | { readonly committed: false; readonly reason: 'conflict' };

export interface BillingStore {
  getSubscription(subscriptionId: string): Promise<Subscription | undefined>;
  getPayment(oid: string): Promise<PaymentRecord | undefined>;
  /** Writes the commit atomically; `conflict` when any expectation no longer holds (nothing written). */
  commit(commit: Commit): Promise<CommitResult>;
}

/** A subscription the due index says is due, with the attempt to enqueue. */
export interface DueEntry {
  readonly subscriptionId: string;
  readonly period: number;
  readonly attempt: number;
  readonly dueAt: number;
  readonly version: number;
}

export interface DuePage {
  readonly entries: readonly DueEntry[];
  /** Opaque; absent when the shard has no more due entries. */
  readonly cursor?: string;
}

export interface DueIndex {
  readonly shardCount: number;
  /** Due entries of one shard with `dueAt <= now`, oldest first. */
  listDue(shard: number, now: number, limit: number, cursor?: string): Promise<DuePage>;
  /**
   * Hides an enqueued entry from the index until `until`, unless the subscription changed since it
   * was listed: the next dispatcher runs do not enqueue it again while the charger works on it.
   */
  lease(entry: DueEntry, until: number): Promise<void>;
}

/** Payments whose outcome is not known yet (`charging` past its bound, `unknown`), by when to look. */
export interface UnsettledIndex {
  readonly unsettledShardCount: number;
  /** Unsettled payments of one shard due for a lookup at `now`, oldest first. */
  listUnsettled(shard: number, now: number, limit: number): Promise<readonly PaymentRecord[]>;
}

/**
 * Payple's result lookups for the whole deployment (reconciler, webhook and return-flow
 * confirmations): one budget under Payple's 1,000 per 10 minutes, shared by concurrent functions.
 */
export interface LookupBudget {
  /** Reserves up to `wanted` lookups now; returns how many were granted (0 when spent). */
  reserve(wanted: number, now: number): Promise<number>;
  /** Payple answered PCHK9997: the window is over for everyone for a while. */
  block(now: number): Promise<void>;
}

/** The message the dispatcher enqueues and the charger consumes. */
export interface ChargeJob {
  readonly subscriptionId: string;
  readonly period: number;
  readonly attempt: number;
}

export interface JobQueue {
  /** Sends the jobs (in batches of up to 10); returns those that could not be sent. */
  send(jobs: readonly ChargeJob[]): Promise<readonly ChargeJob[]>;
}

export interface EventPublisher {
  /** Publishes events from the outbox and removes them from it; at-least-once. */
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** A success Payple's webhook reported for an OID we hold no payment for (yet). */
export interface UnrecordedPaymentReport {
  readonly oid: string;
  /** When the first such webhook arrived. */
  readonly reportedAt: number;
  /** As the webhook said (unverified). */
  readonly amount?: number;
  readonly payType?: PayType;
}

/**
 * Reported successes without a payment record: usually a PAY window whose webhook outran the
 * browser's return, which records the payment moments later; otherwise money at Payple that no
 * subscription knows of.
 */
export interface UnrecordedPaymentReports {
  /** Keeps the first report of an OID: a copy changes nothing. */
  record(report: UnrecordedPaymentReport): Promise<void>;
  list(): Promise<readonly UnrecordedPaymentReport[]>;
  remove(oid: string): Promise<void>;
}
