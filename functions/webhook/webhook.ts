/**
 * The webhook Lambda's wiring (`POST|HEAD /webhooks/payple/{secret}`, payload format 2.0): check the
 * path secret in constant time, read and validate the body at the edge, apply it with one use case,
 * answer with a status that says what happened. Payple does not sign webhooks; see
 * `apply-webhook.ts` for what is trusted and README.md for the status table.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  applyWebhook,
  type ApplyWebhookDependencies,
  type WebhookNotification,
  type WebhookOutcome,
} from '../use-cases/apply-webhook.ts';
import {
  MalformedWebhookError,
  PayloadTooLargeError,
  UnknownWebhookPathError,
  UnsupportedMediaTypeError,
  WebhookError,
} from './errors.ts';
import { parseWebhookFields } from './notification.ts';
import { errorLogFields } from '../shared/observability.ts';
import { sameSecret } from '../shared/secrets.ts';

/** Payple's results are about 2 KB; anything far larger is not from Payple. */
export const MAX_WEBHOOK_BODY_BYTES = 16 * 1024;

export interface WebhookHandlerDependencies extends ApplyWebhookDependencies {
  /** The path segment Payple's webhook URL carries (from Secrets Manager). */
  readonly pathSecret: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

type Response = APIGatewayProxyStructuredResultV2;

function json(statusCode: number, result: string, message: string): Response {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({ result, message }),
  };
}

function secretChecker(expected: string): (candidate: string | undefined) => boolean {
  return (candidate) => sameSecret(candidate ?? '', expected) && candidate !== undefined;
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  return event.headers[name] ?? undefined;
}

/** The body's bytes, refused past the limit before anything is decoded further. */
function bodyBytes(event: APIGatewayProxyEventV2): Buffer {
  const declared = Number(header(event, 'content-length') ?? 0);
  if (declared > MAX_WEBHOOK_BODY_BYTES) throw new PayloadTooLargeError(MAX_WEBHOOK_BODY_BYTES);
  const raw = event.body ?? '';
  const encodedLimit = event.isBase64Encoded
    ? Math.ceil(MAX_WEBHOOK_BODY_BYTES / 3) * 4 + 4
    : MAX_WEBHOOK_BODY_BYTES;
  if (raw.length > encodedLimit) throw new PayloadTooLargeError(MAX_WEBHOOK_BODY_BYTES);
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_WEBHOOK_BODY_BYTES) throw new PayloadTooLargeError(MAX_WEBHOOK_BODY_BYTES);
  return bytes;
}

/**
 * The body as fields: JSON (Payple's documented format) or a form post. The charset parameter is
 * not honoured: everything we rely on is ASCII, and UTF-8 is what Payple sends.
 */
function decodeBody(event: APIGatewayProxyEventV2): unknown {
  const bytes = bodyBytes(event);
  const mediaType = (header(event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && mediaType !== 'application/x-www-form-urlencoded') {
    throw new UnsupportedMediaTypeError();
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new MalformedWebhookError(['(body): empty']);
  if (mediaType === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new MalformedWebhookError(['(body): not valid JSON']);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new MalformedWebhookError(['(body): must be a JSON object']);
    }
    return body;
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, name)) throw new MalformedWebhookError([`${name}: sent more than once`]);
    fields[name] = value;
  }
  return fields;
}

interface Answer {
  readonly status: number;
  readonly result: string;
  readonly message: string;
  readonly metric: string;
}

