/**
 * The dispatcher Lambda's wiring: fired by the schedule, it enqueues every due attempt within its
 * time budget, then publishes what the outbox still holds.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  dispatchDueCharges,
  type DispatchDependencies,
  type DispatchResult,
} from '../use-cases/dispatch-due.ts';

export interface DispatcherDependencies extends DispatchDependencies {
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Publishes outbox events older than a minute that their committer did not publish. */
  readonly relayOutbox: (now: number) => Promise<number>;
  /** Stop reading new pages when less than this is left of the invocation. */
  readonly reserveMs?: number;
}

/** Leaves time to finish the page in hand and to relay the outbox. */
const DEFAULT_RESERVE_MS = 15_000;

export function createDispatcherHandler(deps: DispatcherDependencies) {
  return middy(async (_event: unknown, context: Context): Promise<DispatchResult & { relayed: number }> => {
    const reserve = deps.reserveMs ?? DEFAULT_RESERVE_MS;
    const result = await dispatchDueCharges(deps, {
      now: deps.now(),
      shouldStop: () => context.getRemainingTimeInMillis() < reserve,
    });
    const relayed = await deps.relayOutbox(deps.now());
    deps.metrics.addMetric('ChargeJobsEnqueued', MetricUnit.Count, result.enqueued);
    deps.metrics.addMetric('ChargeJobsNotEnqueued', MetricUnit.Count, result.failed);
    deps.metrics.addMetric('OutboxEventsRelayed', MetricUnit.Count, relayed);
    if (result.complete && result.failed === 0)
      deps.logger.info('dispatch run finished', { ...result, relayed });
    else deps.logger.warn('dispatch run left due work for the next run', { ...result, relayed });
    return { ...result, relayed };
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
