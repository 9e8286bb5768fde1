import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  queues,
  tables,
  type KeyAttribute,
  type QueueName,
  type TableDefinition,
  type TableName,
} from '../resources.ts';

function cdkAttribute(key: KeyAttribute) {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

/**
 * Everything that holds state: tables, queues and the domain event bus. It is deployed apart from
 * the functions so that replacing or deleting the stateless stack can never touch a payment record.
 * Tables are retained when the stack is deleted and protected against deletion.
 */
export class StatefulStack extends Stack {
  readonly tables: Record<TableName, ITableV2>;
  readonly queues: Record<QueueName, Queue>;
  readonly eventBus: EventBus;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const builtTables: Partial<Record<TableName, ITableV2>> = {};
    for (const [name, definition] of Object.entries(tables) as [TableName, TableDefinition][]) {
      builtTables[name] = this.table(definition);
    }
    this.tables = builtTables as Record<TableName, ITableV2>;

    const deadLetter = new Queue(this, queues.billingDeadLetter.id, {
      retentionPeriod: Duration.seconds(queues.billingDeadLetter.retentionSeconds),
      visibilityTimeout: Duration.seconds(queues.billingDeadLetter.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const billing = new Queue(this, queues.billing.id, {
      retentionPeriod: Duration.seconds(queues.billing.retentionSeconds),
      visibilityTimeout: Duration.seconds(queues.billing.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: deadLetter, maxReceiveCount: queues.billing.deadLetter.maxReceiveCount },
    });
    this.queues = { billing, billingDeadLetter: deadLetter };

    this.eventBus = new EventBus(this, 'BillingEvents', {
      description: 'Domain events of the recurring-billing engine (payment.*, subscription.*)',
    });
  }

  private table(definition: TableDefinition): TableV2 {
    return new TableV2(this, definition.id, {
      partitionKey: cdkAttribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: cdkAttribute(definition.sortKey) } : {}),
      billing: Billing.onDemand(),
      globalSecondaryIndexes: definition.globalIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: cdkAttribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: cdkAttribute(index.sortKey) } : {}),
        ...(index.nonKeyAttributes
          ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.nonKeyAttributes] }
          : {}),
      })),
      ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
