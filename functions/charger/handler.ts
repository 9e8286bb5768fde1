/** Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { billingSettings } from '../shared/billing-config.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleClient, paypleCredentialsFromSecret } from '../shared/payple.ts';
import { DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { createChargerHandler } from './charger.ts';

const settings = billingSettings(process.env);
const logger = createLogger('charger');
const dynamo = new DynamoDBClient({});
const credentials = await paypleCredentialsFromSecret(process.env);

export const handler = createChargerHandler({
  ...settings,
  store: new DynamoBillingStore(dynamo, settings.tables),
  publisher: outboxPublisher(settings, dynamo, logger),
  payple: paypleClient(process.env, credentials, logger),
  now: Date.now,
  logger,
  metrics: createMetrics('charger'),
});
