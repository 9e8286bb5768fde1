/**
 * A tiny node:http stand-in for Payple, for transport faults the sandbox does not need to know
 * about: it answers auth with fresh tokens and a `return_url` on itself, hands every operation
 * request to the test's responder, and records everything it received.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PaypleLogger } from '../../functions/payple/index.ts';

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export type Responder = (request: RecordedRequest, response: ServerResponse) => void;

export interface FakePayple {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly authRequests: () => RecordedRequest[];
  readonly operationRequests: () => RecordedRequest[];
  close(): Promise<void>;
}

export interface FakePaypleOptions {
  /** Answers every request that is not auth. */
  readonly operation?: Responder;
  /** Answers auth; by default a success with fresh tokens. */
  readonly auth?: Responder;
  /** Path (and query) of the `return_url` auth hands out. */
  readonly operationPath?: string;
  /** Origin of the `return_url`; defaults to the fake itself. */
  readonly returnOrigin?: string;
}

export function json(response: ServerResponse, body: unknown, status = 200): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** Never answers; the client's timeout must end the call. */
export const hang: Responder = () => undefined;

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparseable: text };
  }
}

export async function startFakePayple(options: FakePaypleOptions = {}): Promise<FakePayple> {
  const requests: RecordedRequest[] = [];
  let tokens = 0;
  let url = '';
  const defaultAuth: Responder = (_request, response) => {
    tokens += 1;
    const origin = options.returnOrigin ?? url;
    json(response, {
      server_name: 'fake',
      result: 'success',
      result_msg: '사용자 인증 완료!!',
      cst_id: `CST-TOKEN-${tokens}`,
      custKey: `CUSTKEY-TOKEN-${tokens}`,
      AuthKey: `AUTHKEY-TOKEN-${tokens}`,
      PCD_PAY_HOST: origin,
      PCD_PAY_URL: options.operationPath ?? '/php/SimplePayCardAct.php?ACT_=PAYM',
      return_url: `${origin}${options.operationPath ?? '/php/SimplePayCardAct.php?ACT_=PAYM'}`,
    });
  };
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const recorded = { path: request.url ?? '', headers: request.headers, body };
      requests.push(recorded);
      const responder = recorded.path === '/php/auth.php' ? (options.auth ?? defaultAuth) : options.operation;
      (responder ?? hang)(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    authRequests: () => requests.filter((request) => request.path === '/php/auth.php'),
    operationRequests: () => requests.filter((request) => request.path !== '/php/auth.php'),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface CapturedLogs {
  readonly logger: PaypleLogger;
  readonly lines: { level: string; message: string; attributes: Record<string, unknown> }[];
  text(): string;
}

/** A logger that keeps every line, to assert on what the client logs. */
export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs['lines'] = [];
  const at =
    (level: string) =>
    (message: string, attributes: Record<string, unknown>): void => {
      lines.push({ level, message, attributes });
    };
  return {
    logger: { info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    text: () => JSON.stringify(lines),
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2025, 0, 5, 0, 30)): {
  now(): number;
  advance(ms: number): void;
} {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
