/**
 * What the local console shows, read in one go: subscriptions and payments (scanned from DynamoDB
 * Local, newest first), the domain events the local bus accepted, the sandbox's ledger, billing keys
 * and faults, and the clock with its schedules.
 *
 * Billing keys never leave the server: a subscription shows the sandbox's masked number and test
 * card name of its key instead. Phone numbers and e-mails are left out; the name stays, so a person
 * can tell their test subscriptions apart.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parseSubscription, type PaymentRecord, type Subscription } from '../../functions/billing/index.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import type { TableNames } from '../aws/create-resources.ts';
import type { BusEvent } from '../aws/event-bus.ts';
import type { LocalClock } from '../clock.ts';
import type {
  BillingKeyView,
  Fault,
  LedgerEntry,
  SandboxAdmin,
  WebhookDelivery,
} from '../payple-sandbox/index.ts';
import { testAccounts, testCards, type TestInstrument } from '../payple-sandbox/index.ts';

/** Where the local stack sends its Payple calls. */
export interface PaypleConnection {
  /** `sandbox`: the embedded simulator; `demo`: Payple's test host (PAYPLE_ENV=demo). */
  readonly mode: 'sandbox' | 'demo';
  readonly host: string;
}

export interface ConsoleSubscription {
  readonly id: string;
  readonly status: Subscription['status'];
  readonly customerName: string;
  readonly plan: Subscription['plan'];
  readonly payType: Subscription['paymentMethod']['payType'];
  readonly paymentMethod: {
    readonly status: Subscription['paymentMethod']['status'];
    readonly revision: number;
    /** The sandbox's view of the key; undefined when Payple is not the sandbox or forgot it. */
    readonly testName: string | undefined;
    readonly maskedNumber: string | undefined;
    readonly keyStatus: BillingKeyView['status'] | undefined;
  };
  readonly currentPeriod: number;
  readonly attemptsMade: number;
  readonly nextChargeAt: number | null;
  readonly inFlight: { readonly oid: string; readonly claimedAt: number } | null;
  readonly onHold: boolean;
  readonly lastPaidPeriod: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type ConsolePayment = Omit<PaymentRecord, 'reconcile'> & {
  readonly nextLookupAt: number | undefined;
};

export interface ConsoleEvent {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly subscriptionId: string | undefined;
  readonly oid: string | undefined;
  readonly amount: number | undefined;
  readonly status: string | undefined;
  readonly sequence: number | undefined;
}

export interface ConsoleState {
  readonly clock: {
    readonly now: number;
    readonly mode: 'running' | 'frozen';
    /** How far the clock is ahead of this machine's clock (time travelled so far). */
    readonly aheadMs: number;
    readonly schedules: readonly {
      readonly name: string;
      readonly expression: string;
      readonly nextRun: number | undefined;
    }[];
    readonly errors: number;
  };
  readonly payple: PaypleConnection;
  readonly subscriptions: readonly ConsoleSubscription[];
  readonly payments: readonly ConsolePayment[];
  /** Newest first, at most `MAX_EVENTS`. */
  readonly events: readonly ConsoleEvent[];
  readonly eventCount: number;
  /** The sandbox's side; empty lists when Payple is not the sandbox. */
  readonly ledger: readonly LedgerEntry[];
  readonly faults: readonly Fault[];
  readonly webhooks: readonly Omit<WebhookDelivery, 'body'>[];
  /** Test cards and accounts the card switch and the sandbox's window accept. */
  readonly testCards: readonly TestNumber[];
  readonly testAccounts: readonly TestNumber[];
}

export interface TestNumber {
  readonly name: string;
  readonly number: string;
  /** What a charge on it means: paid, soft or hard decline, or unknown (charged, answer unclear). */
  readonly classification: TestInstrument['classification'];
}

export const MAX_EVENTS = 200;

export interface StateSources {
  readonly dynamo: DynamoDBClient;
  readonly tables: TableNames;
  readonly clock: LocalClock;
  readonly events: () => readonly BusEvent[];
  /** Undefined when Payple is not the sandbox. */
  readonly sandbox: SandboxAdmin | undefined;
  readonly payple: PaypleConnection;
}

async function scanAll(dynamo: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  const documents = documentClient(dynamo);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

function toConsoleSubscription(
  sub: Subscription,
  keys: ReadonlyMap<string, BillingKeyView>,
): ConsoleSubscription {
  const key = keys.get(sub.paymentMethod.billingKeyRef);
  return {
    id: sub.id,
    status: sub.status,
    customerName: sub.customer.name,
    plan: sub.plan,
    payType: sub.paymentMethod.payType,
    paymentMethod: {
      status: sub.paymentMethod.status,
      revision: sub.paymentMethod.revision,
      testName: key?.testName,
      maskedNumber: key?.maskedNumber,
      keyStatus: key?.status,
    },
    currentPeriod: sub.currentPeriod,
    attemptsMade: sub.attemptsMade,
    nextChargeAt: sub.nextChargeAt,
    inFlight: sub.inFlight && { oid: sub.inFlight.oid, claimedAt: sub.inFlight.claimedAt },
    onHold: sub.hold !== null,
    lastPaidPeriod: sub.lastPaidPeriod,
    createdAt: sub.createdAt,
    updatedAt: sub.updatedAt,
  };
}

function toConsolePayment(item: Record<string, unknown>): ConsolePayment {
  const {
    reconcile,
    reconcileShard: _shard,
    reconcileAt: _at,
    ...payment
  } = item as unknown as PaymentRecord & { reconcileShard?: number; reconcileAt?: number };
  return { ...payment, nextLookupAt: reconcile?.nextAt };
}

function toConsoleEvent(event: BusEvent): ConsoleEvent {
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  return {
    id: text(detail['id']) ?? event.id,
    type: event.detailType,
    time: event.time,
    subscriptionId: text(detail['subscriptionId']),
    oid: text(detail['oid']),
    amount: number(detail['amount']),
    status: text(detail['status']),
    sequence: number(detail['sequence']),
  };
}

const testNumbers = (table: Readonly<Record<string, TestInstrument>>): TestNumber[] =>
  Object.entries(table).map(([name, { number, classification }]) => ({ name, number, classification }));

/** Reads everything the console shows. */
export async function readConsoleState(sources: StateSources): Promise<ConsoleState> {
  const [subscriptionItems, paymentItems] = await Promise.all([
    scanAll(sources.dynamo, sources.tables.subscriptions),
    scanAll(sources.dynamo, sources.tables.payments),
  ]);
  const sandbox = sources.sandbox;
  const keys = new Map((sandbox?.billingKeys() ?? []).map((key) => [key.PCD_PAYER_ID, key]));
  const subscriptions = subscriptionItems
    .map((item) => toConsoleSubscription(parseSubscription(item), keys))
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  const payments = paymentItems
    .map(toConsolePayment)
    .sort((a, b) => b.requestedAt - a.requestedAt || b.oid.localeCompare(a.oid));
  const events = sources.events();
  const now = sources.clock.now();
  return {
    clock: {
      now,
      mode: sources.clock.currentMode,
      aheadMs: now - Date.now(),
      schedules: sources.clock.list().map(({ name, expression, nextRun }) => ({ name, expression, nextRun })),
      errors: sources.clock.errors.length,
    },
    payple: sources.payple,
    subscriptions,
    payments,
    events: events.slice(-MAX_EVENTS).reverse().map(toConsoleEvent),
    eventCount: events.length,
    ledger: [...(sandbox?.ledger() ?? [])].sort((a, b) => b.requestedAt - a.requestedAt),
    faults: sandbox?.faults() ?? [],
    webhooks: (sandbox?.webhooks() ?? []).map(({ body: _body, ...delivery }) => delivery).slice(-50),
    testCards: testNumbers(testCards),
    testAccounts: testNumbers(testAccounts),
  };
}
