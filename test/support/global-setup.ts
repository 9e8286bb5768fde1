/**
 * Vitest global setup: one DynamoDB Local and one fauxqs for the whole run, on free ports, stopped
 * when the run ends. Test files reach them through `inject('dynamoEndpoint')` and
 * `inject('sqsEndpoint')` and create their own uniquely named tables and queues.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, startSqsEmulator } from '../../local/aws/emulators.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  return async () => {
    await Promise.all([dynamo.stop(), sqs.stop()]);
  };
}
