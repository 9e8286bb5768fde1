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
