import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, describe, expect, inject, test } from 'vitest';
import {
  readBatchResponse,
  startSqsPoller,
  type BatchResult,
  type SqsLambdaHandler,
  type SqsPoller,
  type SqsPollerError,
  type SqsPollerOptions,
} from '../../local/aws/sqs-poller.ts';

const REGION = 'ap-northeast-2';
const sqs = new SQSClient({ endpoint: inject('sqsEndpoint'), region: REGION });
const createdQueues: string[] = [];
const runningPollers: SqsPoller[] = [];

afterEach(async () => {
  await Promise.all(runningPollers.splice(0).map((poller) => poller.stop()));
});

afterAll(async () => {
  await Promise.all(createdQueues.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  sqs.destroy();
});

// ---------------------------------------------------------------------------------------------
// Factories and helpers
// ---------------------------------------------------------------------------------------------

interface TestQueue {
  url: string;
  arn: string;
}

async function createQueue(
  label: string,
  options: { visibilityTimeoutSeconds?: number; deadLetter?: { arn: string; maxReceiveCount: number } } = {},
): Promise<TestQueue> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1),
  };
  if (options.deadLetter) {
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: options.deadLetter.arn,
      maxReceiveCount: options.deadLetter.maxReceiveCount,
    });
  }
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `poller-${label}-${randomUUID().slice(0, 8)}`,
      Attributes: attributes,
    }),
  );
  createdQueues.push(QueueUrl!);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: QueueUrl!, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function sendBodies(queue: TestQueue, bodies: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const { Successful } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.slice(i, i + 10).map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
    const sorted = [...(Successful ?? [])].sort((a, b) => Number(a.Id) - Number(b.Id));
    ids.push(...sorted.map((entry) => entry.MessageId!));
  }
  return ids;
}

async function queueCounts(queue: TestQueue): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Polls `condition` until it holds; fails after `timeoutMs`. No assertion depends on how long it took. */
async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A handler that records every invocation and answers with `respond`. */
function recordingHandler(
  respond: (records: SQSRecord[], call: number) => Promise<SQSBatchResponse | undefined>,
) {
  const calls: { event: SQSEvent; context: Context }[] = [];
  const handler: SqsLambdaHandler = async (event, context) => {
    calls.push({ event, context });
    return respond(event.Records, calls.length);
  };
  const records = () => calls.flatMap((call) => call.event.Records);
  return { handler, calls, records };
}

