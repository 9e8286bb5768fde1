/**
 * Deployed entry point: dependencies from the environment, once per cold start. The operations
 * function never calls Payple for the commands it has today (holds, decisions, reports).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { billingSettings } from '../shared/billing-config.ts';
import { requireEnv } from '../shared/environment.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { DynamoUnrecordedPaymentReports } from '../store/unrecorded-payment-reports.ts';
import { createOperationsHandler } from './operations.ts';

const settings = billingSettings(process.env);
const logger = createLogger('operations');
const dynamo = new DynamoDBClient({});
const store = new DynamoBillingStore(dynamo, settings.tables);

export const handler = createOperationsHandler({
  store,
  held: store,
  publisher: outboxPublisher(settings, dynamo, logger),
  dunningPolicy: settings.dunningPolicy,
  unrecordedPayments: new DynamoUnrecordedPaymentReports(
    documentClient(dynamo),
    requireEnv(process.env, 'CONTROL_TABLE'),
  ),
  now: Date.now,
  logger,
  metrics: createMetrics('operations'),
});
