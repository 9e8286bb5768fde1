/** Deployed entry point: dependencies from the environment, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { integerEnv, requireEnv } from '../shared/environment.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { createDispatcherHandler } from './dispatcher.ts';

const env = process.env;
const logger = createLogger('dispatcher');
const dynamo = new DynamoDBClient({});
const outboxTable = requireEnv(env, 'OUTBOX_TABLE');
const publisher = outboxPublisher(
  { eventBusName: requireEnv(env, 'EVENT_BUS_NAME'), tables: { outbox: outboxTable } },
  dynamo,
  logger,
);

export const handler = createDispatcherHandler({
  dueIndex: new DynamoBillingStore(dynamo, {
    subscriptions: requireEnv(env, 'SUBSCRIPTIONS_TABLE'),
    payments: requireEnv(env, 'PAYMENTS_TABLE'),
    outbox: outboxTable,
  }),
  queue: new SqsJobQueue(new SQSClient({}), requireEnv(env, 'BILLING_QUEUE_URL')),
  leaseMs: integerEnv(env, 'DISPATCH_LEASE_SECONDS', 1800, 60) * 1000,
  relayOutbox: (now) => publisher.relay(now, 60_000),
  now: Date.now,
  logger,
  metrics: createMetrics('dispatcher'),
});
