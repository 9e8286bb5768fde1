import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect, inject, test } from 'vitest';

test('the emulators answer', async () => {
  const dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
  const sqs = new SQSClient({ endpoint: inject('sqsEndpoint') });
  expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toBeDefined();
  expect(await sqs.send(new ListQueuesCommand({}))).toBeDefined();
});
