/**
 * The checkout function's wiring (payload format 2.0): `GET /subscribe` (and `?replace=<id>`),
 * `GET /subscribe/result` and `POST /checkout`. It parses and validates at the edge, calls the
 * checkout use case, and maps its result to a response. Logs carry ids and outcomes only: never
 * the customer's name, phone or e-mail, nor the AuthKey.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { routes } from '../../lib/resources.ts';
import { isSubscriptionId, type PayType } from '../billing/index.ts';
import {
  isReplaceable,
  startCheckout,
  type CheckoutDependencies,
  type CheckoutRequest,
  type FieldErrors,
} from '../use-cases/checkout.ts';
import {
  notReplaceablePage,
  replacePage,
  resultPage,
  subscribePage,
  type HtmlPage,
  type PageContext,
} from './pages.ts';

export interface CheckoutHandlerDependencies extends CheckoutDependencies {
  /** Payple's base URL (`PAYPLE_HOST`): the window script's host. */
  readonly paypleHost: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A JSON body larger than this is not a checkout. */
const MAX_BODY_BYTES = 16 * 1024;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** Letters, marks, digits, spaces and the punctuation of names; no control or markup characters. */
const NAME_PATTERN = /^[\p{L}\p{M}\p{N} .'·-]+$/u;

const checkoutBodySchema = z.strictObject({
  planId: z.preprocess(blankToUndefined, z.string().max(40).optional()),
  payType: z.enum(['card', 'transfer'], { error: 'card or transfer' }),
  customer: z.strictObject({
    name: z
      .string({ error: 'required' })
      .trim()
      .min(1, 'required')
      .max(80, 'at most 80 characters')
      .regex(NAME_PATTERN, "letters, digits, spaces and . ' · - only"),
    phone: z.preprocess(
      blankToUndefined,
      z
        .string()
        .transform((value) => value.replace(/[\s-]/g, ''))
        .pipe(z.string().regex(/^[0-9]{9,15}$/, 'digits only, 9-15 of them'))
        .optional(),
    ),
    email: z.preprocess(blankToUndefined, z.email('not an e-mail address').max(100).optional()),
  }),
  successUrl: z.preprocess(blankToUndefined, z.string().max(2048).optional()),
  failureUrl: z.preprocess(blankToUndefined, z.string().max(2048).optional()),
  replaceSubscriptionId: z.preprocess(blankToUndefined, z.string().max(64).optional()),
});

function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    const keys =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => (path ? `${path}.${key}` : key))
        : [path || 'body'];
    for (const key of keys)
      (errors[key] ??= []).push(issue.code === 'unrecognized_keys' ? 'not a known field' : issue.message);
  }
  return errors;
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

function html(page: HtmlPage): APIGatewayProxyStructuredResultV2 {
  return { statusCode: page.status, headers: page.headers, body: page.body };
}

