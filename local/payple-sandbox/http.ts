/**
 * HTTP edge helpers: reading and validating bodies the way Payple's endpoints see them (JSON
 * objects of strings, where a number is tolerated and an empty string means "not sent").
 */
import type { IncomingMessage } from 'node:http';

/** What a handler answers; the server writes it, or a fault mangles it. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function jsonReply(body: unknown, status = 200): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export function htmlReply(html: string, status = 200): Reply {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: html,
  };
}

export class BodyTooLargeError extends Error {}

/** Reads a request body as UTF-8, refusing more than `limit` bytes. */
export async function readBody(request: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function contentTypeIs(request: IncomingMessage, type: string): boolean {
  const header = request.headers['content-type'] ?? '';
  return header.split(';')[0]?.trim().toLowerCase() === type;
}

/** Parses a JSON object; anything else (bad JSON, arrays, null, scalars) is undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Parses an `application/x-www-form-urlencoded` body (or query string); last value wins. */
export function parseForm(text: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(text));
}

/** The hostname of the request's Referer, if it is an absolute http(s) URL. */
export function refererHost(request: IncomingMessage): string | undefined {
  const referer = request.headers.referer;
  if (referer === undefined) return undefined;
  try {
    const url = new URL(referer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

/** A request field that is missing or unusable; handlers map it to their route's code. */
export class FieldError extends Error {
  constructor(
    readonly kind: 'missing' | 'invalid',
    readonly field: string,
  ) {
    super(kind === 'missing' ? `필수 파라미터 ${field} 누락` : `파라미터 ${field} 값 오류`);
  }
}

const DIGITS = /^\d+$/;

/**
 * Reads Payple request fields. Payple's samples send every optional field, empty when unused
 * (`PCD_PAY_OID: ''`), and some send numbers (`PCD_PAYER_NO: 2335`): both are accepted.
 */
export class Fields {
  constructor(private readonly body: Readonly<Record<string, unknown>>) {}

  /** The field as a string, or undefined when absent, null or empty. */
  optional(name: string, maxLength = 255): string | undefined {
    const value = this.body[name];
    if (value === undefined || value === null || value === '') return undefined;
    let text: string;
    if (typeof value === 'string') text = value.trim();
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else throw new FieldError('invalid', name);
    if (text.length > maxLength) throw new FieldError('invalid', name);
    return text === '' ? undefined : text;
  }

  required(name: string, maxLength = 255): string {
    const value = this.optional(name, maxLength);
    if (value === undefined) throw new FieldError('missing', name);
    return value;
  }

  /** Whether a `Y`/`N` flag is `Y`; anything but Y, N or empty is invalid. */
  flag(name: string): boolean {
    const value = this.optional(name, 1);
    if (value === undefined || value === 'N') return false;
    if (value === 'Y') return true;
    throw new FieldError('invalid', name);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const value = this.required(name);
    const found = values.find((candidate) => candidate === value);
    if (found === undefined) throw new FieldError('invalid', name);
    return found;
  }

  optionalOneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.optional(name) === undefined ? undefined : this.oneOf(name, values);
  }

  /** A whole number of won, sent as digits ("1000") or a JSON integer. */
  amount(name: string): number {
    const text = this.required(name, 12);
    if (!DIGITS.test(text)) throw new FieldError('invalid', name);
    const amount = Number(text);
    if (!Number.isSafeInteger(amount)) throw new FieldError('invalid', name);
    return amount;
  }

  /** Digits only (PCD_PAYER_NO, PCD_PAY_TAXTOTAL, PCD_PAY_DATE ...), or undefined. */
  optionalDigits(name: string, maxLength = 20): string | undefined {
    const value = this.optional(name, maxLength);
    if (value !== undefined && !DIGITS.test(value)) throw new FieldError('invalid', name);
    return value;
  }

  requiredDigits(name: string, length: number): string {
    const value = this.required(name, length);
    if (!DIGITS.test(value) || value.length !== length) throw new FieldError('invalid', name);
    return value;
  }
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
