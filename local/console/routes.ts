/**
 * The local console and its admin API, served by the local gateway under `/__local` (never
 * deployed: `lib/resources.ts` does not know these routes). README.md in this folder lists them.
 *
 * There is no authentication, as for the sandbox's `/__sandbox` API: the gateway listens on
 * loopback. So that a web page open in the same browser cannot drive it, every change must be
 * sent as `application/json` (a cross-site form or no-cors fetch cannot do that without a CORS
 * preflight, which is never answered) and a request carrying an `Origin` must come from the
 * gateway's own origin.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Subscription } from '../../functions/billing/index.ts';
import type { OperationsResponse } from '../../functions/operations/operations.ts';
import type { GatewayRoute, HttpHandler, HttpMethod } from '../aws/http-gateway.ts';
import { AdminError } from '../payple-sandbox/admin.ts';
import type { FaultSpec } from '../payple-sandbox/index.ts';
import { consolePage, CONSOLE_CSP } from './page.ts';
import { readConsoleState, type StateSources } from './state.ts';
import { TimeTravel, TravelRefusedError, travelTargetSchema } from './time-travel.ts';

export interface ConsoleRouteOptions extends StateSources {
  readonly timeTravel: TimeTravel;
  readonly store: { getSubscription(subscriptionId: string): Promise<Subscription | undefined> };
  /** The operations function (`LocalBilling.operate`). */
  readonly operate: (command: unknown) => Promise<OperationsResponse>;
}

/** The admin API's routes, also answered at `GET /__local/api`. */
export const consoleApi = [
  'GET    /__local                              the console page',
  'GET    /__local/api                          this list',
  'GET    /__local/state                        clock, subscriptions, payments, events, sandbox ledger and faults',
  'POST   /__local/clock                        {days: n} | {months: n} | {to: "2027-05-17T12:00" (KST) or ISO}',
  'GET    /__local/faults                       the sandbox faults in force',
  'POST   /__local/faults                       a sandbox fault spec {kind, operation?, times?, ...}',
  'DELETE /__local/faults                       remove every fault',
  'DELETE /__local/faults/{id}                  remove one fault',
  'POST   /__local/subscriptions/{id}/card      {card: test card name or number} | {account: ...}',
  'POST   /__local/operations                   an operations command {command, requestedBy, ...} (docs/runbook.md)',
] as const;

type Handler = (
  event: APIGatewayProxyEventV2,
) => APIGatewayProxyStructuredResultV2 | Promise<APIGatewayProxyStructuredResultV2>;

class ConsoleError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

const cardSchema = z
  .strictObject({ card: z.string().min(1).max(40).optional(), account: z.string().min(1).max(40).optional() })
  .refine((body) => (body.card === undefined) !== (body.account === undefined), {
    message: 'give exactly one of card or account',
  });

function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

function asset(body: string, contentType: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 200,
    headers: {
      'content-type': contentType,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body,
  };
}

/** The request's JSON body, after the checks that keep other web pages out. */
function readBody(event: APIGatewayProxyEventV2): unknown {
  const mediaType = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ConsoleError(415, 'send the body as application/json');
  }
  if (event.body === undefined || event.body === '') return {};
  try {
    return JSON.parse(
      event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
    );
  } catch {
    throw new ConsoleError(400, 'the body is not JSON');
  }
}

function checkOrigin(event: APIGatewayProxyEventV2): void {
  const origin = event.headers['origin'];
  if (origin === undefined) return;
  const host = event.headers['host'];
  if (origin !== `http://${host ?? ''}`) throw new ConsoleError(403, `requests from ${origin} are refused`);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ConsoleError(400, z.prettifyError(parsed.error));
  return parsed.data;
}

function readAsset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
}

/** `/__local/...` routes for the local gateway. */
export function consoleRoutes(options: ConsoleRouteOptions): GatewayRoute[] {
  const script = readAsset('console.js');
  const style = readAsset('console.css');
  const sandbox = () => {
    if (!options.sandbox) {
      throw new ConsoleError(
        409,
        `Payple is ${options.payple.host} (PAYPLE_ENV=demo): only the sandbox does this`,
      );
    }
    return options.sandbox;
  };

  const handlers: Record<string, Handler> = {
    'GET /__local': () => ({
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': CONSOLE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      },
      body: consolePage(options.payple),
    }),
    'GET /__local/assets/console.js': () => asset(script, 'text/javascript; charset=utf-8'),
    'GET /__local/assets/console.css': () => asset(style, 'text/css; charset=utf-8'),
    'GET /__local/api': () => json(200, { routes: consoleApi }),
    'GET /__local/state': async () => json(200, await readConsoleState(options)),
    'POST /__local/clock': async (event) => {
      const target = parse(travelTargetSchema, readBody(event));
      return json(200, await options.timeTravel.travel(target));
    },
    'GET /__local/faults': () => json(200, sandbox().faults()),
    'POST /__local/faults': (event) => {
      // The sandbox validates the spec itself (zod); the cast only gets it there.
      const spec = readBody(event) as FaultSpec;
      return json(201, sandbox().addFault(spec));
    },
    'DELETE /__local/faults': () => {
      sandbox().clearFaults();
      return json(200, { removed: 'all' });
    },
    'DELETE /__local/faults/{id}': (event) => {
      const id = event.pathParameters?.['id'] ?? '';
      if (!sandbox().removeFault(id)) throw new ConsoleError(404, `no fault ${id}`);
      return json(200, { removed: id });
    },
    'POST /__local/operations': async (event) => {
      const answer = await options.operate(readBody(event));
      return json(answer.ok ? 200 : 400, answer);
    },
    'POST /__local/subscriptions/{id}/card': async (event) => {
      const body = parse(cardSchema, readBody(event));
      const admin = sandbox();
      const id = event.pathParameters?.['id'] ?? '';
      const subscription = await options.store.getSubscription(id);
      if (!subscription) throw new ConsoleError(404, `no subscription ${id}`);
      const key = admin.setBillingKeyInstrument(subscription.paymentMethod.billingKeyRef, body);
      // The key itself never leaves the server.
      return json(200, {
        subscriptionId: id,
        payType: key.payType,
        testName: key.testName,
        maskedNumber: key.maskedNumber,
      });
    },
  };

  const wrap =
    (handle: Handler): HttpHandler =>
    async (event) => {
      try {
        checkOrigin(event);
        return await handle(event);
      } catch (error) {
        if (error instanceof ConsoleError) return json(error.status, { error: error.message });
        if (error instanceof TravelRefusedError) return json(400, { error: error.message });
        if (error instanceof AdminError) return json(error.status, { error: error.message });
        throw error;
      }
    };

  return Object.entries(handlers).map(([routeKey, handle]) => {
    const [method, path] = routeKey.split(' ') as [HttpMethod, string];
    return {
      method,
      path,
      handler: wrap(handle),
      functionName: 'local-console',
      // A trip over months runs thousands of schedule occurrences.
      ...(path === '/__local/clock' ? { timeoutMs: 10 * 60_000 } : {}),
    };
  });
}
