/**
 * A local stand-in for an API Gateway HTTP API with Lambda proxy integrations (payload format 2.0):
 * real HTTP requests in, the same `APIGatewayProxyEventV2` a deployed API sends to the handler, and
 * the handler's result turned back into an HTTP response the way API Gateway does it.
 *
 * Behaviour copied from the service, because handlers depend on it:
 * - the body is a UTF-8 string only for `text/*`, `application/json`, `application/xml` and
 *   `application/javascript`; every other body (form posts included, and a body without a
 *   Content-Type) arrives base64-encoded with `isBase64Encoded: true`;
 * - header names are lower-cased and repeated headers joined with commas; cookies move to `cookies`;
 * - a result without `statusCode` is sent as a 200 JSON body; a handler error is a 500
 *   `{"message":"Internal Server Error"}`, a handler past its timeout a 503;
 * - requests over 10 MB are refused with 413 before any handler runs.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { createLambdaContext } from './lambda-context.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'ANY';

/** A route's handler; a result without `statusCode` is answered as a 200 JSON body. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2<object>>;

export interface GatewayRoute {
  readonly method: HttpMethod;
  /** A route path as HTTP APIs write it: `/checkout`, `/return/{sessionId}`, `/files/{proxy+}`. */
  readonly path: string;
  readonly handler: HttpHandler;
  /** Used for the Lambda context; defaults to the route key. */
  readonly functionName?: string;
  /** The function's timeout; the gateway answers 503 when the handler takes longer. Default 29 s. */
  readonly timeoutMs?: number;
}

export interface HttpGatewayOptions {
  readonly routes: readonly GatewayRoute[];
  readonly port?: number;
  readonly host?: string;
  /** Called with handler errors (the client only ever sees API Gateway's generic 500). */
  readonly onHandlerError?: (routeKey: string, error: unknown) => void;
}

