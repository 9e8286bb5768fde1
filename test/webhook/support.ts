/**
 * The webhook's tests run the real handler behind the local HTTP gateway (payload 2.0 events, form
 * bodies base64-encoded), against the local stack's tables, charger, reconciler and Payple sandbox.
 * Helpers here make payments in the states the tests need (paid, unknown, declined) through the
 * real pipeline, build Payple-shaped bodies, and take snapshots of everything a webhook could
 * change: payments, subscriptions, outbox, published events, the sandbox's ledger and keys.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { vi } from 'vitest';
import {
  attemptOid,
  kstCompactDateOf,
  type DomainEvent,
  type PaymentRecord,
  type Subscription,
} from '../../functions/billing/index.ts';
import type { PaypleClient } from '../../functions/payple/index.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import { startHttpGateway, type RunningHttpGateway } from '../../local/aws/http-gateway.ts';
import { webhookRoutes, webhookUrl } from '../../local/edge-webhook.ts';
import { defaultPartner, type FaultSpec } from '../../local/payple-sandbox/index.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  billAt,
  sandboxClient,
  seedSubscription,
  startTestStack,
  type SeedOptions,
} from '../support/local-stack.ts';

export const MINUTE = 60_000;

/** One logged line as the handler wrote it: level, message and the structured fields. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly args: readonly unknown[];
}

export interface WebhookHarness {
  readonly stack: LocalStack;
  readonly gateway: RunningHttpGateway;
  /** The path secret; `url` carries it. */
  readonly secret: string;
  readonly url: string;
  /** Every line the webhook logged, oldest first. */
  readonly logs: LoggedLine[];
  /** Every metric the webhook added (name), oldest first. */
  readonly metrics: string[];
  /** A client for the sandbox as our partner (refunds, lookups). */
  readonly payple: PaypleClient;
  stop(): Promise<void>;
}

