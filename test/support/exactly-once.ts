/**
 * Tools for the exactly-once tests: a second charger on a test stack's billing queue whose store and
 * Payple gateway a test wraps (same handler, use case and adapters as `local/billing.ts`), charge
 * jobs sent straight to the queue, and the invariant every test checks against the sandbox ledger.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect, vi } from 'vitest';
import { CHARGER_TIMEOUT_SECONDS } from '../../lib/resources.ts';
import {
  DEFAULT_DUNNING_POLICY,
  parseOid,
  UNSETTLED_PAYMENT_STATES,
  type PaymentRecord,
} from '../../functions/billing/index.ts';
import { createChargerHandler } from '../../functions/charger/charger.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import type { ChargeDependencies, ChargeGateway } from '../../functions/use-cases/charge-attempt.ts';
import type { BillingStore, ChargeJob } from '../../functions/use-cases/ports.ts';
import type { SettleDependencies } from '../../functions/use-cases/settle-attempt.ts';
import { startSqsPoller, type DrainResult } from '../../local/aws/sqs-poller.ts';
import type { LedgerEntry } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';

/** As `local/billing.ts` wires the charger. */
export const CHARGING_TIMEOUT_MS = 5 * 60_000;
export const FIRST_LOOKUP_DELAY_MS = 5 * 60_000;

/** What settling needs, on the stack's own store and outbox (the webhook's and reconciler's view). */
export function settleDependencies(stack: LocalStack): SettleDependencies {
  return {
    store: stack.billing.store,
    publisher: stack.billing.publisher,
    dunningPolicy: DEFAULT_DUNNING_POLICY,
  };
}

/** The charge use case's dependencies over `store` and `payple`, as the local stack sets them. */
export function chargeDependencies(
  stack: LocalStack,
  parts: { store: BillingStore; payple: ChargeGateway; useMonthGuard?: boolean },
): ChargeDependencies {
  return {
    ...settleDependencies(stack),
    store: parts.store,
    payple: parts.payple,
    now: stack.clock.now,
    useMonthGuard: parts.useMonthGuard ?? false,
    chargingTimeoutMs: CHARGING_TIMEOUT_MS,
    firstLookupDelayMs: FIRST_LOOKUP_DELAY_MS,
  };
}

export interface TestCharger {
  /** Processes what the billing queue holds now (visible messages). */
  drain(): Promise<DrainResult>;
  /** Makes the messages this charger failed visible again (their visibility timeout passed). */
  releaseFailed(): Promise<number>;
  stop(): Promise<void>;
}

export interface TestChargerOptions {
  readonly store: BillingStore;
  readonly payple: ChargeGateway;
  readonly useMonthGuard?: boolean;
  /** Messages per invocation (10 in the deployed mapping). */
  readonly batchSize?: number;
}

/**
 * Another charger Lambda on the stack's billing queue: the deployed handler over the given store
 * and gateway, behind its own poller that only runs on `drain()`.
 */
export async function startTestCharger(stack: LocalStack, options: TestChargerOptions): Promise<TestCharger> {
  const logger = new Logger({ serviceName: 'test-charger', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'test-charger' });
  const handler = createChargerHandler({
    ...chargeDependencies(stack, options),
    logger,
    metrics,
  });
  const poller = await startSqsPoller({
    sqs: stack.sqs,
    queueUrl: stack.queues.billing.url,
    queueArn: stack.queues.billing.arn,
    handler,
    functionName: 'test-charger',
    timeoutMs: CHARGER_TIMEOUT_SECONDS * 1000,
    batchSize: options.batchSize ?? 10,
    autoStart: false,
    // A simulated crash is the point of the test: no stderr line for it.
    onError: () => undefined,
  });
  return {
    drain: () => poller.drain(),
    releaseFailed: () => poller.releaseRetained(),
    stop: () => poller.stop(),
  };
}

/** Sends each job `copies` times straight to the billing queue, as duplicate deliveries would. */
export async function sendJobs(stack: LocalStack, jobs: readonly ChargeJob[], copies: number): Promise<void> {
  const bodies = jobs.flatMap((job) => Array.from({ length: copies }, () => JSON.stringify(job)));
  for (let start = 0; start < bodies.length; start += 10) {
    const result = await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queues.billing.url,
        Entries: bodies.slice(start, start + 10).map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
    if ((result.Failed ?? []).length > 0) throw new Error('could not send charge jobs');
  }
}

/** The first attempt of period 0: what the dispatcher enqueues for a new subscription. */
export function firstJob(subscriptionId: string): ChargeJob {
  return { subscriptionId, period: 0, attempt: 1 };
}

/** Payple's billing-key charge routes (simple and monthly-guarded, card and transfer). */
const CHARGE_ROUTE = /\/php\/(?:SimplePay|RePay)(?:Card)?Act\.php/;

/** Every charge request that went over the wire to Payple, by OID. */
export interface ChargeWireTap {
  requestsFor(oid: string): number;
  /** OIDs sent more than once (a token refusal's resend aside, there should be none). */
  repeated(): string[];
  restore(): void;
}

/**
 * Counts the charge requests every Payple client sends, the stack's own included: install it before
 * the stack starts (the client keeps the `fetch` it found at construction). Requests pass through
 * unchanged. This sees what the sandbox's own duplicate-OID refusal would otherwise hide.
 */
