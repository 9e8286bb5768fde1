/**
 * Errors the webhook answers with. `expose` (status < 500) says the message is safe for the caller:
 * it names fields and rules, never a value from the body, and never the path secret.
 */
export abstract class WebhookError extends Error {
  abstract readonly statusCode: number;
  /** A short machine-readable word for the response's `result`. */
  abstract readonly result: string;

  get expose(): boolean {
    return this.statusCode < 500;
  }
}

/** The path secret is wrong: answered like a route that does not exist. */
export class UnknownWebhookPathError extends WebhookError {
  readonly statusCode = 404;
  readonly result = 'not_found';
  constructor() {
    super('Not Found');
    this.name = 'UnknownWebhookPathError';
  }
}

export class PayloadTooLargeError extends WebhookError {
  readonly statusCode = 413;
  readonly result = 'payload_too_large';
  constructor(maxBytes: number) {
    super(`the body must be at most ${maxBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends WebhookError {
  readonly statusCode = 415;
  readonly result = 'unsupported_media_type';
  constructor() {
    super('the body must be application/json or application/x-www-form-urlencoded');
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** The body cannot be read, or its fields break the schema. */
export class MalformedWebhookError extends WebhookError {
  readonly statusCode = 400;
  readonly result = 'bad_request';
  /** Field paths with the rule they broke, never values. */
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`malformed webhook: ${issues.join('; ')}`);
    this.name = 'MalformedWebhookError';
    this.issues = issues;
  }
}