/** Status, response and metric of each outcome (README.md, "Status codes"). */
function answerFor(outcome: WebhookOutcome): Answer {
  switch (outcome.kind) {
    case 'foreign_partner':
      return {
        status: 403,
        result: 'forbidden',
        message: 'PCD_CST_ID is not this partner',
        metric: 'WebhooksRejected',
      };
    case 'not_our_payment':
      return { status: 404, result: 'not_found', message: 'not our payment', metric: 'WebhooksRejected' };
    case 'unrecorded_payment_reported':
      return {
        status: 202,
        result: 'reported',
        message: 'no payment recorded with this OID yet: kept for follow-up',
        metric: 'WebhookUnrecordedPayments',
      };
    case 'settled':
      return {
        status: 200,
        result: 'settled',
        message: 'payment recorded as paid',
        metric: 'WebhookPaymentsSettled',
      };
    case 'duplicate':
      return { status: 200, result: 'duplicate', message: 'already recorded', metric: 'WebhookDuplicates' };
    case 'lookup_scheduled':
      return {
        status: 202,
        result: 'lookup_scheduled',
        message: 'not applied: the payment will be confirmed with Payple',
        metric: 'WebhookLookupsScheduled',
      };
    case 'contradiction':
      return {
        status: 202,
        result: 'not_applied',
        message: 'not applied: it contradicts what is recorded; an operator will check',
        metric: 'WebhookContradictions',
      };
    case 'refund_recorded':
      return {
        status: 200,
        result: 'refund_recorded',
        message: 'refund recorded',
        metric: 'WebhookRefundsRecorded',
      };
    case 'refund_duplicate':
      return {
        status: 200,
        result: 'duplicate',
        message: 'refund already recorded',
        metric: 'WebhookDuplicates',
      };
    case 'refund_refused':
      return {
        status: 409,
        result: 'conflict',
        message: `refund not recorded: ${outcome.reason.replaceAll('_', ' ')}`,
        metric: 'WebhookRefundsRefused',
      };
    case 'key_terminated':
      // The same answer whether or not the key is ours: a caller learns nothing about keys.
      return {
        status: 200,
        result: 'processed',
        message: 'billing key termination processed',
        metric: 'WebhookKeyTerminations',
      };
    case 'acknowledged':
      return {
        status: 200,
        result: 'acknowledged',
        message: 'nothing to apply',
        metric: 'WebhooksAcknowledged',
      };
  }
}

/** Identifiers and outcomes only: never the key, the payer, or the body. */
function logFieldsOf(notification: WebhookNotification, outcome: WebhookOutcome): Record<string, unknown> {
  const { kind: _kind, ...details } = outcome;
  return {
    notification: notification.kind,
    ...(notification.kind === 'payment_result'
      ? { oid: notification.oid, result: notification.result, classification: notification.classification }
      : {}),
    ...(notification.kind === 'cancellation'
      ? { oid: notification.oid, refundAmount: notification.refundAmount }
      : {}),
    outcome: outcome.kind,
    ...details,
  };
}

function logOutcome(
  deps: WebhookHandlerDependencies,
  notification: WebhookNotification,
  outcome: WebhookOutcome,
) {
  const fields = logFieldsOf(notification, outcome);
  switch (outcome.kind) {
    case 'contradiction':
      deps.logger.error('webhook contradicts the recorded payment: not applied', fields);
      return;
    case 'refund_refused':
    case 'foreign_partner':
    case 'not_our_payment':
      deps.logger.warn('webhook refused', fields);
      return;
    default:
      deps.logger.info('webhook processed', fields);
  }
}

/** Answers `WebhookError`s with their status; anything else is left to fail (API Gateway's 500). */
function errorResponses(deps: WebhookHandlerDependencies): MiddlewareObj<APIGatewayProxyEventV2, Response> {
  return {
    onError: (request) => {
      const error = request.error;
      if (!(error instanceof WebhookError) || !error.expose) {
        deps.logger.error('webhook failed', {
          error: errorLogFields(error),
        });
        return;
      }
      deps.metrics.addMetric('WebhooksRejected', MetricUnit.Count, 1);
      deps.logger.warn('webhook rejected', {
        status: error.statusCode,
        ...(error instanceof MalformedWebhookError ? { issues: error.issues } : {}),
      });
      request.response = json(error.statusCode, error.result, error.message);
    },
  };
}

/** Builds the handler around its dependencies (tests and the local stack pass their own). */
export function createWebhookHandler(deps: WebhookHandlerDependencies) {
  const isOurPath = secretChecker(deps.pathSecret);
  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<Response> => {
    if (!isOurPath(event.pathParameters?.secret)) throw new UnknownWebhookPathError();
    // Payple probes the URL with HEAD before it sends anything.
    if (event.requestContext.http.method === 'HEAD') return { statusCode: 200, body: '' };

    const notification = parseWebhookFields(decodeBody(event));
    const outcome = await applyWebhook(deps, notification);
    const answer = answerFor(outcome);
    deps.metrics.addMetric(answer.metric, MetricUnit.Count, 1);
    logOutcome(deps, notification, outcome);
    return json(answer.status, answer.result, answer.message);
  })
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .use(logMetrics(deps.metrics))
    .use(errorResponses(deps));
}
