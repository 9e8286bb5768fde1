/**
 * The browser edge on the local stack: the test stack (emulators, sandbox, billing pipeline, frozen
 * clock) plus a gateway serving `checkoutRoutes`, and helpers that play the customer's browser over
 * plain HTTP: post the checkout, open the sandbox's window with the answer (as the stand-in
 * `PaypleCpayAuthCheck` does), submit a test card, and post the window's result to PCD_RST_URL.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { expect, vi } from 'vitest';
import type { PaymentRecord, Subscription } from '../../functions/billing/index.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import type { CheckoutSession } from '../../functions/use-cases/checkout.ts';
import { startHttpGateway, type RunningHttpGateway } from '../../local/aws/http-gateway.ts';
import { checkoutRoutes } from '../../local/edge-checkout.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';

export interface EdgeStack {
  readonly stack: LocalStack;
  /** The gateway serving the browser routes (`PUBLIC_BASE_URL`). */
  readonly url: string;
  readonly gateway: RunningHttpGateway;
  /** Handler errors the gateway answered with a 500: every test expects none. */
  readonly handlerErrors: unknown[];
  /** Every metric the checkout and return handlers added (name), oldest first. */
  readonly metrics: string[];
  stop(): Promise<void>;
}

export interface EdgeStackOptions {
  readonly startAt: string;
  /** The sandbox posts its webhooks to the stack's own gateway, as in npm start (default false). */
  readonly deliverWebhooks?: boolean;
  readonly allowedRedirectUrls?: readonly string[];
}

export async function startEdgeStack(options: EdgeStackOptions): Promise<EdgeStack> {
  const stack = await startTestStack({
    startAt: options.startAt,
    deliverWebhooks: options.deliverWebhooks ?? false,
  });
  let url = '';
  const handlerErrors: unknown[] = [];
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'local-edge' });
  const added: string[] = [];
  vi.spyOn(metrics, 'addMetric').mockImplementation((name: string) => {
    added.push(name);
    return metrics;
  });
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const gateway = await startHttpGateway({
    routes: checkoutRoutes({
      dynamo: stack.dynamo,
      sqs: stack.sqs,
      tables: stack.tables,
      queues: stack.queues,
      billing: stack.billing,
      paypleHost: stack.sandbox.url,
      clock: stack.clock,
      publicBaseUrl: () => url,
      logLevel: 'SILENT',
      metrics,
      ...(options.allowedRedirectUrls ? { allowedRedirectUrls: options.allowedRedirectUrls } : {}),
    }),
    onHandlerError: (routeKey, error) => {
      console.error(routeKey, error);
      handlerErrors.push(error);
    },
  });
  url = gateway.url;
  return {
    stack,
    url,
    gateway,
    handlerErrors,
    metrics: added,
    stop: async () => {
      await gateway.stop();
      await stack.stop();
    },
  };
}

export const CUSTOMER = { name: '홍길동', phone: '010-1234-5678', email: 'hong@example.com' } as const;

export interface CheckoutReply {
  readonly status: number;
  readonly body: {
    readonly sessionId?: string;
    readonly params?: Record<string, string>;
    readonly fieldErrors?: Record<string, string[]>;
    readonly error?: string;
  };
}

export async function postCheckout(
  edge: EdgeStack,
  body: unknown,
  contentType = 'application/json',
): Promise<CheckoutReply> {
  const response = await fetch(`${edge.url}/checkout`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as CheckoutReply['body'] };
}

/** A checkout that must succeed; returns the window parameters. */
export async function checkout(
  edge: EdgeStack,
  body: Record<string, unknown>,
): Promise<Record<string, string>> {
  const reply = await postCheckout(edge, { customer: CUSTOMER, ...body });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body.params!;
}

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function hiddenInputs(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1]!)] = unescapeHtml(match[2]!);
  }
  return fields;
}

/** The window's result form: where it posts and what. */
export interface WindowResultForm {
  readonly action: string;
  readonly fields: Record<string, string>;
}

/**
 * Opens the sandbox window with `params` (a form post to PCD_PAY_URL, as the window script does),
 * then submits `number` (or closes the window) and reads the result form it answers.
 */
export async function payInWindow(
  params: Record<string, string>,
  input: { readonly number: string } | { readonly close: true },
): Promise<WindowResultForm> {
  const opened = await fetch(params['PCD_PAY_URL']!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: 'http://localhost/subscribe' },
    body: new URLSearchParams(params).toString(),
  });
  const windowHtml = await opened.text();
  expect(opened.status, windowHtml).toBe(200);
  const session = hiddenInputs(windowHtml)['session'];
  expect(session, windowHtml).toBeDefined();
  const submitted = await fetch(new URL('/window/submit', params['PCD_PAY_URL']), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      session: session!,
      ...('close' in input ? { action: 'close' } : { action: 'submit', number: input.number }),
    }).toString(),
  });
  const resultHtml = await submitted.text();
  const action = /<form id="payple-result" method="post" action="([^"]*)"/.exec(resultHtml)?.[1];
  expect(action, resultHtml).toBeDefined();
  return { action: unescapeHtml(action!), fields: hiddenInputs(resultHtml) };
}

export interface ReturnReply {
  readonly status: number;
  readonly location: string | null;
}

/** Posts a result form to PCD_RST_URL as the browser would, without following the redirect. */
export async function postReturn(action: string, fields: Record<string, string>): Promise<ReturnReply> {
  const response = await fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  await response.text();
  return { status: response.status, location: response.headers.get('location') };
}

async function scan<T>(stack: LocalStack, table: string): Promise<T[]> {
  const documents = documentClient(stack.dynamo);
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export const sessionsOf = (edge: EdgeStack) =>
  scan<CheckoutSession & { completionStartedAt?: number }>(edge.stack, edge.stack.tables.checkoutSessions);
export const subscriptionsOf = (edge: EdgeStack) =>
  scan<Subscription>(edge.stack, edge.stack.tables.subscriptions);
export const paymentsOf = (edge: EdgeStack) => scan<PaymentRecord>(edge.stack, edge.stack.tables.payments);

export async function sessionOf(
  edge: EdgeStack,
  params: Record<string, string>,
): Promise<CheckoutSession & { completionStartedAt?: number }> {
  const sessionId = params['PCD_RST_URL']!.split('/').pop()!;
  const session = (await sessionsOf(edge)).find((s) => s.sessionId === sessionId);
  if (!session) throw new Error(`no session ${sessionId}`);
  return session;
}

/** The result pages of the edge under test. */
export const resultUrl = (edge: EdgeStack, status: 'success' | 'failure') =>
  `${edge.url}/subscribe/result?status=${status}`;

export const uniqueName = () => `t${randomUUID().slice(0, 8)}`;
