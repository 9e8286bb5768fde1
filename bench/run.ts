/**
 * Benchmarks of the local stack's hot paths. Figures are written to bench/results/latest.json
 * (and printed); they describe this machine, so compare runs on the same machine only.
 *
 *   npm run bench
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTables } from '../local/aws/create-resources.ts';
import { startDynamoDbLocal } from '../local/aws/emulators.ts';
import { startHttpGateway } from '../local/aws/http-gateway.ts';

interface Figure {
  readonly name: string;
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function measure(
  name: string,
  operations: number,
  operation: (i: number) => Promise<void>,
): Promise<Figure> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < operations; i++) {
    const t = performance.now();
    await operation(i);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    name,
    operations,
    seconds: round(seconds),
    perSecond: round(operations / seconds),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
  };
}

async function gatewayRoundTrip(): Promise<Figure> {
  const gateway = await startHttpGateway({
    routes: [
      {
        method: 'POST',
        path: '/echo/{id}',
        handler: (event) => Promise.resolve({ statusCode: 200, body: event.body ?? '' }),
      },
    ],
  });
  try {
    return await measure('http gateway: form POST round trip', 2_000, async (i) => {
      const response = await fetch(`${gateway.url}/echo/${i}`, {
        method: 'POST',
        body: new URLSearchParams({ i: String(i) }),
      });
      await response.arrayBuffer();
    });
  } finally {
    await gateway.stop();
  }
}

async function conditionalClaims(): Promise<Figure> {
  const dynamoLocal = await startDynamoDbLocal();
  try {
    const dynamo = new DynamoDBClient({
      endpoint: dynamoLocal.endpoint,
      region: 'ap-northeast-2',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const names = await createTables(dynamo, 'bench');
    const documents = DynamoDBDocumentClient.from(dynamo);
    // Every other write races an existing item, as duplicate SQS deliveries do.
    return await measure('dynamodb local: conditional payment claim', 1_000, async (i) => {
      try {
        await documents.send(
          new PutCommand({
            TableName: names.payments,
            Item: { oid: `bench-${Math.floor(i / 2)}`, state: 'charging' },
            ConditionExpression: 'attribute_not_exists(oid)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  } finally {
    await dynamoLocal.stop();
  }
}

const figures = [await gatewayRoundTrip(), await conditionalClaims()];
const output = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
mkdirSync(dirname(output), { recursive: true });
writeFileSync(
  output,
  `${JSON.stringify({ recordedAt: new Date().toISOString(), node: process.version, figures }, null, 2)}\n`,
);
console.table(figures);
console.log(`written to ${output}`);
