/**
 * Test helpers for the Payple sandbox: a movable clock, a bare HTTP client that speaks Payple the
 * way the documentation shows (so these tests do not depend on the project's own client) and a
 * webhook receiver.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  startPaypleSandbox,
  type Clock,
  type PaypleSandboxOptions,
  type RunningPaypleSandbox,
} from '../../local/payple-sandbox/index.ts';

/** 2025-01-15 10:00:00 KST. */
export const START = Date.UTC(2025, 0, 15, 1, 0, 0);
export const START_KST_DATE = '20250115';
export const REFERER = 'http://localhost:8080';
export const REFUND_KEY = 'a41ce010ede9fcbfb3be86b24858806596a9db68b79d138b147c3e563e1829a0';

export class ManualClock implements Clock {
  constructor(private at = START) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
  set(at = START): void {
    this.at = at;
  }
}

export type Json = Record<string, string>;

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Json;
}

/** POSTs JSON like a partner server: Content-Type JSON, no-cache, the partner's Referer. */
export async function post(
  url: string,
  body: unknown,
  options: { referer?: string | null; contentType?: string; signal?: AbortSignal } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'cache-control': 'no-cache',
  };
  if (options.referer !== null) headers['referer'] = options.referer ?? REFERER;
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // Garbage faults answer unparseable bodies on purpose.
  }
  return { status: response.status, text, json };
}

export interface AuthAnswer {
  readonly server_name: string;
  readonly result: string;
  readonly result_msg: string;
  readonly cst_id: string;
  readonly custKey: string;
  readonly AuthKey: string;
  readonly PCD_PAY_HOST: string;
  readonly PCD_PAY_URL: string;
  readonly return_url: string;
}

export async function auth(
  sandbox: RunningPaypleSandbox,
  purpose: Record<string, string> = {},
): Promise<AuthAnswer> {
  const answer = await post(`${sandbox.url}/php/auth.php`, {
    cst_id: 'test',
    custKey: 'abcd1234567890',
    ...purpose,
  });
  if (answer.json['result'] !== 'success') throw new Error(`auth failed: ${answer.text}`);
  return answer.json as unknown as AuthAnswer;
}

/** The three token fields an operation sends, from an auth answer. */
export function tokens(answer: AuthAnswer): Json {
  return { PCD_CST_ID: answer.cst_id, PCD_CUST_KEY: answer.custKey, PCD_AUTH_KEY: answer.AuthKey };
}

export interface ChargeInput {
  readonly payerId: string;
  readonly payType?: 'card' | 'transfer';
  readonly oid?: string;
  readonly total?: string | number;
  readonly regular?: { year: string; month: string };
  readonly extra?: Record<string, unknown>;
  readonly signal?: AbortSignal;
}

/** A fresh auth and one billing-key charge, as every Payple sample does it. */
export async function charge(sandbox: RunningPaypleSandbox, input: ChargeInput): Promise<Answer> {
  const payType = input.payType ?? 'card';
  const flag: Record<string, string> = input.regular ? { PCD_REGULER_FLAG: 'Y' } : { PCD_SIMPLE_FLAG: 'Y' };
  const token = await auth(sandbox, { PCD_PAY_TYPE: payType, ...flag });
  return post(
    token.return_url,
    {
      ...tokens(token),
      PCD_PAY_TYPE: payType,
      PCD_PAYER_ID: input.payerId,
      PCD_PAY_GOODS: '정기구독',
      PCD_PAY_TOTAL: input.total ?? (payType === 'card' ? '9900' : '10000'),
      ...(input.oid === undefined ? {} : { PCD_PAY_OID: input.oid }),
      ...flag,
      ...(input.regular ? { PCD_PAY_YEAR: input.regular.year, PCD_PAY_MONTH: input.regular.month } : {}),
      ...input.extra,
    },
    input.signal ? { signal: input.signal } : {},
  );
}

export async function lookupWith(
  token: AuthAnswer,
  oid: string,
  date = START_KST_DATE,
  payType: 'card' | 'transfer' = 'card',
): Promise<Answer> {
  return post(token.return_url, {
    ...tokens(token),
    PCD_PAYCHK_FLAG: 'Y',
    PCD_PAY_TYPE: payType,
    PCD_PAY_OID: oid,
    PCD_PAY_DATE: date,
  });
}

export async function startSandbox(
  options: PaypleSandboxOptions = {},
): Promise<{ sandbox: RunningPaypleSandbox; clock: ManualClock }> {
  const clock = new ManualClock();
  const sandbox = await startPaypleSandbox({ clock, ...options });
  return { sandbox, clock };
}

export interface ReceivedWebhook {
  readonly method: string;
  readonly contentType: string | undefined;
  readonly body: Json;
}

/** A tiny webhook receiver: records every request and answers `status` (200 by default). */
export async function startReceiver(): Promise<{
  url: string;
  received: ReceivedWebhook[];
  status: { value: number };
  close(): Promise<void>;
}> {
  const received: ReceivedWebhook[] = [];
  const status = { value: 200 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        contentType: request.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json,
      });
      response.writeHead(status.value).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/payple/secret`,
    received,
    status,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Parses the auto-submitting result form the window answers with. */
export function resultForm(html: string): { action: string; fields: Json } {
  const form = /<form id="payple-result" method="post" action="([^"]*)"/.exec(html);
  if (!form?.[1]) throw new Error(`no result form in:\n${html}`);
  const fields: Json = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescape(match[1]!)] = unescape(match[2]!);
  }
  return { action: unescape(form[1]), fields };
}

function unescape(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}
