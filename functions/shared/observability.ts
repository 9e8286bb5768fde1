import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The metrics namespace every function of this engine publishes to (alarms read it). */
export const METRICS_NAMESPACE = 'PaypleBilling';

/** Structured JSON logs. Callers log ids and outcomes, never events, billing keys or PII. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}/g;
/** Korean mobile and landline numbers, with or without dashes. */
const PHONE = /\b0\d{1,2}-?\d{3,4}-?\d{4}\b/g;
/** Opaque tokens (billing keys, auth keys, custKeys): 20+ letters, digits, `+/=_-` with a digit in it. */
const OPAQUE_TOKEN = /(?=[A-Za-z0-9+/=_-]*\d)[A-Za-z0-9+/=_-]{20,}/g;
/** Generated subscription ids and their OIDs look opaque too, and are what an operator needs. */
const GENERATED_ID = /^sub[0-9a-f]{32}(?:-\d{8}-[1-9]\d{0,3})?$/;
const maskToken = (token: string) => (GENERATED_ID.test(token) ? token : '[token]');

/**
 * An unexpected error as log fields: its name and message with anything shaped like an e-mail, a
 * phone number or an opaque token masked. Our own errors never carry such values and AWS SDK
 * messages normally do not either; this makes it certain for whatever else is thrown.
 */
export function errorLogFields(error: unknown): { readonly name: string; readonly message: string } {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return {
    name,
    message: message
      .replace(EMAIL, '[email]')
      .replace(PHONE, '[phone]')
      .replace(OPAQUE_TOKEN, maskToken)
      .slice(0, 500),
  };
}
