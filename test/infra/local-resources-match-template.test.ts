import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CfnElement } from 'aws-cdk-lib';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, test } from 'vitest';
import { queues, tables, type QueueName, type TableName } from '../../lib/resources.ts';
import {
  createQueues,
  createTables,
  type LocalQueues,
  type TableNames,
} from '../../local/aws/create-resources.ts';
import { synthesize, SYNTH_TIMEOUT_MS, type Template } from '../support/synth.ts';

interface KeySchema {
  AttributeName?: string;
  KeyType?: string;
}
interface IndexShape {
  IndexName?: string;
  KeySchema?: KeySchema[];
  Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] };
}

const byName = <T extends { AttributeName?: string }>(a: T, b: T) =>
  (a.AttributeName ?? '').localeCompare(b.AttributeName ?? '');

function indexShape(index: IndexShape) {
  return {
    name: index.IndexName,
    keys: index.KeySchema?.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
    projection: index.Projection?.ProjectionType,
    nonKey: [...(index.Projection?.NonKeyAttributes ?? [])].sort(),
  };
}

interface DeployedShapes {
  tables: Record<TableName, Record<string, unknown>>;
  queues: Record<QueueName, Record<string, unknown>>;
}

function deployedShapes(): DeployedShapes {
  return synthesize(({ stateful }, templateOf) => {
    const template: Template = templateOf(stateful);
    const resourceOf = (element: unknown) => {
      const logicalId = stateful.getLogicalId(element as CfnElement);
      const resource = template.Resources[logicalId];
      if (!resource?.Properties) throw new Error(`no resource ${logicalId} in the template`);
      return resource;
    };
    const tableShapes = {} as DeployedShapes['tables'];
    for (const name of Object.keys(tables) as TableName[]) {
      const resource = resourceOf(stateful.tables[name].node.defaultChild);
      expect(resource.Type).toBe('AWS::DynamoDB::GlobalTable');
      tableShapes[name] = resource.Properties!;
    }
    const queueShapes = {} as DeployedShapes['queues'];
    for (const name of Object.keys(queues) as QueueName[]) {
      queueShapes[name] = resourceOf(stateful.queues[name].node.defaultChild).Properties!;
    }
    return { tables: tableShapes, queues: queueShapes };
  });
}

describe('local resources are created from the same definitions the stack deploys', () => {
  const dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
  const sqs = new SQSClient({ endpoint: inject('sqsEndpoint') });
  const prefix = `match-${randomUUID().slice(0, 8)}`;
  let deployed: DeployedShapes;
  let localTables: TableNames;
  let localQueues: LocalQueues;

  beforeAll(async () => {
    deployed = deployedShapes();
    localTables = await createTables(dynamo, prefix);
    localQueues = await createQueues(sqs, prefix);
  }, SYNTH_TIMEOUT_MS);

  test.each(Object.keys(tables) as TableName[])(
    'table %s has the deployed keys, indexes and TTL',
    async (name) => {
      const template = deployed.tables[name] as {
        KeySchema: KeySchema[];
        AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
        GlobalSecondaryIndexes?: IndexShape[];
        TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
      };

      const local = (await dynamo.send(new DescribeTableCommand({ TableName: localTables[name] }))).Table!;
      const ttl = (await dynamo.send(new DescribeTimeToLiveCommand({ TableName: localTables[name] })))
        .TimeToLiveDescription;

      expect(local.KeySchema).toEqual(template.KeySchema);
      expect([...(local.AttributeDefinitions ?? [])].sort(byName)).toEqual(
        [...template.AttributeDefinitions].sort(byName),
      );
      expect((local.GlobalSecondaryIndexes ?? []).map(indexShape)).toEqual(
        (template.GlobalSecondaryIndexes ?? []).map(indexShape),
      );
      expect(ttl?.TimeToLiveStatus === 'ENABLED' ? ttl.AttributeName : undefined).toEqual(
        template.TimeToLiveSpecification?.Enabled
          ? template.TimeToLiveSpecification.AttributeName
          : undefined,
      );
    },
  );

  test.each(Object.keys(queues) as QueueName[])(
    'queue %s has the deployed timeouts and redrive',
    async (name) => {
      const template = deployed.queues[name] as {
        VisibilityTimeout: number;
        MessageRetentionPeriod: number;
        RedrivePolicy?: { maxReceiveCount: number };
      };

      const local = (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: localQueues[name].url, AttributeNames: ['All'] }),
        )
      ).Attributes!;

      expect(Number(local.VisibilityTimeout)).toBe(template.VisibilityTimeout);
      expect(Number(local.MessageRetentionPeriod)).toBe(template.MessageRetentionPeriod);
      const localRedrive = local.RedrivePolicy
        ? (JSON.parse(local.RedrivePolicy) as { maxReceiveCount: number })
        : undefined;
      expect(localRedrive?.maxReceiveCount).toEqual(template.RedrivePolicy?.maxReceiveCount);
    },
  );
});
