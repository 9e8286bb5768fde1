/**
 * The billing store on DynamoDB: subscriptions, payments keyed by OID and the event outbox, written
 * together in one transaction per commit, every write conditional on what the writer read.
 */
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { DUE_INDEX_SHARDS, RECONCILE_INDEX_SHARDS } from '../../lib/resources.ts';
import {
  parseSubscription,
  scheduledAttempt,
  UNSETTLED_PAYMENT_STATES,
  type PaymentRecord,
  type Subscription,
} from '../billing/index.ts';
import type {
  BillingStore,
  Commit,
  CommitResult,
  DueEntry,
  DueIndex,
  DuePage,
  PaymentWrite,
  SubscriptionWrite,
  UnsettledIndex,
} from '../use-cases/ports.ts';

export interface BillingTableNames {
  readonly subscriptions: string;
  readonly payments: string;
  readonly outbox: string;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** FNV-1a: a stable, well-spread shard for an id (the same id always lands on the same shard). */
function shardOf(id: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Wraps a low-level client the way every adapter here expects (undefined attributes dropped). */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The stored item: the subscription plus the due index's keys while an attempt is scheduled. */
function subscriptionItem(sub: Subscription): Record<string, unknown> {
  const scheduled = scheduledAttempt(sub);
  return {
    ...sub,
    subscriptionId: sub.id,
    billingKey: sub.paymentMethod.billingKeyRef,
    ...(scheduled
      ? {
          dueShard: shardOf(sub.id, DUE_INDEX_SHARDS),
          dueAt: scheduled.dueAt,
          duePeriod: scheduled.period,
          dueAttempt: scheduled.attempt,
        }
      : {}),
  };
}

/** The stored item: the payment plus the reconcile index's keys while its outcome is unknown. */
function paymentItem(payment: PaymentRecord): Record<string, unknown> {
  const unsettled = UNSETTLED_PAYMENT_STATES.includes(payment.state) && payment.reconcile !== undefined;
  return {
    ...payment,
    ...(unsettled
      ? {
          reconcileShard: shardOf(payment.oid, RECONCILE_INDEX_SHARDS),
          reconcileAt: payment.reconcile.nextAt,
        }
      : {}),
  };
}

function paymentFromItem(item: Record<string, unknown>): PaymentRecord {
  const { reconcileShard: _shard, reconcileAt: _at, ...payment } = item;
  return payment as unknown as PaymentRecord;
}

/** A scan cursor that is not one this store handed out. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

const encodeCursor = (key: Record<string, unknown>) => Buffer.from(JSON.stringify(key)).toString('base64url');

/** The subscriptions table's key a cursor names; anything else is refused, never sent to DynamoDB. */
function decodeCursor(cursor: string): Record<string, unknown> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    throw new InvalidCursorError('cursor is not one this engine returned');
  }
  const valid =
    typeof key === 'object' &&
    key !== null &&
    Object.keys(key).length === 1 &&
    typeof (key as { subscriptionId?: unknown }).subscriptionId === 'string';
  if (!valid) throw new InvalidCursorError('cursor is not one this engine returned');
  return key as Record<string, unknown>;
}

function isConditionFailure(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    // A condition that no longer holds, or another transaction on the same item right now: either
    // way the caller re-reads and decides again.
    return (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
    );
  }
  return error instanceof ConditionalCheckFailedException;
}

export class DynamoBillingStore implements BillingStore, DueIndex, UnsettledIndex {
  readonly shardCount = DUE_INDEX_SHARDS;
  readonly unsettledShardCount = RECONCILE_INDEX_SHARDS;
  readonly #documents: DynamoDBDocumentClient;
  readonly #tables: BillingTableNames;

  constructor(client: DynamoDBClient, tables: BillingTableNames) {
    this.#documents = documentClient(client);
    this.#tables = tables;
  }

