/** Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OutboxPublisher } from '../events/outbox-publisher.ts';
import { billingSettings } from '../shared/billing-config.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleClient, paypleCredentialsFromSecret } from '../shared/payple.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { createChargerHandler } from './charger.ts';

const settings = billingSettings(process.env);
const logger = createLogger('charger');
const dynamo = new DynamoDBClient({});
const credentials = await paypleCredentialsFromSecret(process.env);

export const handler = createChargerHandler({
  ...settings,
  store: new DynamoBillingStore(dynamo, settings.tables),
  publisher: new OutboxPublisher({
    eventBridge: new EventBridgeClient({}),
    eventBusName: settings.eventBusName,
    documents: documentClient(dynamo),
    outboxTable: settings.tables.outbox,
    onFailure: (eventIds) => logger.warn('events left in the outbox for the relay', { eventIds }),
  }),
  payple: paypleClient(process.env, credentials, logger),
  now: Date.now,
  logger,
  metrics: createMetrics('charger'),
});
