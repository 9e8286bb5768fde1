/**
 * The charger Lambda's wiring: SQS batch in, one charge job per record, partial batch response
 * out. A record fails (and is retried, then dead-lettered) only when it is malformed or the
 * infrastructure failed; a decline or an unknown outcome is a processed record.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import {
  processChargeJob,
  type ChargeDependencies,
  type ChargeJobResult,
} from '../use-cases/charge-attempt.ts';
import type { ChargeJob } from '../use-cases/ports.ts';
import { errorLogFields } from '../shared/observability.ts';

const chargeJobSchema = z.strictObject({
  subscriptionId: z.string().regex(/^[A-Za-z0-9]{1,40}$/),
  period: z.number().int().min(0),
  attempt: z.number().int().min(1).max(9999),
}) satisfies z.ZodType<ChargeJob>;

class MalformedJobError extends Error {
  constructor(messageId: string, detail: string) {
    super(`billing queue message ${messageId} is not a charge job: ${detail}`);
    this.name = 'MalformedJobError';
  }
}

function parseChargeJob(record: SQSRecord): ChargeJob {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MalformedJobError(record.messageId, 'body is not JSON');
  }
  const parsed = chargeJobSchema.safeParse(body);
  if (!parsed.success) {
    throw new MalformedJobError(
      record.messageId,
      parsed.error.issues.map((i) => i.path.join('.')).join(', '),
    );
  }
  return parsed.data;
}

export interface ChargerDependencies extends ChargeDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

function recordOutcome(deps: ChargerDependencies, job: ChargeJob, result: ChargeJobResult): void {
  const ids = { subscriptionId: job.subscriptionId, period: job.period, attempt: job.attempt };
  if (result.status === 'skipped') {
    deps.metrics.addMetric('ChargeJobsSkipped', MetricUnit.Count, 1);
    deps.logger.info('charge job skipped', { ...ids, reason: result.reason });
    return;
  }
  const metricByClassification: Record<string, string> = {
    success: 'ChargesSucceeded',
    soft_decline: 'ChargesSoftDeclined',
    hard_decline: 'ChargesHardDeclined',
    config_error: 'PaypleConfigurationErrors',
  };
  deps.metrics.addMetric(
    metricByClassification[result.classification] ?? 'ChargeOutcomesUnknown',
    MetricUnit.Count,
    1,
  );
  const fields = {
    ...ids,
    oid: result.oid,
    classification: result.classification,
    settle: result.settle.status,
    paymentState: result.settle.state,
  };
  if (result.classification === 'config_error') deps.logger.error('Payple refused our configuration', fields);
  else if (result.settle.status === 'inconsistent')
    deps.logger.error('payment and subscription disagree', fields);
  else deps.logger.info('charge attempt recorded', fields);
}

/** Builds the handler around its dependencies (tests and the local stack pass their own). */
export function createChargerHandler(deps: ChargerDependencies) {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      const job = parseChargeJob(record);
      const result = await processChargeJob(deps, job);
      recordOutcome(deps, job, result);
    } catch (error) {
      // The record goes back to the queue (and after maxReceiveCount to the DLQ): say why here.
      deps.metrics.addMetric('ChargeJobsFailed', MetricUnit.Count, 1);
      deps.logger.error('charge job failed', {
        messageId: record.messageId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: errorLogFields(error),
      });
      throw error;
    }
  };
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, recordHandler, processor, { context }),
  )
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
