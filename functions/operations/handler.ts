/**
 * Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start.
 * Payple is called for refunds (with the refund key) and billing-key deletion only.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { billingSettings } from '../shared/billing-config.ts';
import { requireEnv } from '../shared/environment.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleClient, paypleCredentialsFromSecret } from '../shared/payple.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { DynamoUnrecordedPaymentReports } from '../store/unrecorded-payment-reports.ts';
import { createOperationsHandler } from './operations.ts';

const settings = billingSettings(process.env);
const logger = createLogger('operations');
const dynamo = new DynamoDBClient({});
const store = new DynamoBillingStore(dynamo, settings.tables);
const credentials = await paypleCredentialsFromSecret(process.env);

export const handler = createOperationsHandler({
  store,
  held: store,
  publisher: outboxPublisher(settings, dynamo, logger),
  dunningPolicy: settings.dunningPolicy,
  payple: paypleClient(process.env, credentials, logger),
  unrecordedPayments: new DynamoUnrecordedPaymentReports(
    documentClient(dynamo),
    requireEnv(process.env, 'CONTROL_TABLE'),
  ),
  now: Date.now,
  logger,
  metrics: createMetrics('operations'),
});
