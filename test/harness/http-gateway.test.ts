import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, test } from 'vitest';
import {
  MAX_REQUEST_BYTES,
  startHttpGateway,
  type GatewayRoute,
  type HttpHandler,
  type RunningHttpGateway,
} from '../../local/aws/http-gateway.ts';

let gateway: RunningHttpGateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

/** Starts a gateway whose routes record the events they receive. */
async function gatewayRecording(routes: Omit<GatewayRoute, 'handler'>[], handler?: HttpHandler) {
  const seen: APIGatewayProxyEventV2[] = [];
  gateway = await startHttpGateway({
    routes: routes.map((route) => ({
      ...route,
      handler: async (event, context) => {
        seen.push(event);
        return handler ? handler(event, context) : { statusCode: 204 };
      },
    })),
  });
  return { url: gateway.url, seen };
}

describe('requests become payload 2.0 events', () => {
  test('a JSON POST carries route, path parameters, query, lower-cased headers, cookies and a text body', async () => {
    const { url, seen } = await gatewayRecording([{ method: 'POST', path: '/return/{sessionId}' }]);

    await fetch(`${url}/return/s%2D42?plan=basic&tag=a&tag=b`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Trace': 'abc', Cookie: 'sid=1; theme=dark' },
      body: JSON.stringify({ amount: 9900 }),
    });

    const event = seen[0]!;
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /return/{sessionId}');
    expect(event.rawPath).toBe('/return/s%2D42');
    expect(event.pathParameters).toEqual({ sessionId: 's-42' });
    expect(event.rawQueryString).toBe('plan=basic&tag=a&tag=b');
    expect(event.queryStringParameters).toEqual({ plan: 'basic', tag: 'a,b' });
    expect(event.headers['x-trace']).toBe('abc');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(['sid=1', 'theme=dark']);
    expect(event.isBase64Encoded).toBe(false);
    expect(JSON.parse(event.body!)).toEqual({ amount: 9900 });
    expect(event.requestContext.http.method).toBe('POST');
    expect(event.requestContext.http.path).toBe('/return/s%2D42');
    expect(event.requestContext.routeKey).toBe('POST /return/{sessionId}');
    expect(event.requestContext.stage).toBe('$default');
    expect(event.requestContext.timeEpoch).toBeGreaterThan(0);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  test('a browser form post arrives base64-encoded, as HTTP APIs send it', async () => {
    const { url, seen } = await gatewayRecording([{ method: 'POST', path: '/return/{sessionId}' }]);
    const form = new URLSearchParams({ PCD_PAY_RST: 'success', PCD_PAY_MSG: '등록완료' });

    await fetch(`${url}/return/abc`, { method: 'POST', body: form });

    const event = seen[0]!;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').toString('utf8')).toBe(form.toString());
  });

  test('a GET has no body and no query parameters object', async () => {
    const { url, seen } = await gatewayRecording([{ method: 'GET', path: '/subscribe' }]);

    await fetch(`${url}/subscribe`);

    expect(seen[0]!.body).toBeUndefined();
    expect(seen[0]!.isBase64Encoded).toBe(false);
    expect(seen[0]!.queryStringParameters).toBeUndefined();
  });

  test('a literal route wins over a parameterised one, a method route over ANY', async () => {
    const { url, seen } = await gatewayRecording([
      { method: 'ANY', path: '/webhooks/{name}' },
      { method: 'POST', path: '/webhooks/{name}' },
      { method: 'POST', path: '/webhooks/payple' },
    ]);

    await fetch(`${url}/webhooks/payple`, { method: 'POST' });
    await fetch(`${url}/webhooks/other`, { method: 'POST' });
    await fetch(`${url}/webhooks/other`, { method: 'HEAD' });

    expect(seen.map((e) => e.routeKey)).toEqual([
      'POST /webhooks/payple',
      'POST /webhooks/{name}',
      'ANY /webhooks/{name}',
    ]);
  });
});

describe('results become HTTP responses', () => {
  test('status, headers and every cookie are sent', async () => {
    const { url } = await gatewayRecording([{ method: 'POST', path: '/return/{id}' }], async () => ({
      statusCode: 303,
      headers: { location: 'https://shop.example/done', 'cache-control': 'no-store' },
      cookies: ['a=1; HttpOnly', 'b=2; Secure'],
    }));

    const response = await fetch(`${url}/return/x`, { method: 'POST', redirect: 'manual' });

    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('https://shop.example/done');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.getSetCookie()).toEqual(['a=1; HttpOnly', 'b=2; Secure']);
  });

  test('a base64 result body is sent as the bytes it encodes', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    const { url } = await gatewayRecording([{ method: 'GET', path: '/logo.png' }], async () => ({
      statusCode: 200,
      headers: { 'content-type': 'image/png' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    }));

    const response = await fetch(`${url}/logo.png`);

    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
  });

  test('a result without statusCode is a 200 JSON answer of the result itself', async () => {
    const { url } = await gatewayRecording([{ method: 'GET', path: '/plans' }], async () => ({
      plans: ['basic'],
    }));

    const response = await fetch(`${url}/plans`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ plans: ['basic'] });
  });

  test('a failing handler is a generic 500 that leaks nothing of the error', async () => {
    const errors: unknown[] = [];
    gateway = await startHttpGateway({
      routes: [
        {
          method: 'POST',
          path: '/checkout',
          handler: () => Promise.reject(new Error('custKey=abcd1234567890 rejected')),
        },
      ],
      onHandlerError: (_route, error) => errors.push(error),
    });

    const response = await fetch(`${gateway.url}/checkout`, { method: 'POST' });
    const text = await response.text();

    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ message: 'Internal Server Error' });
    expect(text).not.toContain('abcd1234567890');
    expect(errors).toHaveLength(1);
  });

  test('a handler past its timeout is a 503', async () => {
    gateway = await startHttpGateway({
      routes: [{ method: 'GET', path: '/slow', timeoutMs: 50, handler: () => new Promise(() => undefined) }],
    });

    const response = await fetch(`${gateway.url}/slow`);

    expect(response.status).toBe(503);
  });

  test('an unknown route is a 404 and reaches no handler', async () => {
    const { url, seen } = await gatewayRecording([{ method: 'GET', path: '/subscribe' }]);

    const response = await fetch(`${url}/admin`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
    expect(seen).toHaveLength(0);
  });

  test('a body over API Gateway’s 10 MB limit is refused with 413 before any handler runs', async () => {
    const { url, seen } = await gatewayRecording([{ method: 'POST', path: '/webhooks/payple/{secret}' }]);

    const response = await fetch(`${url}/webhooks/payple/s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20),
    });

    expect(response.status).toBe(413);
    expect(seen).toHaveLength(0);
  });
});
