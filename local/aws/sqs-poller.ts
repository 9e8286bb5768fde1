/**
 * Lambda's SQS event source mapping, on a laptop: receives batches from a queue (fauxqs), invokes a
 * handler with the `SQSEvent` Lambda would build, and deletes what Lambda would delete with
 * `FunctionResponseTypes: ['ReportBatchItemFailures']`:
 *
 * - the handler resolves without `batchItemFailures` (undefined, null, `{}`, `[]`): every message
 *   is deleted;
 * - it resolves with `batchItemFailures`: every message except those is deleted; they come back
 *   after the queue's visibility timeout;
 * - it throws, rejects, or outlives `timeoutMs` (Lambda kills it): nothing is deleted;
 * - its response is malformed — an entry with an empty, missing or unknown `itemIdentifier`, a
 *   `batchItemFailures` that is not a list, or a response that is not an object — nothing is
 *   deleted, which is Lambda's documented "treat the whole batch as failed".
 *
 * Messages received more than the queue's RedrivePolicy `maxReceiveCount` times are moved to the
 * dead-letter queue by fauxqs itself, exactly when SQS does it (on the receive that would exceed the
 * count); the poller has no redrive code of its own. `test/harness/sqs-poller.test.ts` proves it.
 *
 * Two ways to run: `startSqsPoller` starts `concurrency` long-polling loops (`npm start`), or with
 * `autoStart: false` nothing runs until `drain()` is called (deterministic tests, time travel).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttribute,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { createLambdaContext } from './lambda-context.ts';

/** The shape of `SQSHandler` from @types/aws-lambda, async only. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- the same union @types/aws-lambda uses
export type SqsLambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsPollerOptions {
  /** A client with an explicit `endpoint` (fauxqs). */
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** The queue's ARN for `eventSourceARN`; read from the queue when omitted. */
  readonly queueArn?: string;
  readonly handler: SqsLambdaHandler;
  readonly functionName: string;
  /** The function's timeout: the context counts down from it, and a batch running longer fails. */
  readonly timeoutMs: number;
  /** Messages per invocation, 1-10 (the event source mapping's BatchSize for a standard queue). */
  readonly batchSize?: number;
  /** Long-poll seconds per receive, 0-20; 1 by default so `stop()` and `drain()` are prompt. */
  readonly waitTimeSeconds?: number;
  /** Parallel polling loops, like concurrent Lambda instances; 1 by default. */
  readonly concurrency?: number;
  /** Start the polling loops now (default) or only process on `drain()`. */
  readonly autoStart?: boolean;
  /** Every failure: receive or delete errors, failed or malformed invocations. Default: stderr. */
  readonly onError?: (error: SqsPollerError) => void;
  /** Every completed invocation, for logs and tests. */
  readonly onBatch?: (result: BatchResult) => void;
}

export type BatchOutcome =
  /** Every message deleted. */
  | 'success'
  /** `batchItemFailures` named some messages; the others were deleted. */
  | 'partial'
  /** The handler threw or rejected; nothing deleted. */
  | 'handler-error'
  /** The handler ran longer than `timeoutMs`; nothing deleted. */
  | 'timeout'
  /** The response could not be read as a batch response; nothing deleted. */
  | 'invalid-response';

export interface BatchResult {
  readonly outcome: BatchOutcome;
  readonly messageIds: readonly string[];
  /** Messages the poller deleted (handled). */
  readonly deleted: readonly string[];
  /** Messages left on the queue, visible again after the visibility timeout. */
  readonly retained: readonly string[];
}

export interface DrainResult {
  readonly batches: number;
  readonly messages: number;
  readonly deleted: number;
  readonly retained: number;
}

export interface DrainOptions {
  /** Guard against a handler that keeps re-enqueueing work; 1,000 batches by default. */
  readonly maxBatches?: number;
}

export interface SqsPoller {
  readonly queueUrl: string;
  readonly queueArn: string;
  /**
   * Processes batches, one at a time, until a receive finds no visible message (messages waiting
   * out a visibility timeout or a delay are not waited for). Running loops are parked first so the
   * drain sees every message, and resume afterwards.
   */
  drain(options?: DrainOptions): Promise<DrainResult>;
  /**
   * Time travel for visibility timeouts, which fauxqs counts on the real clock: makes every message
   * this poller left on the queue (failed batches, `batchItemFailures`) visible now, as if its
   * visibility timeout had passed. The next receive counts it again, so redrive to the DLQ works
   * under time travel too. Returns how many were released; messages received again or deleted since
   * are skipped.
   */
  releaseRetained(): Promise<number>;
  /**
   * Stops polling: waits for the current long polls (at most `waitTimeSeconds`) and batches to
   * finish. Messages a long poll returns after `stop()` are made visible again, not processed.
   */
  stop(): Promise<void>;
}