export function tapPaypleCharges(): ChargeWireTap {
  const requests = new Map<string, number>();
  const realFetch = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (CHARGE_ROUTE.test(url) && typeof init?.body === 'string') {
      const oid = (JSON.parse(init.body) as { PCD_PAY_OID?: unknown }).PCD_PAY_OID;
      if (typeof oid === 'string') requests.set(oid, (requests.get(oid) ?? 0) + 1);
    }
    return realFetch(input, init);
  });
  return {
    requestsFor: (oid) => requests.get(oid) ?? 0,
    repeated: () => [...requests].filter(([, count]) => count > 1).map(([oid]) => oid),
    restore: () => spy.mockRestore(),
  };
}

/** The sandbox's ledger entries of these subscriptions. */
export function ledgerOf(stack: LocalStack, subscriptionIds: readonly string[]): LedgerEntry[] {
  const ids = new Set(subscriptionIds);
  return stack.sandbox.admin.ledger().filter((entry) => ids.has(parseOid(entry.oid)?.subscriptionId ?? ''));
}

/** Entries that took the customer's money (whether or not refunded since). */
export function moneyTaken(entry: LedgerEntry): boolean {
  return entry.status === 'charged' || entry.status === 'partiallyRefunded' || entry.status === 'refunded';
}

/** The stored payment item as DynamoDB holds it, index keys included. */
export async function paymentItem(
  stack: LocalStack,
  oid: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient(stack.dynamo).send(
    new GetCommand({ TableName: stack.tables.payments, Key: { oid }, ConsistentRead: true }),
  );
  return Item;
}

/** Every payment item of these subscriptions (a scan: test tables are small). */
export async function paymentsOf(
  stack: LocalStack,
  subscriptionIds: readonly string[],
): Promise<PaymentRecord[]> {
  const ids = new Set(subscriptionIds);
  const payments: PaymentRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient(stack.dynamo).send(
      new ScanCommand({
        TableName: stack.tables.payments,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const oid = String(item.oid);
      if (ids.has(String(item.subscriptionId))) {
        const payment = await stack.billing.store.getPayment(oid);
        if (payment) payments.push(payment);
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return payments;
}

/** A payment whose outcome is still open and that the reconciler will find (reconcile index set). */
export async function expectHeldForReconciler(stack: LocalStack, payment: PaymentRecord): Promise<void> {
  expect(UNSETTLED_PAYMENT_STATES, `${payment.oid} is ${payment.state}`).toContain(payment.state);
  expect(payment.reconcile?.nextAt, `${payment.oid} has no reconcile.nextAt`).toBeTypeOf('number');
  const item = await paymentItem(stack, payment.oid);
  expect(item, `${payment.oid} is not in the reconcile index`).toMatchObject({
    reconcileAt: payment.reconcile?.nextAt,
    reconcileShard: expect.any(Number) as unknown,
  });
}

/**
 * The exactly-once invariant for these subscriptions, against what Payple really did:
 * - no period of a subscription had money taken twice (whatever the attempts and OIDs);
 * - every charge Payple made is recorded: its payment is `paid`, or held `charging`/`unknown`
 *   with the reconcile index set so the reconciler will settle it;
 * - nothing is recorded `paid` that Payple did not charge;
 * - with a `wire` tap: no OID of theirs went to Payple twice (the sandbox would refuse the second,
 *   hiding the mistake from the ledger).
 * Returns the ledger entries that took money.
 */
export async function expectExactlyOnce(
  stack: LocalStack,
  subscriptionIds: readonly string[],
  wire?: ChargeWireTap,
): Promise<LedgerEntry[]> {
  const entries = ledgerOf(stack, subscriptionIds);
  if (wire) {
    const ids = new Set(subscriptionIds);
    const resent = wire.repeated().filter((oid) => ids.has(parseOid(oid)?.subscriptionId ?? ''));
    expect(resent, 'an OID was sent to Payple twice').toEqual([]);
  }
  const charged = entries.filter(moneyTaken);
  const periods = charged.map((entry) => {
    const parsed = parseOid(entry.oid);
    return `${parsed?.subscriptionId}/${parsed?.periodKey}`;
  });
  expect(periods, 'a period was charged twice').toEqual([...new Set(periods)]);

  for (const entry of charged) {
    const payment = await stack.billing.store.getPayment(entry.oid);
    expect(payment, `Payple charged ${entry.oid}, which has no payment record`).toBeDefined();
    if (payment!.state !== 'paid') await expectHeldForReconciler(stack, payment!);
    expect(payment!.amount).toBe(entry.amount);
  }

  const chargedOids = new Set(charged.map((entry) => entry.oid));
  for (const payment of await paymentsOf(stack, subscriptionIds)) {
    if (payment.state === 'paid') {
      expect(chargedOids, `${payment.oid} recorded paid but Payple took no money`).toContain(payment.oid);
    }
  }
  return charged;
}

/** Events of `type` about payment `oid` that reached the stack's event bus. */
export function busEventsFor(stack: LocalStack, type: string, oid: string): unknown[] {
  return stack.eventBus
    .events()
    .filter((event) => event.detailType === type && (event.detail as { oid?: unknown }).oid === oid)
    .map((event) => event.detail);
}
