import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OutboxPublisher } from '../events/outbox-publisher.ts';
import { documentClient } from '../store/dynamo-billing-store.ts';

/** The outbox publisher of a deployed function; what it cannot publish waits for the relay. */
export function outboxPublisher(
  settings: { readonly eventBusName: string; readonly tables: { readonly outbox: string } },
  dynamo: DynamoDBClient,
  logger: Logger,
): OutboxPublisher {
  return new OutboxPublisher({
    eventBridge: new EventBridgeClient({}),
    eventBusName: settings.eventBusName,
    documents: documentClient(dynamo),
    outboxTable: settings.tables.outbox,
    onFailure: (eventIds) => logger.warn('events left in the outbox for the relay', { eventIds }),
  });
}
