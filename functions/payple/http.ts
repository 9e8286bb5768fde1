/**
 * One JSON POST to Payple with the headers every call needs and an explicit timeout that covers the
 * whole exchange (connect, send, headers and body). Exactly one attempt: nothing here retries.
 * Failures become the client's transport errors with safe messages (no URL query, no body).
 */
import {
  PaypleConnectionError,
  PaypleHttpStatusError,
  PaypleInvalidAnswerError,
  PaypleTimeoutError,
  type PaypleTransportError,
} from './errors.ts';
import type { PaypleOperation } from './types.ts';

export type FetchFunction = typeof globalThis.fetch;

export interface PostJsonRequest {
  readonly fetch: FetchFunction;
  readonly url: string;
  readonly body: Readonly<Record<string, string>>;
  readonly referer: string;
  readonly timeoutMs: number;
  readonly operation: PaypleOperation;
}

export type PostJsonResult =
  | { readonly ok: true; readonly status: number; readonly answer: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly status: number | undefined; readonly error: PaypleTransportError };

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** A short description of a fetch failure from its code chain (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
function connectionDetail(error: unknown): string {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    current = current.cause;
  }
  return 'network error';
}

function decode(text: string): Readonly<Record<string, unknown>> | undefined {
  try {
    const value: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Posts once and decodes a JSON object. Never throws: the result says what happened. Redirects are
 * not followed (they would carry the body elsewhere) and count as a bad status.
 */
export async function postJson(request: PostJsonRequest): Promise<PostJsonResult> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  const context = { operation: request.operation };
  let status: number | undefined;
  try {
    const response = await request.fetch(request.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-cache',
        Referer: request.referer,
      },
      body: JSON.stringify(request.body),
      redirect: 'manual',
      signal,
    });
    status = response.status;
    if (status < 200 || status > 299) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, status, error: new PaypleHttpStatusError(status, context) };
    }
    const answer = decode(await response.text());
    if (answer === undefined) {
      return {
        ok: false,
        status,
        error: new PaypleInvalidAnswerError(['body is not a JSON object'], context),
      };
    }
    return { ok: true, status, answer };
  } catch (error) {
    const failure =
      isTimeout(error) || signal.aborted
        ? new PaypleTimeoutError(request.timeoutMs, context)
        : new PaypleConnectionError(connectionDetail(error), context);
    return { ok: false, status, error: failure };
  }
}