function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function isJson(event: APIGatewayProxyEventV2): boolean {
  const type = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** Korean first, then English, as on the page. */
const MESSAGES = {
  invalid: '입력 내용을 확인해 주세요. (Please check the highlighted fields.)',
  maintenance:
    '은행 점검 시간(23:30-00:30)에는 즉시 결제 요금제를 신청할 수 없습니다. (Plans paid at sign-up are not available around the banks’ nightly maintenance, 23:30-00:30 KST.)',
  unavailable:
    '결제 서비스에 연결하지 못했습니다. 잠시 후 다시 시도해 주세요. (The payment service did not answer. Please try again.)',
  refused:
    '결제 서비스 설정에 문제가 있습니다. 잠시 후 다시 시도해 주세요. (The payment service is not available right now.)',
} as const;

async function postCheckout(
  deps: CheckoutHandlerDependencies,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (!isJson(event)) {
    deps.metrics.addMetric('CheckoutsRefused', MetricUnit.Count, 1);
    return json(415, { error: 'unsupported_media_type', message: 'application/json only' });
  }
  const text = bodyText(event) ?? '';
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    deps.metrics.addMetric('CheckoutsRefused', MetricUnit.Count, 1);
    return json(413, { error: 'too_large' });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    deps.metrics.addMetric('CheckoutsRefused', MetricUnit.Count, 1);
    return json(400, {
      error: 'invalid_json',
      message: MESSAGES.invalid,
      fieldErrors: { body: ['not JSON'] },
    });
  }
  const parsed = checkoutBodySchema.safeParse(body);
  if (!parsed.success) {
    deps.metrics.addMetric('CheckoutsRefused', MetricUnit.Count, 1);
    return json(400, {
      error: 'invalid_request',
      message: MESSAGES.invalid,
      fieldErrors: fieldErrorsOf(parsed.error),
    });
  }
  const request: CheckoutRequest = parsed.data;
  const result = await startCheckout(deps, request);
  switch (result.kind) {
    case 'invalid':
      deps.metrics.addMetric('CheckoutsRefused', MetricUnit.Count, 1);
      deps.logger.info('checkout refused', { fields: Object.keys(result.fieldErrors) });
      return json(400, {
        error: 'invalid_request',
        message: MESSAGES.invalid,
        fieldErrors: result.fieldErrors,
      });
    case 'closed_for_maintenance':
      deps.metrics.addMetric('CheckoutsClosedForMaintenance', MetricUnit.Count, 1);
      return json(
        503,
        {
          error: 'closed_for_maintenance',
          message: MESSAGES.maintenance,
          retryAt: new Date(result.retryAt).toISOString(),
        },
        { 'retry-after': String(Math.max(1, Math.ceil((result.retryAt - deps.now()) / 1000))) },
      );
    case 'payple_unavailable':
      deps.metrics.addMetric('PaypleUnavailable', MetricUnit.Count, 1);
      deps.logger.warn('window auth: Payple gave no usable answer');
      return json(503, { error: 'payment_provider_unavailable', message: MESSAGES.unavailable });
    case 'payple_refused':
      deps.metrics.addMetric('PaypleConfigurationErrors', MetricUnit.Count, 1);
      deps.logger.error('window auth refused by Payple', { code: result.code });
      return json(502, { error: 'payment_provider_refused', message: MESSAGES.refused });
    case 'created':
      deps.metrics.addMetric('CheckoutSessionsCreated', MetricUnit.Count, 1);
      deps.logger.info('checkout session created', {
        sessionId: result.sessionId,
        work: result.window.PCD_PAY_WORK,
        payType: result.window.PCD_PAY_TYPE,
        planId: request.planId,
        replacing: request.replaceSubscriptionId !== undefined,
        oid: result.window.PCD_PAY_OID,
      });
      return json(201, {
        sessionId: result.sessionId,
        expiresAt: new Date(result.expiresAt).toISOString(),
        params: result.window,
      });
  }
}

async function getSubscribe(
  deps: CheckoutHandlerDependencies,
  context: PageContext,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const replace = event.queryStringParameters?.['replace'];
  if (replace === undefined) return html(subscribePage(context, deps.plans));
  const sub = isSubscriptionId(replace) ? await deps.subscriptions.getSubscription(replace) : undefined;
  if (sub === undefined || !isReplaceable(sub)) return html(notReplaceablePage(context));
  const offered: readonly PayType[] = deps.plans.find((plan) => plan.id === sub.plan.id)?.payTypes ?? [
    'card',
    'transfer',
  ];
  return html(
    replacePage(context, {
      subscriptionId: sub.id,
      goodsName: sub.plan.goodsName,
      amount: sub.plan.amount,
      interval: sub.plan.interval,
      payTypes: offered,
    }),
  );
}

const ROUTE_KEYS = {
  subscribe: `${routes.subscribePage.method} ${routes.subscribePage.path}`,
  result: `${routes.resultPage.method} ${routes.resultPage.path}`,
  checkout: `${routes.checkout.method} ${routes.checkout.path}`,
} as const;

/** Builds the handler around its dependencies (the deployed entry and the local stack pass theirs). */
export function createCheckoutHandler(deps: CheckoutHandlerDependencies) {
  const context: PageContext = { publicBaseUrl: deps.publicBaseUrl, paypleHost: deps.paypleHost };
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    switch (event.routeKey) {
      case ROUTE_KEYS.subscribe:
        deps.metrics.addMetric('SubscribePagesServed', MetricUnit.Count, 1);
        return getSubscribe(deps, context, event);
      case ROUTE_KEYS.result:
        deps.metrics.addMetric('ResultPagesServed', MetricUnit.Count, 1);
        return html(resultPage(context, event.queryStringParameters?.['status']));
      case ROUTE_KEYS.checkout:
        return postCheckout(deps, event);
      default:
        deps.metrics.addMetric('UnknownRoutes', MetricUnit.Count, 1);
        return json(404, { error: 'not_found' });
    }
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
