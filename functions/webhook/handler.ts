/**
 * Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start.
 * The webhook needs only our partner id from the Payple credentials: it never calls Payple.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { billingSettings } from '../shared/billing-config.ts';
import { ConfigurationError, requireEnv, type Environment } from '../shared/environment.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleCredentialsFromSecret } from '../shared/payple.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { DynamoUnrecordedPaymentReports } from '../store/unrecorded-payment-reports.ts';
import { createWebhookHandler } from './webhook.ts';

/** Shorter path secrets could be guessed; the stack generates 64 letters and digits. */
const MIN_PATH_SECRET_LENGTH = 32;

/** The path secret: the whole secret string of `WEBHOOK_SECRET_ID`, one URL path segment. */
export async function webhookPathSecretFromSecret(env: Environment): Promise<string> {
  const secretId = requireEnv(env, 'WEBHOOK_SECRET_ID');
  const value = await getSecret(secretId, { maxAge: 3600 });
  // The message names the secret and the rule, never the value.
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value) || value.length < MIN_PATH_SECRET_LENGTH) {
    throw new ConfigurationError(
      `secret ${secretId} must be at least ${MIN_PATH_SECRET_LENGTH} letters, digits, _ or -`,
    );
  }
  return value;
}

const settings = billingSettings(process.env);
const logger = createLogger('webhook');
const dynamo = new DynamoDBClient({});
const [pathSecret, credentials] = await Promise.all([
  webhookPathSecretFromSecret(process.env),
  paypleCredentialsFromSecret(process.env),
]);

export const handler = createWebhookHandler({
  store: new DynamoBillingStore(dynamo, settings.tables),
  publisher: outboxPublisher(settings, dynamo, logger),
  dunningPolicy: settings.dunningPolicy,
  partnerId: credentials.cstId,
  pathSecret,
  now: Date.now,
  unrecordedPayments: new DynamoUnrecordedPaymentReports(
    documentClient(dynamo),
    requireEnv(process.env, 'CONTROL_TABLE'),
  ),
  logger,
  metrics: createMetrics('webhook'),
});