export interface RunningHttpGateway {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** API Gateway's hard limit on a request payload. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** HTTP APIs give an integration at most 30 s; 29 s is the usual function budget behind them. */
const DEFAULT_TIMEOUT_MS = 29_000;

const TEXT_CONTENT_TYPES = ['application/json', 'application/xml', 'application/javascript'];

function isTextBody(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType.startsWith('text/') || TEXT_CONTENT_TYPES.includes(mediaType);
}

interface CompiledRoute {
  readonly route: GatewayRoute;
  readonly routeKey: string;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
  /** Literal routes beat parameterised ones, which beat greedy ones, as in API Gateway. */
  readonly rank: number;
}

function compileRoute(route: GatewayRoute): CompiledRoute {
  const parameterNames: string[] = [];
  let rank = 0;
  const source = route.path
    .split('/')
    .map((segment) => {
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy?.[1]) {
        parameterNames.push(greedy[1]);
        rank = Math.max(rank, 2);
        return '(.+)';
      }
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (parameter?.[1]) {
        parameterNames.push(parameter[1]);
        rank = Math.max(rank, 1);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return {
    route,
    routeKey: `${route.method} ${route.path}`,
    pattern: new RegExp(`^${source}$`),
    parameterNames,
    rank,
  };
}

function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  path: string,
): { compiled: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const candidates = routes
    .filter((r) => r.route.method === method || r.route.method === 'ANY')
    .map((compiled) => ({ compiled, match: compiled.pattern.exec(path) }))
    .filter((c): c is { compiled: CompiledRoute; match: RegExpExecArray } => c.match !== null)
    .sort(
      (a, b) =>
        a.compiled.rank - b.compiled.rank ||
        Number(a.compiled.route.method === 'ANY') - Number(b.compiled.route.method === 'ANY'),
    );
  const best = candidates[0];
  if (!best) return undefined;
  const pathParameters: Record<string, string> = {};
  best.compiled.parameterNames.forEach((name, i) => {
    pathParameters[name] = decodeURIComponent(best.match[i + 1] ?? '');
  });
  return { compiled: best.compiled, pathParameters };
}

class PayloadTooLargeError extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) throw new PayloadTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function formatRequestTime(date: Date): string {
  // API Gateway's `requestContext.time`, e.g. 12/Mar/2020:19:03:58 +0000.
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Builds the payload 2.0 event API Gateway would send for this request. */
export function toHttpApiEvent(options: {
  request: IncomingMessage;
  body: Buffer;
  routeKey: string;
  pathParameters: Record<string, string>;
  now?: Date;
}): APIGatewayProxyEventV2 {
  const { request, body, routeKey, pathParameters } = options;
  const now = options.now ?? new Date();
  const url = new URL(request.url ?? '/', 'http://gateway.local');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies = [
        ...(cookies ?? []),
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      ];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    queryStringParameters[key] =
      queryStringParameters[key] === undefined ? value : `${queryStringParameters[key]},${value}`;
  }
  const host = headers.host ?? 'localhost';
  const method = request.method ?? 'GET';
  const hasBody = body.length > 0;
  const textBody = isTextBody(headers['content-type']);
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(hasBody ? { body: textBody ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !textBody,
  };
}

interface HttpReply {
  statusCode: number;
  headers: Record<string, string | number | boolean>;
  cookies: string[];
  body: Buffer;
}

function isStructuredResult(result: unknown): result is APIGatewayProxyStructuredResultV2 {
  return typeof result === 'object' && result !== null && 'statusCode' in result;
}

/** Turns a handler's result into the response API Gateway would send. */
export function fromHttpApiResult(result: APIGatewayProxyResultV2<object>): HttpReply {
  if (!isStructuredResult(result)) {
    // No statusCode: API Gateway assumes a 200 JSON answer whose body is the result itself.
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(body),
    };
  }
  const rawBody = result.body ?? '';
  return {
    statusCode: result.statusCode ?? 200,
    headers: result.headers ?? {},
    cookies: result.cookies ?? [],
    body: result.isBase64Encoded ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8'),
  };
}

function send(response: ServerResponse, reply: HttpReply, method: string): void {
  response.statusCode = reply.statusCode;
  for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, String(value));
  if (reply.cookies.length > 0) response.setHeader('set-cookie', reply.cookies);
  response.setHeader('apigw-requestid', randomUUID());
  response.end(method === 'HEAD' ? undefined : reply.body);
}

function message(statusCode: number, text: string): HttpReply {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(JSON.stringify({ message: text })),
  };
}

class HandlerTimeoutError extends Error {}

async function invoke(route: GatewayRoute, routeKey: string, event: APIGatewayProxyEventV2) {
  const timeoutMs = route.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const context = createLambdaContext({ functionName: route.functionName ?? routeKey, timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError()), timeoutMs);
  });
  try {
    return await Promise.race([route.handler(event, context), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the gateway; `stop()` closes it and every open connection. */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<RunningHttpGateway> {
  const routes = options.routes.map(compileRoute);
  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://gateway.local').pathname;
    const matched = matchRoute(routes, method, path);
    if (Number(request.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) {
      response.setHeader('connection', 'close');
      send(response, message(413, 'Request Entity Too Large'), method);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        send(response, message(413, 'Request Entity Too Large'), method);
        request.destroy();
        return;
      }
      response.destroy();
      return;
    }
    if (!matched) {
      send(response, message(404, 'Not Found'), method);
      return;
    }
    const { compiled, pathParameters } = matched;
    const event = toHttpApiEvent({ request, body, routeKey: compiled.routeKey, pathParameters });
    try {
      const result = await invoke(compiled.route, compiled.routeKey, event);
      send(response, fromHttpApiResult(result), method);
    } catch (error) {
      options.onHandlerError?.(compiled.routeKey, error);
      send(
        response,
        error instanceof HandlerTimeoutError
          ? message(503, 'Service Unavailable')
          : message(500, 'Internal Server Error'),
        method,
      );
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