async function poller(
  queue: TestQueue,
  handler: SqsLambdaHandler,
  overrides: Partial<SqsPollerOptions> = {},
): Promise<{ poller: SqsPoller; errors: SqsPollerError[]; batches: BatchResult[] }> {
  const errors: SqsPollerError[] = [];
  const batches: BatchResult[] = [];
  const started = await startSqsPoller({
    sqs,
    queueUrl: queue.url,
    handler,
    functionName: 'charger',
    timeoutMs: 5_000,
    autoStart: false,
    onError: (error) => errors.push(error),
    onBatch: (result) => batches.push(result),
    ...overrides,
  });
  runningPollers.push(started);
  return { poller: started, errors, batches };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('SQS poller', () => {
  test('builds records in the shape Lambda gives an SQS-triggered function', async () => {
    const queue = await createQueue('shape');
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"subscriptionId":"sub_1","period":"2028-02","attempt":1}',
        MessageAttributes: {
          traceId: { DataType: 'String', StringValue: 'abc' },
          attempt: { DataType: 'Number', StringValue: '1' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
        },
      }),
    );
    const { handler, calls } = recordingHandler(async () => undefined);
    const { poller: started } = await poller(queue, handler, { functionName: 'charger', timeoutMs: 60_000 });

    await started.drain();

    expect(calls).toHaveLength(1);
    const { event, context } = calls[0]!;
    expect(event.Records).toHaveLength(1);
    const record = event.Records[0]!;
    const body = '{"subscriptionId":"sub_1","period":"2028-02","attempt":1}';
    expect(record).toEqual({
      messageId: sent.MessageId,
      receiptHandle: expect.any(String) as string,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/) as string,
        SenderId: expect.any(String) as string,
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/) as string,
      },
      messageAttributes: {
        traceId: { stringValue: 'abc', stringListValues: [], binaryListValues: [], dataType: 'String' },
        attempt: { stringValue: '1', stringListValues: [], binaryListValues: [], dataType: 'Number' },
        blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: REGION,
    });
    expect(record.attributes.SenderId).not.toBe('');
    expect(queue.arn).toMatch(/^arn:aws:sqs:ap-northeast-2:\d{12}:poller-shape-/);
    expect(context.functionName).toBe('charger');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(60_000);
  });

  test('deletes every message of a batch the handler completes without failures', async () => {
    const queue = await createQueue('success');
    await sendBodies(queue, ['a', 'b', 'c', 'd', 'e']);
    const { handler, calls } = recordingHandler(async () => ({ batchItemFailures: [] }));
    const { poller: started } = await poller(queue, handler);

    const result = await started.drain();

    expect(calls).toHaveLength(1);
    expect(calls[0]!.event.Records.map((record) => record.body).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(result).toEqual({ batches: 1, messages: 5, deleted: 5, retained: 0 });
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('batchSize caps the records per invocation', async () => {
    const queue = await createQueue('batch-size');
    await sendBodies(queue, ['1', '2', '3', '4', '5', '6', '7']);
    const { handler, calls, records } = recordingHandler(async () => undefined);
    const { poller: started } = await poller(queue, handler, { batchSize: 3 });

    await started.drain();

    expect(calls.every((call) => call.event.Records.length <= 3)).toBe(true);
    expect(
      records()
        .map((record) => record.body)
        .sort(),
    ).toEqual(['1', '2', '3', '4', '5', '6', '7']);
  });

  test('deletes only the successful messages; the failed one returns after the visibility timeout with its receive count incremented', async () => {
    const queue = await createQueue('partial', { visibilityTimeoutSeconds: 1 });
    const [idA, idB, idC] = await sendBodies(queue, ['a', 'b', 'c']);
    const { handler, records } = recordingHandler(async (batch) => ({
      batchItemFailures: batch
        .filter((record) => record.body === 'b' && record.attributes.ApproximateReceiveCount === '1')
        .map((record) => ({ itemIdentifier: record.messageId })),
    }));
    const { poller: started, batches } = await poller(queue, handler);

    const first = await started.drain();

    expect(first).toEqual({ batches: 1, messages: 3, deleted: 2, retained: 1 });
    expect(batches[0]).toMatchObject({ outcome: 'partial', retained: [idB] });
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 1 });

    await waitFor(async () => {
      await started.drain();
      return records().length === 4;
    });

    const seen = records().map((record) => [record.messageId, record.attributes.ApproximateReceiveCount]);
    expect(seen.filter(([id]) => id === idA)).toEqual([[idA, '1']]);
    expect(seen.filter(([id]) => id === idC)).toEqual([[idC, '1']]);
    expect(seen.filter(([id]) => id === idB)).toEqual([
      [idB, '1'],
      [idB, '2'],
    ]);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('a handler that throws deletes nothing, and the whole batch comes back', async () => {
    const queue = await createQueue('throws', { visibilityTimeoutSeconds: 1 });
    const ids = await sendBodies(queue, ['a', 'b']);
    const { handler, records } = recordingHandler(async (_batch, call) => {
      if (call === 1) throw new Error('DynamoDB unavailable');
    });
    const { poller: started, errors, batches } = await poller(queue, handler);

    const first = await started.drain();

    expect(first).toEqual({ batches: 1, messages: 2, deleted: 0, retained: 2 });
    expect(batches[0]?.outcome).toBe('handler-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ phase: 'invoke', functionName: 'charger' });
    expect([...errors[0]!.messageIds].sort()).toEqual([...ids].sort());
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 2 });

    await waitFor(async () => {
      await started.drain();
      return records().length === 4;
    });

    const redelivered = records().slice(2);
    expect(redelivered.map((record) => record.messageId).sort()).toEqual([...ids].sort());
    expect(redelivered.every((record) => record.attributes.ApproximateReceiveCount === '2')).toBe(true);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('a handler that outlives its timeout fails the batch like a Lambda timeout', async () => {
    const queue = await createQueue('timeout', { visibilityTimeoutSeconds: 30 });
    await sendBodies(queue, ['slow']);
    const never = new Promise<void>(() => undefined);
    const { poller: started, errors, batches } = await poller(queue, () => never, { timeoutMs: 100 });

    const result = await started.drain();

    expect(result).toMatchObject({ deleted: 0, retained: 1 });
    expect(batches[0]?.outcome).toBe('timeout');
    expect(errors[0]?.message).toMatch(/timed out/);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 1 });
  });

  test.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    [
      'an itemIdentifier that is not in the batch',
      { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] },
    ],
    ['an entry without itemIdentifier', { batchItemFailures: [{ itemId: 'x' }] }],
  ])('a response with %s fails the whole batch, as Lambda does', async (_label, response) => {
    const queue = await createQueue('invalid', { visibilityTimeoutSeconds: 30 });
    await sendBodies(queue, ['a', 'b']);
    const handler = (async () => response) as unknown as SqsLambdaHandler;
    const { poller: started, batches, errors } = await poller(queue, handler);

    const result = await started.drain();

    expect(result).toMatchObject({ deleted: 0, retained: 2 });
    expect(batches[0]?.outcome).toBe('invalid-response');
    expect(errors[0]?.message).toMatch(/whole batch/);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 2 });
  });

  test('reads batch responses by Lambda documented rules', () => {
    const batch = new Set(['m1', 'm2']);
    const success = { valid: true, failed: new Set() };
    expect(readBatchResponse(undefined, batch)).toEqual(success);
    expect(readBatchResponse(null, batch)).toEqual(success);
    expect(readBatchResponse({}, batch)).toEqual(success);
    expect(readBatchResponse({ batchItemFailures: [] }, batch)).toEqual(success);
    expect(readBatchResponse({ batchItemFailures: null }, batch)).toEqual(success);
    expect(readBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, batch)).toEqual({
      valid: true,
      failed: new Set(['m2']),
    });
    for (const invalid of [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ itemIdentifer: 'm1' }] },
      { batchItemFailures: [{ itemIdentifier: 'm3' }] },
      { batchItemFailures: 'm1' },
      'ok',
      [],
    ]) {
      expect(readBatchResponse(invalid, batch)).toMatchObject({ valid: false });
    }
  });

  test('a message that keeps failing moves to the dead-letter queue after maxReceiveCount receives (fauxqs redrive)', async () => {
    const dlq = await createQueue('dlq', { visibilityTimeoutSeconds: 30 });
    const queue = await createQueue('redrive', {
      visibilityTimeoutSeconds: 1,
      deadLetter: { arn: dlq.arn, maxReceiveCount: 2 },
    });
    const [id] = await sendBodies(queue, ['poison']);
    const { handler, records } = recordingHandler(async () => {
      throw new Error('cannot process');
    });
    const { poller: started } = await poller(queue, handler);

    await waitFor(async () => {
      await started.drain();
      return (await queueCounts(dlq)).visible === 1;
    });

    expect(records().map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url }));
    expect(Messages?.map((message) => [message.MessageId, message.Body])).toEqual([[id, 'poison']]);
  });

  test('releaseRetained() stands in for the visibility timeout under time travel, up to the DLQ', async () => {
    const dlq = await createQueue('tt-dlq', { visibilityTimeoutSeconds: 30 });
    // The billing queue's real visibility timeout: nothing comes back on its own during this test.
    const queue = await createQueue('tt', {
      visibilityTimeoutSeconds: 360,
      deadLetter: { arn: dlq.arn, maxReceiveCount: 3 },
    });
    const [poison, flaky] = await sendBodies(queue, ['poison', 'flaky']);
    const { handler, records } = recordingHandler(async (batch) => ({
      batchItemFailures: batch
        .filter((record) => record.body === 'poison' || record.attributes.ApproximateReceiveCount === '1')
        .map((record) => ({ itemIdentifier: record.messageId })),
    }));
    const { poller: started } = await poller(queue, handler);

    await started.drain();
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 2 });
    expect(await started.releaseRetained()).toBe(2);
    await started.drain();
    expect(await started.releaseRetained()).toBe(1);
    await started.drain();
    expect(await started.releaseRetained()).toBe(1);
    await started.drain();

    const receiveCounts = (id: string | undefined) =>
      records()
        .filter((record) => record.messageId === id)
        .map((record) => record.attributes.ApproximateReceiveCount);
    expect(receiveCounts(flaky)).toEqual(['1', '2']);
    expect(receiveCounts(poison)).toEqual(['1', '2', '3']);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
    expect(await queueCounts(dlq)).toEqual({ visible: 1, inFlight: 0 });
    expect(await started.releaseRetained()).toBe(0);
  });

  test('running loops with concurrency process messages sent after start, each exactly once', async () => {
    const queue = await createQueue('running', { visibilityTimeoutSeconds: 30 });
    const { handler, records } = recordingHandler(async () => undefined);
    await poller(queue, handler, { autoStart: true, concurrency: 3, batchSize: 2, waitTimeSeconds: 1 });

    const ids = await sendBodies(queue, ['1', '2', '3', '4', '5', '6', '7', '8']);

    await waitFor(() => records().length >= 8);
    expect(
      records()
        .map((record) => record.messageId)
        .sort(),
    ).toEqual([...ids].sort());
    await waitFor(async () => (await queueCounts(queue)).inFlight === 0);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('drain() parks running loops and returns once no message is visible', async () => {
    const queue = await createQueue('drain-running', { visibilityTimeoutSeconds: 30 });
    const { handler, records } = recordingHandler(async () => undefined);
    const { poller: started } = await poller(queue, handler, { autoStart: true, concurrency: 2 });
    const ids = await sendBodies(queue, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l']);

    await started.drain();

    expect(
      records()
        .map((record) => record.messageId)
        .sort(),
    ).toEqual([...ids].sort());
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('stop() waits for the batch in flight, then no receive is pending or started', async () => {
    const queue = await createQueue('stop', { visibilityTimeoutSeconds: 30 });
    const receives = { started: 0, settled: 0 };
    const counting = new SQSClient({ endpoint: inject('sqsEndpoint'), region: REGION });
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'ReceiveMessageCommand') return next(args);
        receives.started++;
        try {
          return await next(args);
        } finally {
          receives.settled++;
        }
      },
      { step: 'initialize' },
    );
    const entered = deferred();
    const release = deferred();
    const { handler, records } = recordingHandler(async () => {
      entered.resolve();
      await release.promise;
    });
    const started = await startSqsPoller({
      sqs: counting,
      queueUrl: queue.url,
      handler,
      functionName: 'charger',
      timeoutMs: 5_000,
      waitTimeSeconds: 1,
      concurrency: 2,
      onError: () => undefined,
    });
    await sendBodies(queue, ['in-flight']);
    await entered.promise;

    let stopped = false;
    const stopping = started.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release.resolve();
    await stopping;

    // Every long poll has answered (the loops are gone), and the batch in flight was finished and deleted.
    expect(receives.started).toBeGreaterThan(0);
    expect(receives.started).toBe(receives.settled);
    expect(records().map((record) => record.body)).toEqual(['in-flight']);
    expect(await queueCounts(queue)).toEqual({ visible: 0, inFlight: 0 });
    counting.destroy();
  });

  test('messages a long poll returns after stop() are made visible again, not processed', async () => {
    const queue = await createQueue('release', { visibilityTimeoutSeconds: 30 });
    const receives = { started: 0 };
    const counting = new SQSClient({ endpoint: inject('sqsEndpoint'), region: REGION });
    counting.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'ReceiveMessageCommand') receives.started++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const { handler, calls } = recordingHandler(async () => undefined);
    const started = await startSqsPoller({
      sqs: counting,
      queueUrl: queue.url,
      handler,
      functionName: 'charger',
      timeoutMs: 5_000,
      waitTimeSeconds: 5,
      onError: () => undefined,
    });
    await waitFor(() => receives.started === 1);

    const stopping = started.stop();
    await sendBodies(queue, ['arrives-while-stopping']);
    await stopping;

    expect(calls).toHaveLength(0);
    expect(await queueCounts(queue)).toEqual({ visible: 1, inFlight: 0 });
    counting.destroy();
  });

  test('after stop() the process exits on its own: no long poll or timer keeps it alive', async () => {
    const queue = await createQueue('exit', { visibilityTimeoutSeconds: 30 });
    const pollerModule = fileURLToPath(new URL('../../local/aws/sqs-poller.ts', import.meta.url));
    const script = `
      import { SQSClient } from '@aws-sdk/client-sqs';
      import { startSqsPoller } from ${JSON.stringify(pollerModule)};
      const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: '${REGION}' });
      const poller = await startSqsPoller({
        sqs, queueUrl: process.env.QUEUE_URL, functionName: 'charger', timeoutMs: 1000,
        waitTimeSeconds: 3, concurrency: 2, handler: async () => undefined,
      });
      // Both loops are now in a 3 s long poll; stop() must not return before it has answered.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await poller.stop();
      console.log('stopped');
      // Anything still referenced (a socket with a pending long poll, a timer) would keep the
      // process alive past this unref'd watchdog, which then reports it.
      setTimeout(() => { console.log('still alive'); process.exit(3); }, 2000).unref();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, SQS_ENDPOINT: inject('sqsEndpoint'), QUEUE_URL: queue.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(output).toContain('stopped');
    expect(output).not.toContain('still alive');
    expect(code).toBe(0);
  });
});