export type SqsPollerPhase = 'receive' | 'invoke' | 'delete' | 'release';

export class SqsPollerError extends Error {
  readonly phase: SqsPollerPhase;
  readonly functionName: string;
  readonly queueUrl: string;
  readonly messageIds: readonly string[];
  constructor(
    message: string,
    details: {
      phase: SqsPollerPhase;
      functionName: string;
      queueUrl: string;
      messageIds?: readonly string[];
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.name = 'SqsPollerError';
    this.phase = details.phase;
    this.functionName = details.functionName;
    this.queueUrl = details.queueUrl;
    this.messageIds = details.messageIds ?? [];
  }
}

/** An invocation whose messages all stay on the queue. */
export class BatchFailedError extends SqsPollerError {
  readonly outcome: Exclude<BatchOutcome, 'success' | 'partial'>;
  constructor(
    outcome: Exclude<BatchOutcome, 'success' | 'partial'>,
    message: string,
    details: { functionName: string; queueUrl: string; messageIds: readonly string[]; cause?: unknown },
  ) {
    super(message, { ...details, phase: 'invoke' });
    this.name = 'BatchFailedError';
    this.outcome = outcome;
  }
}

class HandlerTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'HandlerTimeoutError';
  }
}

const RECEIVE_RETRY_MS = 1_000;

/**
 * Starts a poller for one queue and one handler. Reads the queue's ARN first when it is not given,
 * which also fails fast on a queue that does not exist.
 */
export async function startSqsPoller(options: SqsPollerOptions): Promise<SqsPoller> {
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new RangeError(`batchSize must be 1-10, got ${batchSize}`);
  }
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
    throw new RangeError(`waitTimeSeconds must be 0-20, got ${waitTimeSeconds}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${options.timeoutMs}`);
  const queueArn = options.queueArn ?? (await readQueueArn(options.sqs, options.queueUrl));
  const region = queueArn.split(':')[3] || (await options.sqs.config.region());
  const poller = new Poller(options, { batchSize, waitTimeSeconds, queueArn, region });
  if (options.autoStart ?? true) poller.startLoops(concurrency);
  return poller;
}