  async getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({
        TableName: this.#tables.subscriptions,
        Key: { subscriptionId },
        ConsistentRead: true,
      }),
    );
    return Item ? parseSubscription(Item) : undefined;
  }

  /** Subscriptions charging this billing key (usually one). */
  async findByBillingKey(billingKey: string): Promise<Subscription[]> {
    const result = await this.#documents.send(
      new QueryCommand({
        TableName: this.#tables.subscriptions,
        IndexName: 'byBillingKey',
        KeyConditionExpression: 'billingKey = :billingKey',
        ExpressionAttributeValues: { ':billingKey': billingKey },
      }),
    );
    // The index is eventually consistent and projects keys only: read each item itself.
    const found = await Promise.all(
      (result.Items ?? []).map((item) => this.getSubscription(String(item.subscriptionId))),
    );
    return found.filter(
      (sub): sub is Subscription => sub !== undefined && sub.paymentMethod.billingKeyRef === billingKey,
    );
  }

  /**
   * Subscriptions on hold among up to `limit` subscriptions scanned from `cursor` on (an operator's
   * occasional request, after a configuration error was fixed); `cursor` is absent at the end.
   */
  async listHeld(
    limit: number,
    cursor?: string,
  ): Promise<{ readonly subscriptions: Subscription[]; readonly cursor?: string }> {
    const page = await this.#documents.send(
      new ScanCommand({
        TableName: this.#tables.subscriptions,
        FilterExpression: 'attribute_type(#hold, :map)',
        ExpressionAttributeNames: { '#hold': 'hold' },
        ExpressionAttributeValues: { ':map': 'M' },
        ConsistentRead: true,
        Limit: limit,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(cursor) }),
      }),
    );
    const subscriptions = (page.Items ?? []).map((item) => parseSubscription(item));
    const next = page.LastEvaluatedKey;
    return { subscriptions, ...(next === undefined ? {} : { cursor: encodeCursor(next) }) };
  }

  async getPayment(oid: string): Promise<PaymentRecord | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#tables.payments, Key: { oid }, ConsistentRead: true }),
    );
    return Item ? paymentFromItem(Item) : undefined;
  }

  async commit(commit: Commit): Promise<CommitResult> {
    const items: TransactItem[] = [];
    if (commit.subscription) items.push(this.#subscriptionPut(commit.subscription));
    if (commit.payment) items.push(this.#paymentPut(commit.payment));
    for (const event of commit.events) {
      items.push({
        Put: {
          TableName: this.#tables.outbox,
          Item: { eventId: event.id, event, createdAt: event.occurredAt },
        },
      });
    }
    if (items.length === 0) return { committed: true };
    try {
      await this.#documents.send(new TransactWriteCommand({ TransactItems: items }));
      return { committed: true };
    } catch (error) {
      if (isConditionFailure(error)) return { committed: false, reason: 'conflict' };
      throw error;
    }
  }

  #subscriptionPut(write: SubscriptionWrite): TransactItem {
    return {
      Put: {
        TableName: this.#tables.subscriptions,
        Item: subscriptionItem(write.next),
        ...(write.expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(subscriptionId)' }
          : {
              ConditionExpression: 'version = :expectedVersion',
              ExpressionAttributeValues: { ':expectedVersion': write.expectedVersion },
            }),
      },
    };
  }

  #paymentPut(write: PaymentWrite): TransactItem {
    if (write.expected === 'new') {
      return {
        Put: {
          TableName: this.#tables.payments,
          Item: paymentItem(write.next),
          ConditionExpression: 'attribute_not_exists(oid)',
        },
      };
    }
    const states = Object.fromEntries(write.expected.states.map((state, i) => [`:state${i}`, state]));
    return {
      Put: {
        TableName: this.#tables.payments,
        Item: paymentItem(write.next),
        ConditionExpression: `#state IN (${Object.keys(states).join(', ')}) AND version = :expectedVersion`,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ...states, ':expectedVersion': write.expected.version },
      },
    };
  }

  async listDue(shard: number, now: number, limit: number, cursor?: string): Promise<DuePage> {
    const result = await this.#documents.send(
      new QueryCommand({
        TableName: this.#tables.subscriptions,
        IndexName: 'due',
        KeyConditionExpression: 'dueShard = :shard AND dueAt <= :now',
        ExpressionAttributeValues: { ':shard': shard, ':now': now },
        Limit: limit,
        ...(cursor
          ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString()) as object }
          : {}),
      }),
    );
    const entries: DueEntry[] = (result.Items ?? []).map((item) => ({
      subscriptionId: String(item.subscriptionId),
      period: Number(item.duePeriod),
      attempt: Number(item.dueAttempt),
      dueAt: Number(item.dueAt),
      version: Number(item.version),
    }));
    const next = result.LastEvaluatedKey;
    return next ? { entries, cursor: encodeCursor(next) } : { entries };
  }

  /** The earliest `dueAt` in the due index, or undefined when nothing is scheduled. */
  async earliestDueAt(): Promise<number | undefined> {
    return this.#earliest('due', 'dueShard', 'dueAt', this.shardCount, this.#tables.subscriptions);
  }

  /** The earliest `reconcileAt` of an unsettled payment, or undefined when none is unsettled. */
  async earliestUnsettledAt(): Promise<number | undefined> {
    return this.#earliest(
      'reconcile',
      'reconcileShard',
      'reconcileAt',
      this.unsettledShardCount,
      this.#tables.payments,
    );
  }

  async #earliest(
    indexName: string,
    shardAttribute: string,
    sortAttribute: string,
    shards: number,
    tableName: string,
  ): Promise<number | undefined> {
    const firsts = await Promise.all(
      Array.from({ length: shards }, async (_, shard) => {
        const result = await this.#documents.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: indexName,
            KeyConditionExpression: '#shard = :shard',
            ExpressionAttributeNames: { '#shard': shardAttribute },
            ExpressionAttributeValues: { ':shard': shard },
            Limit: 1,
          }),
        );
        const item = result.Items?.[0];
        return item ? Number(item[sortAttribute]) : undefined;
      }),
    );
    const found = firsts.filter((at): at is number => at !== undefined);
    return found.length > 0 ? Math.min(...found) : undefined;
  }

  async listUnsettled(shard: number, now: number, limit: number): Promise<readonly PaymentRecord[]> {
    const result = await this.#documents.send(
      new QueryCommand({
        TableName: this.#tables.payments,
        IndexName: 'reconcile',
        KeyConditionExpression: 'reconcileShard = :shard AND reconcileAt <= :now',
        ExpressionAttributeValues: { ':shard': shard, ':now': now },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map(paymentFromItem);
  }

  async lease(entry: DueEntry, until: number): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#tables.subscriptions,
          Key: { subscriptionId: entry.subscriptionId },
          UpdateExpression: 'SET dueAt = :until',
          // Only the entry as listed: a subscription that changed since has its own, newer dueAt.
          ConditionExpression: 'version = :version AND dueAt = :listedDueAt',
          ExpressionAttributeValues: {
            ':until': until,
            ':version': entry.version,
            ':listedDueAt': entry.dueAt,
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}
