/**
 * The return function's wiring: `POST /return/{sessionId}`, PCD_RST_URL, where Payple's window
 * sends the customer's browser with its result as a form post (API Gateway hands it over
 * base64-encoded). The form is read into a few bounded fields and passed to the use case, which
 * trusts none of it; the answer is always a 303 to the session's allow-listed success or failure
 * page (or this API's own result page). Logs carry ids, reasons and outcomes, never the billing
 * key, tokens or the customer's data.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { escapeHtml } from '../checkout/pages.ts';
import {
  completeCheckout,
  type CompleteCheckoutDependencies,
  type ReturnResult,
  type WindowResult,
} from '../use-cases/complete-checkout.ts';
import { errorLogFields } from '../shared/observability.ts';

export interface ReturnHandlerDependencies extends CompleteCheckoutDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Payple's result form is a few kilobytes; anything much larger is not one. */
const MAX_BODY_BYTES = 64 * 1024;

const optional = (schema: z.ZodString) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
/** Printable ASCII without spaces: tokens and keys. */
const token = z.string().regex(/^[\x21-\x7e]{1,255}$/);

const windowResultSchema = z.object({
  PCD_PAY_RST: z.enum(['success', 'error', 'close']),
  PCD_PAY_CODE: optional(z.string().max(32)),
  PCD_PAY_MSG: optional(z.string().max(1000)),
  PCD_PAYER_ID: optional(token),
  PCD_PAY_REQKEY: optional(token),
  PCD_AUTH_KEY: optional(token),
  PCD_PAY_COFURL: optional(z.string().max(2048)),
});

const FIELDS = Object.keys(windowResultSchema.shape);

function isForm(event: APIGatewayProxyEventV2): boolean {
  const type = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** The window's result, or `undefined` when the post is not a readable result form. */
function parseWindowResult(event: APIGatewayProxyEventV2): WindowResult | undefined {
  if (event.body === undefined || !isForm(event)) return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) return undefined;
  const form = new URLSearchParams(raw.toString('utf8'));
  // A field sent twice could mean different things to different readers: not a result form.
  if (FIELDS.some((field) => form.getAll(field).length > 1)) return undefined;
  const parsed = windowResultSchema.safeParse(
    Object.fromEntries(FIELDS.map((f) => [f, form.get(f) ?? undefined])),
  );
  if (!parsed.success) return undefined;
  const f = parsed.data;
  return {
    result: f.PCD_PAY_RST,
    ...(f.PCD_PAY_CODE === undefined ? {} : { code: f.PCD_PAY_CODE }),
    ...(f.PCD_PAY_MSG === undefined ? {} : { message: f.PCD_PAY_MSG }),
    ...(f.PCD_PAYER_ID === undefined ? {} : { payerId: f.PCD_PAYER_ID }),
    ...(f.PCD_PAY_REQKEY === undefined ? {} : { requestKey: f.PCD_PAY_REQKEY }),
    ...(f.PCD_AUTH_KEY === undefined ? {} : { authKey: f.PCD_AUTH_KEY }),
    ...(f.PCD_PAY_COFURL === undefined ? {} : { confirmUrl: f.PCD_PAY_COFURL }),
  };
}

function seeOther(location: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 303,
    headers: {
      location,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    },
    body: `<!doctype html><html lang="ko"><meta charset="utf-8"><title>이동 중 · Redirecting</title><p><a href="${escapeHtml(location)}">계속 · Continue</a></p></html>`,
  };
}

function record(deps: ReturnHandlerDependencies, result: ReturnResult): void {
  const fields = {
    sessionId: result.sessionId,
    subscriptionId: result.subscriptionId,
    oid: result.oid,
    outcome: result.outcome,
    reason: result.reason,
    paymentState: result.paymentState,
  };
  deps.metrics.addMetric(
    result.outcome === 'success' ? 'CheckoutsCompleted' : 'CheckoutsFailed',
    MetricUnit.Count,
    1,
  );
  if (result.needsReview) {
    deps.metrics.addMetric('CheckoutPaymentsNeedReview', MetricUnit.Count, 1);
    deps.logger.error(
      'window payment may have taken money without a subscription to record it: check the OID at Payple',
      fields,
    );
  }
  if (result.followUpError !== undefined) {
    deps.logger.warn('checkout return: a step after the outcome failed; the outcome stands', {
      ...fields,
      error: errorLogFields(result.followUpError),
    });
  }
  if (result.reason === 'internal_error') {
    const error = result.error;
    deps.logger.error('checkout return failed', {
      ...fields,
      error: errorLogFields(error),
    });
  } else if (!result.needsReview) {
    deps.logger.info('checkout return', fields);
  }
}

/** Builds the handler around its dependencies (the deployed entry and the local stack pass theirs). */
export function createReturnHandler(deps: ReturnHandlerDependencies) {
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    let result: ReturnResult;
    try {
      result = await completeCheckout(deps, {
        sessionId: event.pathParameters?.['sessionId'] ?? '',
        result: parseWindowResult(event),
      });
    } catch (error) {
      // The store itself failed before anything was decided: the customer still gets a page.
      result = {
        outcome: 'failure',
        redirectTo: deps.redirects.defaultFailureUrl,
        reason: 'internal_error',
        error,
      };
    }
    record(deps, result);
    return seeOther(result.redirectTo);
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