/** A frozen-clock stack plus a gateway serving only the webhook routes, with logs and metrics captured. */
export async function startWebhookHarness(startAt = '2027-03-01T09:00:00+09:00'): Promise<WebhookHarness> {
  const stack = await startTestStack({ startAt, billing: { paypleTimeouts: { chargeMs: 2_000 } } });
  const secret = randomBytes(32).toString('hex');
  const logger = new Logger({ serviceName: 'webhook', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'webhook' });
  const logs: LoggedLine[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    const original = logger[level].bind(logger) as (...args: unknown[]) => void;
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      logs.push({ level, args });
      original(...args);
    });
  }
  const added: string[] = [];
  vi.spyOn(metrics, 'addMetric').mockImplementation((name: string) => {
    added.push(name);
    return metrics;
  });
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);

  const gateway = await startHttpGateway({
    routes: webhookRoutes({
      store: stack.billing.store,
      publisher: stack.billing.publisher,
      now: stack.clock.now,
      pathSecret: secret,
      unrecordedPayments: stack.billing.unrecordedPayments,
      logger,
      metrics,
    }),
  });
  const payple = sandboxClient(stack);
  return {
    stack,
    gateway,
    secret,
    url: webhookUrl(gateway.url, secret),
    logs,
    metrics: added,
    payple,
    stop: async () => {
      await gateway.stop();
      await stack.stop();
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: { readonly result?: string; readonly message?: string } | undefined;
}

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: Reply['json'];
  try {
    json = JSON.parse(text) as Reply['json'];
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** POSTs a JSON body (or a raw string with its own content type) to the webhook URL. */
export async function postWebhook(
  harness: WebhookHarness,
  body: unknown,
  options: { readonly contentType?: string | null; readonly url?: string } = {},
): Promise<Reply> {
  const contentType =
    options.contentType === undefined ? 'application/json; charset=utf-8' : options.contentType;
  const response = await fetch(options.url ?? harness.url, {
    method: 'POST',
    headers: contentType === null ? {} : { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return reply(response);
}

/** POSTs the fields as `application/x-www-form-urlencoded`, as a browser-style form post. */
export async function postForm(harness: WebhookHarness, fields: Record<string, string>): Promise<Reply> {
  return postWebhook(harness, new URLSearchParams(fields).toString(), {
    contentType: 'application/x-www-form-urlencoded',
  });
}

// ---------------------------------------------------------------------------------------------
// Payments in the states the tests need, made by the real dispatcher, charger and sandbox.

export interface TestPayment {
  readonly subscription: Subscription;
  readonly oid: string;
  /** Secret (the sandbox's PCD_PAYER_ID). */
  readonly billingKey: string;
  readonly payment: PaymentRecord;
}

/** Seeds a subscription due now and runs the dispatcher and charger once, with the given faults. */
export async function chargeNow(
  harness: WebhookHarness,
  options: SeedOptions & {
    /** Request faults (e.g. a lost answer) on this key's charge. */
    readonly chargeFault?: FaultSpec;
    /** Hold this charge's webhook until `releaseWebhooks()` (needs the webhook URL set). */
    readonly holdWebhook?: boolean;
  } = {},
): Promise<TestPayment> {
  const { stack } = harness;
  const subscription = await seedSubscription(stack, options);
  const billingKey = subscription.paymentMethod.billingKeyRef;
  if (options.chargeFault) {
    stack.sandbox.admin.addFault({
      ...options.chargeFault,
      operation: 'charge',
      payerId: billingKey,
      times: 1,
    });
  }
  if (options.holdWebhook) {
    stack.sandbox.admin.addFault({ kind: 'webhookDelay', ms: 600_000, payerId: billingKey, times: 1 });
  }
  await billAt(stack, stack.clock.now());
  const oid = attemptOid(subscription, { period: 0, attempt: 1 });
  const payment = await stack.billing.store.getPayment(oid);
  if (!payment) throw new Error(`the charger made no payment ${oid}`);
  return { subscription, oid, billingKey, payment };
}

/** A paid payment (the charge answer arrived). */
export async function paidPayment(harness: WebhookHarness, options: SeedOptions = {}): Promise<TestPayment> {
  const made = await chargeNow(harness, options);
  if (made.payment.state !== 'paid') throw new Error(`expected paid, got ${made.payment.state}`);
  return made;
}

/** An `unknown` payment: Payple charged (or declined) it but the answer was a 500. */
export async function unknownPayment(
  harness: WebhookHarness,
  options: SeedOptions & { readonly holdWebhook?: boolean } = {},
): Promise<TestPayment> {
  const made = await chargeNow(harness, { ...options, chargeFault: { kind: 'httpError', execute: true } });
  if (made.payment.state !== 'unknown') throw new Error(`expected unknown, got ${made.payment.state}`);
  return made;
}

/** Sends the sandbox's held webhooks now and waits until they are delivered. */
export async function releaseWebhooks(harness: WebhookHarness): Promise<void> {
  harness.stack.sandbox.admin.releaseWebhooks();
  await harness.stack.sandbox.admin.webhooksIdle();
}

// ---------------------------------------------------------------------------------------------
// Bodies shaped like Payple's (every value a string; see the sandbox's webhooks).

const KST_OFFSET_MS = 9 * 3_600_000;

/** An instant as Payple's `YYYYMMDDhhmmss` in KST. */
export function kstTime(epochMs: number): string {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 19).replaceAll(/[-T:]/g, '');
}

/** A successful charge result for the payment, as Payple's webhook reports it. */
export function successBody(made: TestPayment, at: number, overrides: Record<string, unknown> = {}) {
  return {
    PCD_CST_ID: defaultPartner.cstId,
    PCD_PAY_RST: 'success',
    PCD_PAY_CODE: 'SPCD0000',
    PCD_PAY_MSG: '카드결제완료',
    PCD_PAY_OID: made.oid,
    PCD_PAY_TYPE: made.payment.payType,
    PCD_PAYER_ID: made.billingKey,
    PCD_PAYER_NO: '',
    PCD_PAYER_NAME: '홍길동',
    PCD_PAYER_HP: '01012345678',
    PCD_PAYER_EMAIL: 'hong@example.com',
    PCD_PAY_GOODS: '베이직 구독',
    PCD_PAY_TOTAL: String(made.payment.amount),
    PCD_PAY_TAXTOTAL: '',
    PCD_PAY_ISTAX: 'Y',
    PCD_PAY_TIME: kstTime(at),
    PCD_PAY_CARDNAME: 'BC카드',
    PCD_PAY_CARDNUM: '9410-****-****-0001',
    PCD_PAY_CARDTRADENUM: `T${made.oid}`,
    PCD_PAY_CARDAUTHNO: '12345678',
    PCD_PAY_CARDRECEIPT: 'https://democpay.payple.kr/receipt',
    PCD_SIMPLE_FLAG: 'Y',
    ...overrides,
  };
}

/** A declined charge result (insufficient funds) for the payment. */
export function declineBody(made: TestPayment, overrides: Record<string, unknown> = {}) {
  return {
    ...successBody(made, 0),
    PCD_PAY_RST: 'error',
    PCD_PAY_CODE: 'SPCD0099',
    PCD_PAY_MSG: '[test] [SPCD0099] 3133 - 잔액부족',
    PCD_PAY_TIME: '',
    PCD_PAY_CARDNAME: '',
    PCD_PAY_CARDNUM: '',
    PCD_PAY_CARDRECEIPT: '',
    ...overrides,
  };
}

/** A cancellation webhook: `refund` won refunded at `at`. */
export function cancelBody(
  made: TestPayment,
  refund: number,
  at: number,
  overrides: Record<string, unknown> = {},
) {
  return {
    PCD_CST_ID: defaultPartner.cstId,
    PCD_PAYCANCEL_FLAG: 'Y',
    PCD_PAY_RST: 'success',
    PCD_PAY_CODE: 'PAYC0000',
    PCD_PAY_MSG: '부분취소 완료',
    PCD_PAY_OID: made.oid,
    PCD_PAY_TYPE: made.payment.payType,
    PCD_PAYER_NO: '',
    PCD_PAYER_ID: made.billingKey,
    PCD_PAY_GOODS: '베이직 구독',
    PCD_PAY_TOTAL: String(made.payment.amount),
    PCD_REFUND_TOTAL: String(refund),
    PCD_REFUND_TAXTOTAL: '',
    PCD_REFUND_TIME: kstTime(at),
    ...overrides,
  };
}

/** A billing key ended in Payple's admin. */
export function keyTerminatedBody(billingKey: string, overrides: Record<string, unknown> = {}) {
  return {
    PCD_CST_ID: defaultPartner.cstId,
    PCD_PAY_RST: 'success',
    PCD_PAY_CODE: 'PUER0000',
    PCD_PAY_MSG: '관리자 빌링키 해지',
    PCD_PAY_WORK: 'PUSERDEL',
    PCD_PAY_TYPE: 'card',
    PCD_PAYER_ID: billingKey,
    PCD_PAYER_NO: '',
    ...overrides,
  };
}

/** Refunds at the sandbox as an operator would (its cancel webhook follows). */
export async function refundAtPayple(harness: WebhookHarness, made: TestPayment, amount: number) {
  const outcome = await harness.payple.refund({
    oid: made.oid,
    payDate: kstCompactDateOf(made.payment.requestedAt),
    amount,
    payType: made.payment.payType,
  });
  if (outcome.kind !== 'success') throw new Error(`refund refused: ${outcome.kind} ${outcome.code ?? ''}`);
  return outcome.value;
}

// ---------------------------------------------------------------------------------------------
// "Nothing changed"

async function scanTable(harness: WebhookHarness, table: string, key: string) {
  const documents = documentClient(harness.stack.dynamo);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => String(a[key]).localeCompare(String(b[key])));
}

/** Everything a webhook could change. Two equal snapshots: nothing changed. */
export async function snapshot(harness: WebhookHarness) {
  const { stack } = harness;
  return {
    payments: await scanTable(harness, stack.tables.payments, 'oid'),
    subscriptions: await scanTable(harness, stack.tables.subscriptions, 'subscriptionId'),
    outbox: await scanTable(harness, stack.tables.outbox, 'eventId'),
    events: stack.eventBus.events().map((event) => event.id),
    ledger: stack.sandbox.admin.ledger(),
    billingKeys: stack.sandbox.admin.billingKeys(),
  };
}

/** The domain events the bus accepted about one subscription, in order. */
export function eventsOf(harness: WebhookHarness, subscriptionId: string): DomainEvent[] {
  return harness.stack.eventBus
    .events()
    .map((event) => event.detail as DomainEvent)
    .filter((event) => event.subscriptionId === subscriptionId);
}

/** Every logged line as one string, to search for values that must never appear. */
export function loggedText(harness: WebhookHarness): string {
  return JSON.stringify(harness.logs);
}
