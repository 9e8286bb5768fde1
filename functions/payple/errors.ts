/**
 * Errors of the Payple client. Messages are built from safe fields only (operation, status, timeout,
 * field names): never a key, a token, a billing key or personal data, and never a raw body.
 *
 * Who throws what:
 * - before anything is sent: `PaypleConfigurationError` (client misconfigured) and
 *   `PaypleInvalidRequestError` / `PaypleHostNotAllowedError` (caller's input). Final.
 * - idempotent calls (window auth, PUSERINFO, PUSERDEL, result lookup) throw the
 *   `PaypleTransportError` family when Payple gave no usable answer. Retryable: these calls are safe
 *   to repeat.
 * - money-moving calls (charge, CERT confirm, refund) never throw after sending: the same errors
 *   only appear as the `cause` of an `unknown` outcome, because repeating those calls can move money
 *   twice.
 */
import type { PaypleOperation } from './types.ts';

export interface PaypleErrorOptions {
  readonly operation?: PaypleOperation;
  readonly cause?: unknown;
}

export abstract class PaypleError extends Error {
  /** Whether the same call may simply be made again. */
  abstract readonly retryable: boolean;
  readonly operation: PaypleOperation | undefined;

  constructor(message: string, options: PaypleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.operation = options.operation;
  }
}

/** The client's configuration is invalid (missing credential, bad host URL). */
export class PaypleConfigurationError extends PaypleError {
  readonly retryable = false;
}

/** The caller's input was refused before anything was sent (amount, OID, date, ...). */
export class PaypleInvalidRequestError extends PaypleError {
  readonly retryable = false;
}

/** A URL that would receive credentials is not on the allow-list; nothing was sent. */
export class PaypleHostNotAllowedError extends PaypleInvalidRequestError {}

/** Payple gave no usable answer. Retryable for idempotent calls only (see the module comment). */
export abstract class PaypleTransportError extends PaypleError {
  readonly retryable = true;
}

export class PaypleTimeoutError extends PaypleTransportError {
  constructor(
    readonly timeoutMs: number,
    options: PaypleErrorOptions = {},
  ) {
    super(`Payple ${options.operation ?? 'call'} did not answer within ${timeoutMs} ms`, options);
  }
}

/** The connection failed or was reset (before or after the request was written). */
export class PaypleConnectionError extends PaypleTransportError {
  constructor(
    readonly detail: string,
    options: PaypleErrorOptions = {},
  ) {
    super(`Payple ${options.operation ?? 'call'} failed on the connection (${detail})`, options);
  }
}

/** Payple answered with a status other than 2xx (5xx, or a redirect that is never followed). */
export class PaypleHttpStatusError extends PaypleTransportError {
  constructor(
    readonly status: number,
    options: PaypleErrorOptions = {},
  ) {
    super(`Payple ${options.operation ?? 'call'} answered HTTP ${status}`, options);
  }
}

/** The body was not JSON, not an object, or did not match the expected fields. */
export class PaypleInvalidAnswerError extends PaypleTransportError {
  constructor(
    /** Field paths and rule names only, never values. */
    readonly issues: readonly string[],
    options: PaypleErrorOptions = {},
  ) {
    super(`Payple ${options.operation ?? 'call'} answer is invalid: ${issues.join('; ')}`, options);
  }
}
