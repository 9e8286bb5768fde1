import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChargeJob, JobQueue } from '../use-cases/ports.ts';

/** SQS's limit on a SendMessageBatch. */
const SQS_BATCH_LIMIT = 10;

/** The billing queue: one message per charge job, sent in batches of ten. */
export class SqsJobQueue implements JobQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  async send(jobs: readonly ChargeJob[]): Promise<readonly ChargeJob[]> {
    const unsent: ChargeJob[] = [];
    for (let start = 0; start < jobs.length; start += SQS_BATCH_LIMIT) {
      const batch = jobs.slice(start, start + SQS_BATCH_LIMIT);
      try {
        const result = await this.#sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: batch.map((job, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) })),
          }),
        );
        for (const failure of result.Failed ?? []) {
          const job = batch[Number(failure.Id)];
          if (job) unsent.push(job);
        }
      } catch {
        // The whole batch is unsent; its entries stay due and the next run sends them.
        unsent.push(...batch);
      }
    }
    return unsent;
  }
}
