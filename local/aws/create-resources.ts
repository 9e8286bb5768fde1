/**
 * Creates the tables and queues of `lib/resources.ts` in the local emulators, with the same key
 * schemas, indexes, time-to-live, visibility timeouts and redrive policies the CDK stack deploys.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  queues,
  tables,
  type IndexDefinition,
  type KeyAttribute,
  type QueueDefinition,
  type QueueName,
  type TableDefinition,
  type TableName,
} from '../../lib/resources.ts';

export type TableNames = Record<TableName, string>;
export interface LocalQueue {
  readonly url: string;
  readonly arn: string;
  readonly name: string;
}
export type LocalQueues = Record<QueueName, LocalQueue>;

/** The physical name of a table or queue for a given prefix, e.g. `demo-Payments`. */
export function localName(prefix: string, id: string): string {
  return `${prefix}-${id}`;
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const keys = [
    table.partitionKey,
    table.sortKey,
    ...table.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  const byName = new Map<string, AttributeDefinition>();
  for (const key of keys) {
    if (key) byName.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  }
  return [...byName.values()];
}

function globalIndex(index: IndexDefinition): GlobalSecondaryIndex {
  return {
    IndexName: index.indexName,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: !index.nonKeyAttributes
      ? { ProjectionType: 'ALL' }
      : index.nonKeyAttributes.length === 0
        ? { ProjectionType: 'KEYS_ONLY' }
        : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
  };
}

/** Creates one table (idempotent: an existing table of that name is left as it is). */
export async function createTable(
  dynamo: DynamoDBClient,
  name: string,
  table: TableDefinition,
): Promise<void> {
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keySchema(table.partitionKey, table.sortKey),
        AttributeDefinitions: attributeDefinitions(table),
        ...(table.globalIndexes.length > 0
          ? { GlobalSecondaryIndexes: table.globalIndexes.map(globalIndex) }
          : {}),
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
  if (table.timeToLiveAttribute) {
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
  const described = await dynamo.send(new DescribeTableCommand({ TableName: name }));
  if (described.Table?.TableStatus !== 'ACTIVE') {
    throw new Error(`table ${name} is ${described.Table?.TableStatus ?? 'missing'} after creation`);
  }
}

/** Creates every table of `lib/resources.ts` under `prefix` and returns their names. */
export async function createTables(dynamo: DynamoDBClient, prefix: string): Promise<TableNames> {
  const names = Object.fromEntries(
    Object.entries(tables).map(([key, table]) => [key, localName(prefix, table.id)]),
  ) as TableNames;
  for (const [key, table] of Object.entries(tables) as [TableName, TableDefinition][]) {
    await createTable(dynamo, names[key], table);
  }
  return names;
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  queue: QueueDefinition,
  deadLetterArn: string | undefined,
): Promise<LocalQueue> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(queue.retentionSeconds),
  };
  if (queue.deadLetter) {
    if (!deadLetterArn) throw new Error(`queue ${name}: its dead-letter queue must be created first`);
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: deadLetterArn,
      maxReceiveCount: queue.deadLetter.maxReceiveCount,
    });
  }
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = created.QueueUrl;
  if (!url) throw new Error(`queue ${name} was created without a URL`);
  const described = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = described.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${name} has no ARN`);
  return { url, arn, name };
}

/**
 * Creates every queue of `lib/resources.ts` under `prefix`, dead-letter queues first. `overrides`
 * lets tests shorten timeouts (a one-second visibility timeout instead of six minutes) without a
 * second definition of the queues.
 */
export async function createQueues(
  sqs: SQSClient,
  prefix: string,
  overrides: Partial<Record<QueueName, Partial<QueueDefinition>>> = {},
): Promise<LocalQueues> {
  const entries = Object.entries(queues) as [QueueName, QueueDefinition][];
  const ordered = [...entries.filter(([, q]) => !q.deadLetter), ...entries.filter(([, q]) => q.deadLetter)];
  const created = new Map<string, LocalQueue>();
  const result: Partial<LocalQueues> = {};
  for (const [key, definition] of ordered) {
    const queue = { ...definition, ...overrides[key] };
    const deadLetterArn = queue.deadLetter ? created.get(queue.deadLetter.queueId)?.arn : undefined;
    const local = await createQueue(sqs, localName(prefix, queue.id), queue, deadLetterArn);
    created.set(queue.id, local);
    result[key] = local;
  }
  return result as LocalQueues;
}
