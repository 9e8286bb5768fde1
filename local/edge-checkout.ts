/**
 * The browser routes (subscribe page, checkout, PCD_RST_URL return) wired as they are deployed,
 * against the local engines: sessions in DynamoDB Local, charge jobs in the SQS emulator, Payple
 * as the sandbox. Only the wiring differs from `functions/{checkout,return}/handler.ts`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { routes } from '../lib/resources.ts';
import {
  DEFAULT_DUNNING_POLICY,
  DEMO_PLANS,
  type DunningPolicy,
  type PlanOffer,
} from '../functions/billing/index.ts';
import { createCheckoutHandler } from '../functions/checkout/checkout.ts';
import { PaypleClient } from '../functions/payple/index.ts';
import { SqsJobQueue } from '../functions/queue/sqs-job-queue.ts';
import { createReturnHandler } from '../functions/return/return.ts';
import { METRICS_NAMESPACE } from '../functions/shared/observability.ts';
import { NOT_FOUND_LOOKUP_CODES } from '../functions/shared/reconcile-config.ts';
import { DynamoCheckoutSessionStore } from '../functions/store/checkout-session-store.ts';
import { documentClient, type DynamoBillingStore } from '../functions/store/dynamo-billing-store.ts';
import type { LookupBudget } from '../functions/use-cases/ports.ts';
import { redirectPolicy } from '../functions/use-cases/checkout.ts';
import type { EventPublisher } from '../functions/use-cases/ports.ts';
import type { LocalQueues, TableNames } from './aws/create-resources.ts';
import type { GatewayRoute, HttpHandler } from './aws/http-gateway.ts';
import { LOCAL_REFERER, localBillingSettings } from './billing.ts';
import type { Clock } from './clock.ts';
import { defaultPartner } from './payple-sandbox/index.ts';

export interface LocalCheckoutOptions {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tables: TableNames;
  readonly queues: LocalQueues;
  /** The local billing pipeline's store, outbox publisher and shared lookup budget. */
  readonly billing: {
    readonly store: DynamoBillingStore;
    readonly publisher: EventPublisher;
    readonly budget: LookupBudget;
  };
  /** The sandbox's URL: Payple's host for the server calls and the window script. */
  readonly paypleHost: string;
  /**
   * The Referer sent to Payple; `LOCAL_REFERER` when omitted. Payple's test host wants the origin
   * of the page that opens the window.
   */
  readonly paypleReferer?: string;
  readonly clock: Clock;
  /**
   * Where the browser reaches the gateway (`PUBLIC_BASE_URL`). A function, because the gateway's
   * port is known only once it listens; read at the first request.
   */
  readonly publicBaseUrl: string | (() => string);
  /** Default: `DEMO_PLANS`. */
  readonly plans?: readonly PlanOffer[];
  /** Besides the result pages. */
  readonly allowedRedirectUrls?: readonly string[];
  readonly dunningPolicy?: DunningPolicy;
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Where the handlers' metrics go (tests watch them); a fresh `Metrics` when omitted. */
  readonly metrics?: Metrics;
  readonly paypleTimeouts?: {
    readonly authMs?: number;
    readonly chargeMs?: number;
    readonly lookupMs?: number;
  };
}

/** Creates a handler on its first call (once the public base URL is known), then reuses it. */
function lazy(build: () => HttpHandler): HttpHandler {
  let handler: HttpHandler | undefined;
  return (event, context) => (handler ??= build())(event, context);
}

/** `GET /subscribe`, `GET /subscribe/result`, `POST /checkout` and `POST /return/{sessionId}`. */
export function checkoutRoutes(options: LocalCheckoutOptions): GatewayRoute[] {
  const logger = new Logger({ serviceName: 'local-edge', logLevel: options.logLevel ?? 'WARN' });
  const metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'local-edge' });
  const baseUrl = () =>
    typeof options.publicBaseUrl === 'string' ? options.publicBaseUrl : options.publicBaseUrl();
  const payple = new PaypleClient({
    host: options.paypleHost,
    cstId: defaultPartner.cstId,
    custKey: defaultPartner.custKey,
    referer: options.paypleReferer ?? LOCAL_REFERER,
    clock: options.clock,
    logger,
    ...(options.paypleTimeouts ? { timeouts: options.paypleTimeouts } : {}),
  });
  const sessions = new DynamoCheckoutSessionStore(
    documentClient(options.dynamo),
    options.tables.checkoutSessions,
  );
  const now = () => options.clock.now();
  const settings = localBillingSettings(options.tables);

  const checkout = lazy(() => {
    const publicBaseUrl = baseUrl();
    return createCheckoutHandler({
      plans: options.plans ?? DEMO_PLANS,
      sessions,
      subscriptions: options.billing.store,
      payple,
      paypleHost: options.paypleHost,
      publicBaseUrl,
      redirects: redirectPolicy(publicBaseUrl, options.allowedRedirectUrls ?? []),
      now,
      logger,
      metrics,
    });
  });
  const paymentReturn = lazy(() =>
    createReturnHandler({
      store: options.billing.store,
      publisher: options.billing.publisher,
      dunningPolicy: options.dunningPolicy ?? DEFAULT_DUNNING_POLICY,
      sessions,
      queue: new SqsJobQueue(options.sqs, options.queues.billing.url),
      budget: options.billing.budget,
      payple,
      paypleHost: options.paypleHost,
      redirects: redirectPolicy(baseUrl(), options.allowedRedirectUrls ?? []),
      now,
      chargingTimeoutMs: settings.chargingTimeoutMs,
      firstLookupDelayMs: settings.firstLookupDelayMs,
      notFoundCodes: NOT_FOUND_LOOKUP_CODES,
      logger,
      metrics,
    }),
  );

  const edge = Object.values(routes).filter(
    (route) => route.functionId === 'checkout' || route.functionId === 'return',
  );
  return edge.map((route) => ({
    method: route.method,
    path: route.path,
    functionName: route.functionId,
    handler: route.functionId === 'checkout' ? checkout : paymentReturn,
  }));
}
