import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
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

/** Length of the webhook path secret: 64 letters and digits, about 380 bits. */
export const WEBHOOK_PATH_SECRET_LENGTH = 64;

/**
 * Everything that holds state: tables, queues, the domain event bus and the secrets. It is deployed
 * apart from the functions so that replacing or deleting the stateless stack can never touch a
 * payment record. Tables are retained when the stack is deleted and protected against deletion.
 */
export class StatefulStack extends Stack {
  readonly tables: Record<TableName, ITableV2>;
  readonly queues: Record<QueueName, Queue>;
  readonly eventBus: EventBus;
  /**
   * Payple credentials, JSON `{cstId, custKey, refundKey}`. Created with a value that cannot work
   * (empty `cstId`, random `custKey`: the charger refuses it at cold start, before any charge);
   * the operator puts the real JSON in with `aws secretsmanager put-secret-value`, so the real keys
   * never pass through a template, a parameter or an environment variable.
   */
  readonly paypleCredentials: Secret;
  /** The random path segment Payple's webhook must carry (`/webhooks/payple/{secret}`). */
  readonly webhookPathSecret: Secret;

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

    this.paypleCredentials = new Secret(this, 'PaypleCredentials', {
      description:
        'Payple partner credentials as JSON {"cstId","custKey","refundKey"}; put the real value with put-secret-value (docs/deploy.md)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ cstId: '' }),
        generateStringKey: 'custKey',
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.webhookPathSecret = new Secret(this, 'WebhookPathSecret', {
      description: 'Path segment of the Payple webhook URL (/webhooks/payple/{secret}); generated here',
      generateSecretString: {
        passwordLength: WEBHOOK_PATH_SECRET_LENGTH,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.paypleCredentials).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Payple issues the credentials in its partner admin and offers no API to rotate them; the operator replaces the value when Payple issues new ones (docs/runbook.md).',
    });
    Validations.of(this.webhookPathSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "Rotating the webhook path means registering a new URL in Payple's partner admin by hand; it is rotated on suspicion, as the runbook describes.",
    });

    new CfnOutput(this, 'PaypleCredentialsSecretArn', {
      description: 'Put the Payple credentials JSON into this secret (docs/deploy.md)',
      value: this.paypleCredentials.secretArn,
    });
    new CfnOutput(this, 'WebhookPathSecretArn', {
      description: 'The webhook URL path segment (docs/deploy.md)',
      value: this.webhookPathSecret.secretArn,
    });
    new CfnOutput(this, 'BillingDeadLetterQueueArn', {
      description: 'Redrive source for failed charge jobs (docs/runbook.md)',
      value: deadLetter.queueArn,
    });
    new CfnOutput(this, 'BillingDeadLetterQueueUrl', { value: deadLetter.queueUrl });
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
        ...(index.nonKeyAttributes === undefined
          ? {}
          : index.nonKeyAttributes.length === 0
            ? { projectionType: ProjectionType.KEYS_ONLY }
            : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.nonKeyAttributes] }),
      })),
      ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