async function readQueueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} did not report its ARN`);
  return arn;
}

class Poller implements SqsPoller {
  readonly queueUrl: string;
  readonly queueArn: string;
  private readonly region: string;
  private readonly batchSize: number;
  private readonly waitTimeSeconds: number;
  private readonly options: SqsPollerOptions;
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  /** Set while a drain runs: loops park on it. */
  private pause: { promise: Promise<void>; release: () => void } | undefined;
  private parked = 0;
  private finishedLoops = 0;
  private readonly listeners = new Set<() => void>();
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private drainTail: Promise<unknown> = Promise.resolve();
  /** Messages left on the queue by a failed invocation: message id → the receipt handle we hold. */
  private readonly retainedHandles = new Map<string, string>();

  constructor(
    options: SqsPollerOptions,
    resolved: { batchSize: number; waitTimeSeconds: number; queueArn: string; region: string },
  ) {
    this.options = options;
    this.queueUrl = options.queueUrl;
    this.queueArn = resolved.queueArn;
    this.region = resolved.region;
    this.batchSize = resolved.batchSize;
    this.waitTimeSeconds = resolved.waitTimeSeconds;
  }

  startLoops(count: number): void {
    for (let i = 0; i < count; i++) this.loops.push(this.loop());
  }

  drain(options: DrainOptions = {}): Promise<DrainResult> {
    if (this.stopping) return Promise.reject(new Error(`the poller of ${this.queueUrl} is stopped`));
    const run = this.drainTail.then(() => this.drainOnce(options.maxBatches ?? 1_000));
    this.drainTail = run.catch(() => undefined);
    return run;
  }

  async releaseRetained(): Promise<number> {
    const handles = [...this.retainedHandles.values()];
    this.retainedHandles.clear();
    let released = 0;
    for (let i = 0; i < handles.length; i += 10) {
      released += await this.makeVisible(handles.slice(i, i + 10), 'could not release retained messages');
    }
    return released;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const sleep of this.sleeps) {
      clearTimeout(sleep.timer);
      sleep.wake();
    }
    this.sleeps.clear();
    this.pause?.release();
    await Promise.all(this.loops);
    await this.drainTail;
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  private async drainOnce(maxBatches: number): Promise<DrainResult> {
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.pause = { promise, release };
    const totals = { batches: 0, messages: 0, deleted: 0, retained: 0 };
    try {
      // A loop's long poll may already hold messages on the wire; let it finish and process them.
      await this.until(() => this.parked + this.finishedLoops === this.loops.length);
      for (;;) {
        if (totals.batches >= maxBatches) {
          throw new Error(`drain gave up after ${maxBatches} batches on ${this.queueUrl}`);
        }
        const messages = await this.receive(0);
        if (messages.length === 0) break;
        const result = await this.processBatch(messages);
        totals.batches++;
        totals.messages += result.messageIds.length;
        totals.deleted += result.deleted.length;
        totals.retained += result.retained.length;
      }
    } finally {
      this.pause = undefined;
      release();
    }
    return totals;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopping) {
        if (this.pause) {
          this.parked++;
          this.notify();
          await this.pause.promise;
          this.parked--;
          continue;
        }
        let messages: Message[];
        try {
          messages = await this.receive(this.waitTimeSeconds);
        } catch (error) {
          this.report(
            new SqsPollerError(`receive from ${this.queueUrl} failed`, {
              phase: 'receive',
              functionName: this.options.functionName,
              queueUrl: this.queueUrl,
              cause: error,
            }),
          );
          await this.sleep(RECEIVE_RETRY_MS);
          continue;
        }
        // stop() may have been called while the long poll was open.
        if (this.isStopping()) {
          await this.release(messages);
          break;
        }
        if (messages.length > 0) await this.processBatch(messages);
      }
    } finally {
      this.finishedLoops++;
      this.notify();
    }
  }

  private async receive(waitTimeSeconds: number): Promise<Message[]> {
    const { Messages } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: this.batchSize,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages ?? [];
  }

  private async processBatch(messages: Message[]): Promise<BatchResult> {
    const records = messages.map((message) => toSqsRecord(message, this.queueArn, this.region));
    const messageIds = records.map((record) => record.messageId);
    const { functionName, timeoutMs } = this.options;
    const context = createLambdaContext({ functionName, timeoutMs, region: this.region });
    let failed: ReadonlySet<string>;
    let outcome: BatchOutcome;
    try {
      const response = await withTimeout(this.options.handler({ Records: records }, context), timeoutMs);
      const parsed = readBatchResponse(response, new Set(messageIds));
      if (parsed.valid) {
        failed = parsed.failed;
        outcome = failed.size === 0 ? 'success' : 'partial';
      } else {
        failed = new Set(messageIds);
        outcome = 'invalid-response';
        this.report(
          new BatchFailedError(outcome, `${functionName}: ${parsed.reason}; the whole batch is retried`, {
            functionName,
            queueUrl: this.queueUrl,
            messageIds,
          }),
        );
      }
    } catch (error) {
      failed = new Set(messageIds);
      outcome = error instanceof HandlerTimeoutError ? 'timeout' : 'handler-error';
      const reason = error instanceof Error ? error.message : String(error);
      this.report(
        new BatchFailedError(outcome, `${functionName} failed: ${reason}`, {
          functionName,
          queueUrl: this.queueUrl,
          messageIds,
          cause: error,
        }),
      );
    }
    const toDelete = records.filter((record) => !failed.has(record.messageId));
    const deleted = await this.delete(toDelete);
    for (const record of records) {
      if (deleted.includes(record.messageId)) this.retainedHandles.delete(record.messageId);
      else this.retainedHandles.set(record.messageId, record.receiptHandle);
    }
    const result: BatchResult = {
      outcome,
      messageIds,
      deleted,
      retained: messageIds.filter((id) => !deleted.includes(id)),
    };
    this.options.onBatch?.(result);
    return result;
  }

  /** Deletes the records; returns the ids actually deleted. */
  private async delete(records: readonly SQSRecord[]): Promise<string[]> {
    if (records.length === 0) return [];
    const messageIds = records.map((record) => record.messageId);
    try {
      const { Failed } = await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: records.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
          })),
        }),
      );
      const failedIndexes = new Set((Failed ?? []).map((entry) => Number(entry.Id)));
      if (failedIndexes.size > 0) {
        this.report(
          new SqsPollerError(`could not delete ${failedIndexes.size} handled message(s)`, {
            phase: 'delete',
            functionName: this.options.functionName,
            queueUrl: this.queueUrl,
            messageIds: messageIds.filter((_, index) => failedIndexes.has(index)),
            cause: Failed,
          }),
        );
      }
      return messageIds.filter((_, index) => !failedIndexes.has(index));
    } catch (error) {
      this.report(
        new SqsPollerError('could not delete handled messages', {
          phase: 'delete',
          functionName: this.options.functionName,
          queueUrl: this.queueUrl,
          messageIds,
          cause: error,
        }),
      );
      return [];
    }
  }

  /** Makes messages received after `stop()` visible again instead of leaving them invisible. */
  private async release(messages: readonly Message[]): Promise<void> {
    const handles = messages.map((message) => message.ReceiptHandle ?? '');
    if (handles.length > 0)
      await this.makeVisible(handles, 'could not release messages received while stopping');
  }

  /** Sets the visibility timeout of up to 10 messages to 0; returns how many it changed. */
  private async makeVisible(receiptHandles: readonly string[], failure: string): Promise<number> {
    if (receiptHandles.length === 0) return 0;
    try {
      const { Successful, Failed } = await this.options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: receiptHandles.map((ReceiptHandle, index) => ({
            Id: String(index),
            ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      // A handle that is no longer valid belongs to a message received again or deleted: nothing to do.
      const unexpected = (Failed ?? []).filter((entry) => entry.Code !== 'ReceiptHandleIsInvalid');
      if (unexpected.length > 0) {
        this.report(
          new SqsPollerError(failure, {
            phase: 'release',
            functionName: this.options.functionName,
            queueUrl: this.queueUrl,
            cause: unexpected,
          }),
        );
      }
      return Successful?.length ?? 0;
    } catch (error) {
      this.report(
        new SqsPollerError(failure, {
          phase: 'release',
          functionName: this.options.functionName,
          queueUrl: this.queueUrl,
          cause: error,
        }),
      );
      return 0;
    }
  }

  private report(error: SqsPollerError): void {
    try {
      if (this.options.onError) this.options.onError(error);
      else {
        // Identifiers only: bodies can carry customer data.
        console.error(
          JSON.stringify({
            level: 'ERROR',
            source: 'sqs-poller',
            functionName: error.functionName,
            phase: error.phase,
            messageIds: error.messageIds,
            error: error.message,
          }),
        );
      }
    } catch {
      // A broken log hook must not stop the poller.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeps.add(entry);
    });
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (): void => {
        if (!condition()) return;
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }
}

/**
 * Builds the record Lambda puts in `event.Records` for an SQS message.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
 */
export function toSqsRecord(message: Message, queueArn: string, awsRegion: string): SQSRecord {
  const system = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
    SentTimestamp: system.SentTimestamp ?? '',
    SenderId: system.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
  };
  for (const name of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    const value = system[name];
    if (value !== undefined) attributes[name] = value;
  }
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** SQS API attributes → Lambda's camelCase shape; binary values become base64 strings. */
function toLambdaMessageAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    result[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType ?? 'String',
    } satisfies SQSMessageAttribute;
  }
  return result;
}

type ReadResponse = { valid: true; failed: ReadonlySet<string> } | { valid: false; reason: string };

/** Lambda's reading of a partial batch response; `batchIds` are the messages it was invoked with. */
export function readBatchResponse(response: unknown, batchIds: ReadonlySet<string>): ReadResponse {
  if (response === undefined || response === null) return { valid: true, failed: new Set() };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { valid: false, reason: 'the handler returned something that is not a batch response object' };
  }
  const list = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return { valid: true, failed: new Set() };
  if (!Array.isArray(list)) return { valid: false, reason: 'batchItemFailures is not a list' };
  const failed = new Set<string>();
  for (const entry of list as unknown[]) {
    const id =
      typeof entry === 'object' && entry !== null
        ? (entry as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || id === '') {
      return { valid: false, reason: 'a batchItemFailures entry has an empty or missing itemIdentifier' };
    }
    if (!batchIds.has(id)) {
      return { valid: false, reason: `batchItemFailures names ${id}, which is not in the batch` };
    }
    failed.add(id);
  }
  return { valid: true, failed };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
