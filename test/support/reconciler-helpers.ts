/**
 * Helpers for the reconciler tests: payments whose outcome never arrived, made through the real
 * dispatcher, charger and sandbox faults (or, by the thousand, through the charger's use case and
 * written in bulk); a record of every reconciler run with its clock instant and what the sandbox
 * counted; and a second reconciler over the same tables, budget and sandbox, as a second Lambda
 * instance would be.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  type AttributeValue,
  type TransactWriteItemsCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  createSubscription,
  DEFAULT_DUNNING_POLICY,
  scheduledAttempt,
  type CalendarDate,
  type NewSubscription,
  type PaymentRecord,
  type Subscription,
} from '../../functions/billing/index.ts';
import { CHARGER_TIMEOUT_SECONDS } from '../../lib/resources.ts';
import { createChargerHandler } from '../../functions/charger/charger.ts';
import { createReconcilerHandler } from '../../functions/reconciler/reconciler.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import {
  NOT_FOUND_LOOKUP_CODES,
  reconcileSettings,
  type ReconcileSettings,
} from '../../functions/shared/reconcile-config.ts';
import { documentClient, DynamoBillingStore } from '../../functions/store/dynamo-billing-store.ts';
import { DynamoLookupBudget } from '../../functions/store/lookup-budget.ts';
import { processChargeJob, type ChargeDependencies } from '../../functions/use-cases/charge-attempt.ts';
import type { BillingStore, Commit, CommitResult } from '../../functions/use-cases/ports.ts';
import type { LookupGateway, ReconcileReport } from '../../functions/use-cases/reconcile.ts';
import { createLambdaContext } from '../../local/aws/lambda-context.ts';
import { startSqsPoller } from '../../local/aws/sqs-poller.ts';
import type { FaultSpec } from '../../local/payple-sandbox/index.ts';
import { LOCAL_AWS, type LocalStack } from '../../local/stack.ts';
import { sandboxClient } from './local-stack.ts';

export const MINUTE_MS = 60_000;
export const TEN_MINUTES_MS = 10 * MINUTE_MS;

/** A stored payment item as the table holds it: the record plus the reconcile index's key. */
export type StoredPayment = PaymentRecord & { readonly reconcileAt?: number };

/** The attributes the reconciler tests read back. */
const SCANNED = [
  'oid',
  'state',
  'version',
  'reconcile',
  'reconcileAt',
  'requestedAt',
  'settledAt',
  'resolvedBy',
];

/** Every payment in the stack's payments table (a consistent scan, paged; the attributes above). */
export async function scanPayments(stack: LocalStack): Promise<StoredPayment[]> {
  const attributes = SCANNED;
  const documents = documentClient(stack.dynamo);
  const items: StoredPayment[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: stack.tables.payments,
        ConsistentRead: true,
        ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name])),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) items.push(item as StoredPayment);
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * The payments a run looked up, from the table before and after it: each lookup either settles
 * its payment or reschedules it with one more lookup counted. (A payment leased and given back
 * unlooked when the budget ran out has neither.)
 */
export function lookedUpBetween(before: readonly StoredPayment[], after: readonly StoredPayment[]): string[] {
  const previous = new Map(before.map((p) => [p.oid, p] as const));
  return after
    .filter((p) => {
      const was = previous.get(p.oid);
      return (
        was !== undefined &&
        (was.state !== p.state || (p.reconcile?.lookups ?? 0) > (was.reconcile?.lookups ?? 0))
      );
    })
    .map((p) => p.oid);
}

/** Whether Payple's PCHK9997 ever made a reconciler block the budget (the control table's marker). */
export async function budgetWasBlocked(stack: LocalStack): Promise<boolean> {
  const { Item } = await documentClient(stack.dynamo).send(
    new GetCommand({
      TableName: stack.tables.control,
      Key: { pk: 'lookup-budget#blocked' },
      ConsistentRead: true,
    }),
  );
  return Item !== undefined;
}

/** How a charge's answer goes missing at the sandbox, and what really happened to the money. */
export interface LostAnswer {
  readonly name: string;
  /** The sandbox fault on this one charge (`times: 1`, matched by billing key). */
  readonly fault: FaultSpec;
  /** The payment state the ledger's truth must settle to. */
  readonly truth: 'paid' | 'not_charged' | 'declined';
}

