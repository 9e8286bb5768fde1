/**
 * Helpers for the pipeline tests that drive the local stack through weeks and years of billing:
 * KST dates written by hand, stepping the frozen clock day by day, reading back the sandbox ledger,
 * the payments table and the events on the local bus, and committing the customer's and the
 * operator's commands (a new card, a released hold) the way the edge would.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CHARGER_TIMEOUT_SECONDS } from '../../lib/resources.ts';
import {
  DEFAULT_DUNNING_POLICY,
  releaseHold,
  replacePaymentMethod,
  type DomainEvent,
  type PaymentRecord,
  type Subscription,
  type Transition,
} from '../../functions/billing/index.ts';
import { createChargerHandler } from '../../functions/charger/charger.ts';
import { PaypleClient } from '../../functions/payple/index.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import { startSqsPoller } from '../../local/aws/sqs-poller.ts';
import { LOCAL_REFERER } from '../../local/billing.ts';
import { defaultPartner, type LedgerEntry } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import { billAt } from './local-stack.ts';

const DAY_MS = 86_400_000;

/**
 * The instant of a KST wall-clock time, `YYYY-MM-DD` plus `HH:MM`, parsed by the platform (not the
 * domain's calendar code, which these tests check).
 */
export function kstAt(date: string, time = '00:00'): number {
  const instant = Date.parse(`${date}T${time}:00+09:00`);
  if (Number.isNaN(instant)) throw new Error(`not a KST date and time: ${date} ${time}`);
  return instant;
}

/** `YYYY-MM-DD` → `YYYYMMDD` (period keys, Payple's PCD_PAY_DATE). */
export function compact(isoDate: string): string {
  return isoDate.replaceAll('-', '');
}

/** Every KST date from `from` to `to` inclusive, `YYYY-MM-DD`, by UTC date arithmetic. */
export function kstDays(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = Date.parse(`${from}T00:00:00Z`); day <= Date.parse(`${to}T00:00:00Z`); day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

/** The dispatcher's runs a test makes each day: the first after the 10:00 charge time, and a later one. */
export const DAILY_RUNS = ['10:05', '10:25'] as const;

/**
 * Steps the frozen clock through every day from `from` to `to` (KST, inclusive), running the
 * dispatcher and draining the charger at each of `times`, as the 10-minute schedule would.
 */
export async function billEveryDay(
  stack: LocalStack,
  from: string,
  to: string,
  times: readonly string[] = DAILY_RUNS,
): Promise<void> {
  for (const day of kstDays(from, to)) {
    for (const time of times) await billAt(stack, kstAt(day, time));
  }
}

/** The sandbox ledger's entries (what Payple really saw) for one subscription, in request order. */
export function ledgerOf(stack: LocalStack, subscriptionId: string): LedgerEntry[] {
  return stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(`${subscriptionId}-`));
}

/** A ledger entry as a line to compare: `YYYYMMDD hhmmss <status> <oid>` (KST date and time). */
export function ledgerLine(entry: LedgerEntry): string {
  return `${entry.payTime.slice(0, 8)} ${entry.payTime.slice(8)} ${entry.status} ${entry.oid}`;
}

/** Every item of the payments table (a scan: fine for a few thousand test payments). */
export async function allPayments(stack: LocalStack): Promise<PaymentRecord[]> {
  const documents = documentClient(stack.dynamo);
  const payments: PaymentRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: stack.tables.payments, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const { reconcileShard: _shard, reconcileAt: _at, ...payment } = item;
      payments.push(payment as PaymentRecord);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return payments;
}

/** The domain events the local bus accepted for one subscription (all of them when omitted), in order. */
export function busEvents(stack: LocalStack, subscriptionId?: string): DomainEvent[] {
  return stack.eventBus
    .events()
    .map((event) => event.detail as DomainEvent)
    .filter((event) => subscriptionId === undefined || event.subscriptionId === subscriptionId);
}

/** The stored subscription; throws when it is missing. */
export async function storedSubscription(stack: LocalStack, subscriptionId: string): Promise<Subscription> {
  const subscription = await stack.billing.store.getSubscription(subscriptionId);
  if (!subscription) throw new Error(`no subscription ${subscriptionId}`);
  return subscription;
}

/** Stores a transition of `before` conditional on its version and publishes its events, as the edge does. */
export async function commitTransition(stack: LocalStack, before: Subscription, transition: Transition) {
  const result = await stack.billing.store.commit({
    subscription: { expectedVersion: before.version, next: transition.subscription },
    events: transition.events,
  });
  if (!result.committed) throw new Error(`${before.id} changed while the test was changing it`);
  await stack.billing.publisher.publish(transition.events);
  return transition.subscription;
}

/**
 * The customer registers a new card or account (a sandbox test name such as `success`) for the
 * subscription at the clock's current time: `replacePaymentMethod`, committed through the store.
 */
export async function replaceBillingKey(
  stack: LocalStack,
  subscriptionId: string,
  instrument: { readonly card: string } | { readonly account: string },
): Promise<Subscription> {
  const key = stack.sandbox.admin.createBillingKey(instrument);
  const before = await storedSubscription(stack, subscriptionId);
  return commitTransition(
    stack,
    before,
    replacePaymentMethod(
      before,
      { payType: key.payType, billingKeyRef: key.PCD_PAYER_ID },
      stack.clock.now(),
    ),
  );
}

/** An operator fixed the configuration: `releaseHold` at the clock's current time, through the store. */
export async function releaseHoldNow(stack: LocalStack, subscriptionId: string): Promise<Subscription> {
  const before = await storedSubscription(stack, subscriptionId);
  return commitTransition(stack, before, releaseHold(before, stack.clock.now()));
}

/** How a misconfigured deployment talks to Payple: the stack's partner with some settings wrong. */
export interface PaypleSettings {
  readonly referer?: string;
  readonly custKey?: string;
}

export interface ExtraCharger {
  /** Charges what is in the stack's billing queue now, with this charger. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A second charger Lambda on the stack's billing queue, wired like the stack's own (same store,
 * publisher and policy) but with its own Payple client settings: a deployment whose Referer or
 * custKey is wrong. It only runs when drained, so the stack's charger and this one never compete.
 */
export async function startChargerWith(stack: LocalStack, settings: PaypleSettings): Promise<ExtraCharger> {
  const logger = new Logger({ serviceName: 'misconfigured', logLevel: 'SILENT' });
  const payple = new PaypleClient({
    host: stack.sandbox.url,
    cstId: defaultPartner.cstId,
    custKey: settings.custKey ?? defaultPartner.custKey,
    refundKey: defaultPartner.refundKey,
    referer: settings.referer ?? LOCAL_REFERER,
    clock: stack.clock,
    logger,
  });
  const charger = createChargerHandler({
    store: stack.billing.store,
    publisher: stack.billing.publisher,
    payple,
    now: stack.clock.now,
    dunningPolicy: DEFAULT_DUNNING_POLICY,
    useMonthGuard: true,
    chargingTimeoutMs: 5 * 60_000,
    firstLookupDelayMs: 5 * 60_000,
    logger,
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'misconfigured' }),
  });
  const poller = await startSqsPoller({
    sqs: stack.sqs,
    queueUrl: stack.queues.billing.url,
    queueArn: stack.queues.billing.arn,
    handler: charger,
    functionName: 'misconfigured-charger',
    timeoutMs: CHARGER_TIMEOUT_SECONDS * 1000,
    autoStart: false,
  });
  return {
    drain: async () => {
      await poller.drain();
    },
    stop: () => poller.stop(),
  };
}
