import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, test } from 'vitest';
import { startDynamoDbLocal, startSqsEmulator } from '../../local/aws/emulators.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('emulators', () => {
  test('DynamoDB Local answers once started and leaves no process once stopped', async () => {
    const dynamoLocal = await startDynamoDbLocal();
    const client = new DynamoDBClient({ endpoint: dynamoLocal.endpoint });
    await client.send(
      new CreateTableCommand({
        TableName: 'probe',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );

    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(['probe']);
    expect(isRunning(dynamoLocal.pid!)).toBe(true);

    await dynamoLocal.stop();

    expect(isRunning(dynamoLocal.pid!)).toBe(false);
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
  });

  test('the SQS emulator answers once started and refuses connections once stopped', async () => {
    const sqsEmulator = await startSqsEmulator();
    const client = new SQSClient({ endpoint: sqsEmulator.endpoint });

    expect(await client.send(new ListQueuesCommand({}))).toBeDefined();

    await sqsEmulator.stop();

    await expect(client.send(new ListQueuesCommand({}))).rejects.toThrow();
  });
});