/** Every way the sandbox can lose a charge's answer, with the ledger's truth for each. */
export const LOST_ANSWERS = {
  connectionReset: { name: 'connection reset after charging', fault: { kind: 'answerLost' }, truth: 'paid' },
  badGateway: {
    name: '502 after charging',
    fault: { kind: 'answerLost', via: 'badGateway' },
    truth: 'paid',
  },
  executed5xx: { name: '500 after charging', fault: { kind: 'httpError', execute: true }, truth: 'paid' },
  executed504: {
    name: '504 after charging',
    fault: { kind: 'httpError', status: 504, execute: true },
    truth: 'paid',
  },
  garbageCharged: { name: 'cut-off body after charging', fault: { kind: 'garbage' }, truth: 'paid' },
  cardCompanyCharged: {
    name: 'SPCD1001 but charged',
    fault: { kind: 'cardCompanyNoAnswer', charged: true },
    truth: 'paid',
  },
  heldCharged: { name: 'no answer, charged', fault: { kind: 'noAnswer', execute: true }, truth: 'paid' },
  notExecuted5xx: {
    name: '500 before charging',
    fault: { kind: 'httpError', execute: false },
    truth: 'not_charged',
  },
  garbageNotCharged: {
    name: 'cut-off body, never charged',
    fault: { kind: 'garbage', execute: false },
    truth: 'not_charged',
  },
  heldNotCharged: {
    name: 'no answer, never charged',
    fault: { kind: 'noAnswer', execute: false },
    truth: 'not_charged',
  },
  cardCompanyDeclined: {
    name: 'SPCD1001, took no money',
    fault: { kind: 'cardCompanyNoAnswer', charged: false },
    truth: 'declined',
  },
} as const satisfies Record<string, LostAnswer>;

/** One subscription whose first charge lost its answer. */
export interface UnknownPayment {
  readonly subscription: Subscription;
  readonly oid: string;
  readonly lost: LostAnswer;
}

/**
 * Seeds one subscription per entry of `lost` (due on `firstBillingDate` at 10:00 KST), gives each
 * billing key its fault for one charge, then runs the dispatcher and charger at `at`: every charge
 * goes to the sandbox and comes back `unknown`. Seeding runs `parallel` at a time.
 */
