/**
 * The webhook's routes for the local gateway: the same handler as `functions/webhook/handler.ts`,
 * wired to the local store, publisher and clock, on the paths `lib/resources.ts` defines.
 *
 * ```ts
 * const secret = randomBytes(32).toString('hex');
 * const routes = webhookRoutes({ store: billing.store, publisher: billing.publisher, now: clock.now, pathSecret: secret });
 * sandbox.admin.setWebhookUrl(webhookUrl(gateway.url, secret));
 * ```
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { routes } from '../lib/resources.ts';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../functions/billing/index.ts';
import { METRICS_NAMESPACE } from '../functions/shared/observability.ts';
import type { EventPublisher, UnrecordedPaymentReports } from '../functions/use-cases/ports.ts';
import type { WebhookStore } from '../functions/use-cases/apply-webhook.ts';
import { createWebhookHandler } from '../functions/webhook/webhook.ts';
import type { GatewayRoute, HttpHandler } from './aws/http-gateway.ts';
import { defaultPartner } from './payple-sandbox/index.ts';

export interface WebhookRouteOptions {
  /** `DynamoBillingStore` (it has `findByBillingKey`). */
  readonly store: WebhookStore;
  readonly publisher: EventPublisher;
  readonly now: () => number;
  /** The path segment the webhook URL carries. */
  readonly pathSecret: string;
  /** Where successes for OIDs without a payment record are kept (`LocalBilling.unrecordedPayments`). */
  readonly unrecordedPayments: UnrecordedPaymentReports;
  /** Our Payple partner id; the sandbox's test partner (`test`) by default. */
  readonly partnerId?: string;
  readonly dunningPolicy?: DunningPolicy;
  /** Default: a logger at `logLevel` (WARN) and metrics in the engine's namespace. */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/** Payple expects an answer within 10 seconds; the deployed function has the same budget. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** `POST` and `HEAD /webhooks/payple/{secret}`, served by one webhook handler. */
export function webhookRoutes(options: WebhookRouteOptions): GatewayRoute[] {
  const handler = createWebhookHandler({
    store: options.store,
    publisher: options.publisher,
    dunningPolicy: options.dunningPolicy ?? DEFAULT_DUNNING_POLICY,
    partnerId: options.partnerId ?? defaultPartner.cstId,
    pathSecret: options.pathSecret,
    now: options.now,
    unrecordedPayments: options.unrecordedPayments,
    logger: options.logger ?? new Logger({ serviceName: 'webhook', logLevel: options.logLevel ?? 'WARN' }),
    metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'webhook' }),
  });
  const http: HttpHandler = (event, context) => handler(event, context);
  return [routes.webhook, routes.webhookProbe].map((route) => ({
    method: route.method,
    path: route.path,
    handler: http,
    functionName: 'webhook',
    timeoutMs: WEBHOOK_TIMEOUT_MS,
  }));
}

/** The URL to register at the sandbox (or Payple's partner admin) for a gateway and secret. */
export function webhookUrl(gatewayUrl: string, pathSecret: string): string {
  return `${gatewayUrl}/webhooks/payple/${encodeURIComponent(pathSecret)}`;
}
