/**
 * Publishes domain events to EventBridge from the transactional outbox. A commit writes its events
 * to the outbox table together with the state change; this publisher sends them right after and
 * deletes them once EventBridge accepted them. What fails stays in the outbox for `relay()` (run on
 * a schedule), so an event is delayed by a crash or an outage, never lost. Delivery is at least
 * once: consumers drop duplicates by `id` and stale events by the subscription's `sequence`.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DomainEvent } from '../billing/index.ts';
import type { EventPublisher } from '../use-cases/ports.ts';

/** The `source` of every event this engine publishes. */
export const EVENT_SOURCE = 'payple.billing';
/** PutEvents takes at most 10 entries; BatchWriteItem at most 25. */
const PUT_EVENTS_LIMIT = 10;

export interface OutboxPublisherOptions {
  readonly eventBridge: EventBridgeClient;
  readonly eventBusName: string;
  readonly documents: DynamoDBDocumentClient;
  readonly outboxTable: string;
  /** Told about events that stay in the outbox (never the event body: it names customers' ids). */
  readonly onFailure?: (eventIds: readonly string[], error?: unknown) => void;
}

export class OutboxPublisher implements EventPublisher {
  readonly #options: OutboxPublisherOptions;

  constructor(options: OutboxPublisherOptions) {
    this.#options = options;
  }

  /** Sends the events and removes the accepted ones from the outbox. Never throws. */
  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += PUT_EVENTS_LIMIT) {
      const batch = events.slice(start, start + PUT_EVENTS_LIMIT);
      try {
        const result = await this.#options.eventBridge.send(
          new PutEventsCommand({
            Entries: batch.map((event) => ({
              EventBusName: this.#options.eventBusName,
              Source: EVENT_SOURCE,
              DetailType: event.type,
              Detail: JSON.stringify(event),
              Time: new Date(event.occurredAt),
            })),
          }),
        );
        const accepted = batch.filter((_, i) => !result.Entries?.[i]?.ErrorCode);
        const rejected = batch.filter((_, i) => result.Entries?.[i]?.ErrorCode);
        await this.#removeFromOutbox(accepted.map((event) => event.id));
        if (rejected.length > 0) this.#options.onFailure?.(rejected.map((event) => event.id));
      } catch (error) {
        this.#options.onFailure?.(
          batch.map((event) => event.id),
          error,
        );
      }
    }
  }

  /**
   * Publishes what is still in the outbox and older than `olderThanMs` (younger events are probably
   * being published by their committer right now). Returns how many it found.
   */
  async relay(now: number, olderThanMs: number): Promise<number> {
    let found = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#options.documents.send(
        new ScanCommand({
          TableName: this.#options.outboxTable,
          FilterExpression: 'createdAt <= :before',
          ExpressionAttributeValues: { ':before': now - olderThanMs },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      const events = (page.Items ?? []).map((item) => item.event as DomainEvent);
      events.sort((a, b) => a.occurredAt - b.occurredAt);
      found += events.length;
      await this.publish(events);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  async #removeFromOutbox(eventIds: readonly string[]): Promise<void> {
    for (let start = 0; start < eventIds.length; start += 25) {
      let requests = eventIds
        .slice(start, start + 25)
        .map((eventId) => ({ DeleteRequest: { Key: { eventId } } }));
      // Unprocessed deletes are retried a few times; any left are published again by relay(),
      // which consumers tolerate (at-least-once).
      for (let round = 0; round < 3 && requests.length > 0; round++) {
        const result = await this.#options.documents.send(
          new BatchWriteCommand({ RequestItems: { [this.#options.outboxTable]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.#options.outboxTable] ?? []) as typeof requests;
      }
    }
  }
}