export async function makeUnknownPayments(
  stack: LocalStack,
  options: {
    readonly lost: readonly LostAnswer[];
    readonly firstBillingDate: CalendarDate;
    readonly at: number;
    /** Every `accountEvery`-th subscription pays by transfer (a test account); the rest by card. */
    readonly accountEvery?: number;
    readonly parallel?: number;
    /** Charger instances working the queue at once (1: the stack's own). */
    readonly chargers?: number;
    /** The extra chargers' Payple charge timeout: the stack's, for the held sockets. */
    readonly chargeTimeoutMs?: number;
  },
): Promise<UnknownPayment[]> {
  const parallel = options.parallel ?? 25;
  const made: UnknownPayment[] = [];
  for (let start = 0; start < options.lost.length; start += parallel) {
    const chunk = options.lost.slice(start, start + parallel);
    const seeded = await Promise.all(
      chunk.map(async (lost, i) => {
        const index = start + i;
        const byAccount =
          options.accountEvery !== undefined &&
          index % options.accountEvery === 0 &&
          lost.fault.kind !== 'cardCompanyNoAnswer';
        const subscription = await seedQuietly(stack, {
          firstBillingDate: options.firstBillingDate,
          ...(byAccount ? { account: 'success' } : { card: 'success' }),
        });
        stack.sandbox.admin.addFault({
          ...lost.fault,
          operation: 'charge',
          payerId: subscription.paymentMethod.billingKeyRef,
          times: 1,
        });
        return { subscription, lost };
      }),
    );
    const { year, month, day } = options.firstBillingDate;
    const periodKey = `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
    for (const { subscription, lost } of seeded) {
      made.push({ subscription, lost, oid: `${subscription.id}-${periodKey}-1` });
    }
  }
  await stack.clock.set(options.at);
  await stack.billing.dispatch();
  await drainWithChargers(stack, options.chargers ?? 1, options.chargeTimeoutMs);
  return made;
}

/**
 * The charger's use case (`processChargeJob`) against an in-memory store: the same claim, charge
 * and settle code, the same conditional commits (a version check per item), without DynamoDB. What
 * it holds at the end is exactly what the charger would have written.
 */
class MemoryBillingStore implements BillingStore {
  readonly subscriptions = new Map<string, Subscription>();
  readonly payments = new Map<string, PaymentRecord>();

  getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
    return Promise.resolve(this.subscriptions.get(subscriptionId));
  }

  getPayment(oid: string): Promise<PaymentRecord | undefined> {
    return Promise.resolve(this.payments.get(oid));
  }

  commit(commit: Commit): Promise<CommitResult> {
    const { subscription, payment } = commit;
    const storedSubscription = subscription && this.subscriptions.get(subscription.next.id);
    const storedPayment = payment && this.payments.get(payment.next.oid);
    const subscriptionOk =
      !subscription ||
      (subscription.expectedVersion === undefined
        ? storedSubscription === undefined
        : storedSubscription?.version === subscription.expectedVersion);
    const paymentOk =
      !payment ||
      (payment.expected === 'new'
        ? storedPayment === undefined
        : storedPayment !== undefined &&
          payment.expected.states.includes(storedPayment.state) &&
          storedPayment.version === payment.expected.version);
    if (!subscriptionOk || !paymentOk) return Promise.resolve({ committed: false, reason: 'conflict' });
    if (subscription) this.subscriptions.set(subscription.next.id, subscription.next);
    if (payment) this.payments.set(payment.next.oid, payment.next);
    return Promise.resolve({ committed: true });
  }
}

/** Runs `task` over `items` with at most `width` at a time, in order of `items`; results in that order. */
async function pooled<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!);
      }
    }),
  );
  return results;
}

/**
 * Writes what `commits` would write (only puts of new items, no outbox events), in bulk: each commit
 * goes through a `DynamoBillingStore` whose client sends nothing and keeps the items of the
 * transaction instead, so the items are exactly the store's own (the record plus the due or
 * reconcile index keys it derives); then they are put with BatchWriteItem, `width` calls at a time.
 * Fresh tables only: BatchWriteItem has no conditions.
 */
async function bulkCommit(stack: LocalStack, commits: readonly Commit[], width = 8): Promise<void> {
  const captured: { TableName?: string; Item?: Record<string, AttributeValue> }[] = [];
  const capture = new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint });
  capture.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const input = args.input as TransactWriteItemsCommandInput;
      for (const item of input.TransactItems ?? []) {
        if (!item.Put) throw new Error('bulkCommit writes new items only');
        captured.push(item.Put);
      }
      return { output: { $metadata: {} }, response: {} };
    },
    { step: 'build', name: 'captureTransactWrite' },
  );
  const store = new DynamoBillingStore(capture, stack.tables);
  for (const commit of commits) {
    if (commit.events.length > 0) throw new Error('bulkCommit writes no outbox events');
    await store.commit(commit);
  }
  capture.destroy();
  if (captured.length !== commits.reduce((n, c) => n + (c.subscription ? 1 : 0) + (c.payment ? 1 : 0), 0)) {
    throw new Error(`bulkCommit captured ${captured.length} items`);
  }

  const batches = Array.from({ length: Math.ceil(captured.length / 25) }, (_, i) =>
    captured.slice(i * 25, i * 25 + 25),
  );
  await pooled(batches, width, async (batch) => {
    let requests: Record<string, WriteRequest[]> = {};
    for (const { TableName, Item } of batch) {
      (requests[TableName!] ??= []).push({ PutRequest: { Item: Item! } });
    }
    for (let round = 0; Object.keys(requests).length > 0; round++) {
      if (round === 10) throw new Error('BatchWriteItem kept items unprocessed');
      const result = await stack.dynamo.send(new BatchWriteItemCommand({ RequestItems: requests }));
      requests = result.UnprocessedItems ?? {};
    }
  });
}

/**
 * The same backlog as `makeUnknownPayments`, made cheaply. Each subscription is created by the
 * domain (`createSubscription`), its billing key and one-charge fault are set up at the sandbox, and
 * the charger's own use case (`processChargeJob`: the claim, a fresh auth, the charge over HTTP with
 * the attempt's OID, the unknown settle) runs with the charger's settings (month guard, 5-minute
 * bounds) and the clock at `at`, `parallel` at a time, against an in-memory store. Only then are
 * the subscriptions and payments it left written to the stack's tables, in bulk, as the store
 * writes them (`bulkCommit`); its outbox events are dropped (nothing here reads them). What the
 * reconciler and the sandbox see afterwards is what the pipeline leaves; what is skipped is the
 * dispatcher, SQS, and a dozen DynamoDB round trips per payment.
 */
export async function loseChargeAnswers(
  stack: LocalStack,
  options: {
    readonly lost: readonly LostAnswer[];
    readonly firstBillingDate: CalendarDate;
    readonly at: number;
    /** Every `accountEvery`-th subscription pays by transfer (a test account); the rest by card. */
    readonly accountEvery?: number;
    /** Charges in flight at once. */
    readonly parallel?: number;
    /** The Payple charge timeout (what a held socket costs). */
    readonly chargeTimeoutMs?: number;
  },
): Promise<UnknownPayment[]> {
  const memory = new MemoryBillingStore();
  const made = options.lost.map((lost, index) => {
    const byAccount =
      options.accountEvery !== undefined &&
      index % options.accountEvery === 0 &&
      lost.fault.kind !== 'cardCompanyNoAnswer';
    const billingKey = stack.sandbox.admin.createBillingKey(
      byAccount ? { account: 'success' } : { card: 'success' },
    );
    const { subscription } = createSubscription(
      newSubscriptionInput(billingKey.PCD_PAYER_ID, byAccount, options.firstBillingDate),
      stack.clock.now(),
    );
    memory.subscriptions.set(subscription.id, subscription);
    stack.sandbox.admin.addFault({
      ...lost.fault,
      operation: 'charge',
      payerId: billingKey.PCD_PAYER_ID,
      times: 1,
    });
    const due = scheduledAttempt(subscription);
    if (!due) throw new Error(`${subscription.id} has no attempt scheduled`);
    return {
      subscription,
      lost,
      job: { subscriptionId: subscription.id, period: due.period, attempt: due.attempt },
    };
  });

  await stack.clock.set(options.at);
  const deps: ChargeDependencies = {
    store: memory,
    publisher: { publish: () => Promise.resolve() },
    payple: sandboxClient(
      stack,
      options.chargeTimeoutMs === undefined ? {} : { chargeMs: options.chargeTimeoutMs },
      'charger',
    ),
    now: stack.clock.now,
    dunningPolicy: DEFAULT_DUNNING_POLICY,
    useMonthGuard: true,
    chargingTimeoutMs: 5 * MINUTE_MS,
    firstLookupDelayMs: 5 * MINUTE_MS,
  };
  const outcomes = await pooled(made, options.parallel ?? 50, ({ job }) => processChargeJob(deps, job));
  const result = made.map(({ subscription, lost }, i): UnknownPayment => {
    const outcome = outcomes[i]!;
    if (outcome.status !== 'charged' || outcome.settle.state !== 'unknown') {
      throw new Error(`${subscription.id} (${lost.name}) did not end unknown: ${JSON.stringify(outcome)}`);
    }
    return { subscription, lost, oid: outcome.oid };
  });

  await bulkCommit(
    stack,
    result.map(({ subscription, oid }) => ({
      subscription: { expectedVersion: undefined, next: memory.subscriptions.get(subscription.id)! },
      payment: { expected: 'new', next: memory.payments.get(oid)! },
      events: [],
    })),
  );
  return result;
}

/**
 * Charges what the billing queue holds with `instances` charger Lambdas at once, as Lambda scales
 * an SQS event source: the stack's own poller and charger plus `instances - 1` more, each with its
 * own handler (a batch processor serves one invocation at a time) and Payple client.
 */
export async function drainWithChargers(
  stack: LocalStack,
  instances: number,
  chargeTimeoutMs?: number,
): Promise<void> {
  const extra = await Promise.all(
    Array.from({ length: instances - 1 }, (_, i) =>
      startSqsPoller({
        sqs: stack.sqs,
        queueUrl: stack.queues.billing.url,
        queueArn: stack.queues.billing.arn,
        handler: createChargerHandler({
          store: stack.billing.store,
          publisher: stack.billing.publisher,
          payple: sandboxClient(stack, chargeTimeoutMs === undefined ? {} : { chargeMs: chargeTimeoutMs }),
          now: stack.clock.now,
          dunningPolicy: DEFAULT_DUNNING_POLICY,
          useMonthGuard: true,
          chargingTimeoutMs: 5 * MINUTE_MS,
          firstLookupDelayMs: 5 * MINUTE_MS,
          logger: new Logger({ serviceName: `charger-${i + 2}`, logLevel: 'SILENT' }),
          metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: `charger-${i + 2}` }),
        }),
        functionName: `charger-${i + 2}`,
        timeoutMs: CHARGER_TIMEOUT_SECONDS * 1000,
        autoStart: false,
      }),
    ),
  );
  try {
    await Promise.all([stack.billing.drain(), ...extra.map((poller) => poller.drain())]);
  } finally {
    await Promise.all(extra.map((poller) => poller.stop()));
  }
}

/**
 * Registers a test card or account at the sandbox and commits a new subscription for it, like
 * `seedSubscription`, but leaves its events in the outbox: the dispatcher's relay publishes them
 * in batches of ten, which is much cheaper than one PutEvents per subscription at this scale.
 */
async function seedQuietly(
  stack: LocalStack,
  options: { readonly firstBillingDate: CalendarDate; readonly card?: string; readonly account?: string },
): Promise<Subscription> {
  const billingKey = stack.sandbox.admin.createBillingKey(
    options.account ? { account: options.account } : { card: options.card ?? 'success' },
  );
  const { subscription, events } = createSubscription(
    newSubscriptionInput(billingKey.PCD_PAYER_ID, options.account !== undefined, options.firstBillingDate),
    stack.clock.now(),
  );
  const result = await stack.billing.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    events,
  });
  if (!result.committed) throw new Error(`could not seed ${subscription.id}`);
  return subscription;
}

/** A monthly 9,900 KRW subscription charging `billingKeyRef`. */
function newSubscriptionInput(
  billingKeyRef: string,
  byAccount: boolean,
  firstBillingDate: CalendarDate,
): NewSubscription {
  return {
    id: `sub${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    customer: { id: 'cust1', name: '홍길동', phone: '01012345678', email: 'hong@example.com' },
    plan: { id: 'basic', goodsName: '베이직 구독', amount: 9_900, interval: { unit: 'month', count: 1 } },
    payType: byAccount ? 'transfer' : 'card',
    billingKeyRef,
    firstBillingDate,
  };
}

/** `count` entries of `kinds`, repeated in order (a deterministic mix). */
export function mixOf(kinds: readonly LostAnswer[], count: number): LostAnswer[] {
  return Array.from({ length: count }, (_, i) => kinds[i % kinds.length]!);
}

/** One reconciler run as the test saw it. */
export interface RecordedRun {
  readonly at: number;
  readonly report: ReconcileReport;
  /** Lookups the sandbox counted against the partner's limit during the run. */
  readonly countedBySandbox: number;
  /** Lookup requests that reached the sandbox during the run, refused or not. */
  readonly receivedBySandbox: number;
  /** The sandbox's own rolling 10-minute count right after the run. */
  readonly sandboxWindowCount: number;
}

/**
 * Counts every lookup request that reaches the sandbox (a zero-latency fault that matches all of
 * them and changes nothing). Add it before any other lookup fault: the first matching fault wins.
 */
export function countLookupRequests(stack: LocalStack): () => number {
  const { id } = stack.sandbox.admin.addFault({ kind: 'latency', ms: 0, operation: 'lookup' });
  return () => stack.sandbox.admin.faults().find((fault) => fault.id === id)?.hits ?? 0;
}

/**
 * Runs `reconcile` at the clock's current instant and records what the reconciler reported and
 * what the sandbox saw. The frozen clock does not move during the run, so the sandbox's rolling
 * count before and after differ by exactly the lookups it counted in the run.
 */
export async function recordRun(
  stack: LocalStack,
  received: () => number,
  reconcile: () => Promise<ReconcileReport>,
): Promise<RecordedRun> {
  const at = stack.clock.now();
  const countedBefore = stack.sandbox.admin.lookupUsage().count;
  const receivedBefore = received();
  const report = await reconcile();
  const after = stack.sandbox.admin.lookupUsage().count;
  return {
    at,
    report,
    countedBySandbox: after - countedBefore,
    receivedBySandbox: received() - receivedBefore,
    sandboxWindowCount: after,
  };
}

/**
 * The most lookups counted in any 10-minute window (a window [t, t + 10 min) starting at a run's
 * instant: the busiest window always starts at one).
 */
export function busiestTenMinutes(runs: readonly RecordedRun[]): {
  readonly from: number;
  readonly lookups: number;
} {
  let busiest = { from: 0, lookups: 0 };
  for (const start of runs) {
    const lookups = runs
      .filter((run) => run.at >= start.at && run.at < start.at + TEN_MINUTES_MS)
      .reduce((sum, run) => sum + run.countedBySandbox, 0);
    if (lookups > busiest.lookups) busiest = { from: start.at, lookups };
  }
  return busiest;
}

/** The reports of runs that overlapped, as one. */
export function combinedReport(reports: readonly ReconcileReport[]): ReconcileReport {
  const sum = (key: 'examined' | 'lookups' | 'settled' | 'rescheduled' | 'needsReview') =>
    reports.reduce((total, report) => total + report[key], 0);
  return {
    examined: sum('examined'),
    lookups: sum('lookups'),
    settled: sum('settled'),
    rescheduled: sum('rescheduled'),
    needsReview: sum('needsReview'),
    budgetExhausted: reports.some((report) => report.budgetExhausted),
    oldestUnsettledAgeMs: Math.max(0, ...reports.map((report) => report.oldestUnsettledAgeMs)),
  };
}

/** A lookup gateway that remembers every OID and date it was asked for. */
export function recordingGateway(inner: LookupGateway): LookupGateway & {
  readonly asked: { readonly oid: string; readonly date: string }[];
} {
  const asked: { oid: string; date: string }[] = [];
  return {
    asked,
    lookupPayment: (input) => {
      asked.push({ oid: input.oid, date: input.date });
      return inner.lookupPayment(input);
    },
  };
}

/** Metrics that hand each flushed EMF document to the test (POWERTOOLS_DEV keeps stdout quiet). */
class CapturedMetrics extends Metrics {
  readonly #onMetrics: ((values: Readonly<Record<string, unknown>>) => void) | undefined;

  constructor(onMetrics?: (values: Readonly<Record<string, unknown>>) => void) {
    super({ namespace: METRICS_NAMESPACE, serviceName: 'reconciler-2' });
    this.#onMetrics = onMetrics;
  }

  override publishStoredMetrics(): this {
    if (this.#onMetrics && this.hasStoredMetrics()) this.#onMetrics(this.serializeMetrics());
    return super.publishStoredMetrics();
  }
}

/**
 * Another reconciler Lambda over the stack's tables, budget table and sandbox, wired like
 * `local/billing.ts` does, with its own Payple client and budget adapter (nothing shared in memory).
 * `wrap` may stand between it and Payple.
 */
export function secondReconciler(
  stack: LocalStack,
  options: {
    readonly settings?: Partial<ReconcileSettings>;
    readonly wrap?: (gateway: LookupGateway) => LookupGateway;
    /** Receives each run's metrics as CloudWatch would (the EMF document, whose values it reads). */
    readonly onMetrics?: (values: Readonly<Record<string, unknown>>) => void;
  } = {},
): () => Promise<ReconcileReport> {
  const settings = { ...reconcileSettings({}), ...options.settings };
  const client = sandboxClient(stack);
  const handler = createReconcilerHandler({
    store: stack.billing.store,
    index: stack.billing.store,
    publisher: stack.billing.publisher,
    dunningPolicy: DEFAULT_DUNNING_POLICY,
    budget: new DynamoLookupBudget({
      documents: documentClient(stack.dynamo),
      table: stack.tables.control,
      perTenMinutes: settings.lookupBudgetPerTenMinutes,
    }),
    payple: options.wrap ? options.wrap(client) : client,
    now: stack.clock.now,
    unrecordedPayments: stack.billing.unrecordedPayments,
    backoffMs: settings.backoffMs,
    notFoundGraceMs: settings.notFoundGraceMs,
    notFoundCodes: NOT_FOUND_LOOKUP_CODES,
    leaseMs: 10 * MINUTE_MS,
    maxPayments: settings.maxPaymentsPerRun,
    logger: new Logger({ serviceName: 'reconciler-2', logLevel: 'SILENT' }),
    metrics: new CapturedMetrics(options.onMetrics),
  });
  return () =>
    handler(
      { scheduleName: 'reconciler' },
      createLambdaContext({ functionName: 'reconciler-2', timeoutMs: 15 * MINUTE_MS }),
    );
}

/** The sandbox ledger's entries for one subscription (its OIDs start with its id). */
export function ledgerOf(stack: LocalStack, subscriptionId: string) {
  return stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(`${subscriptionId}-`));
}
