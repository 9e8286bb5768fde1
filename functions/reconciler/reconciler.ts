/** The reconciler Lambda's wiring: fired by its schedule, it settles what it can within its budget. */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  reconcileUnsettledPayments,
  type ReconcileDependencies,
  type ReconcileReport,
} from '../use-cases/reconcile.ts';

export interface ReconcilerDependencies extends ReconcileDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Payments looked at per run. */
  readonly maxPayments: number;
  /** Stop starting lookups when less than this is left of the invocation. */
  readonly reserveMs?: number;
}

const DEFAULT_RESERVE_MS = 20_000;

export function createReconcilerHandler(deps: ReconcilerDependencies) {
  return middy(async (_event: unknown, context: Context): Promise<ReconcileReport> => {
    const reserve = deps.reserveMs ?? DEFAULT_RESERVE_MS;
    const report = await reconcileUnsettledPayments(deps, {
      maxPayments: deps.maxPayments,
      shouldStop: () => context.getRemainingTimeInMillis() < reserve,
    });
    deps.metrics.addMetric('ReconcilerLookups', MetricUnit.Count, report.lookups);
    deps.metrics.addMetric('PaymentsReconciled', MetricUnit.Count, report.settled);
    deps.metrics.addMetric('PaymentsNeedingReview', MetricUnit.Count, report.needsReview);
    deps.metrics.addMetric('LookupBudgetExhausted', MetricUnit.Count, report.budgetExhausted ? 1 : 0);
    deps.metrics.addMetric(
      'OldestUnsettledPaymentAge',
      MetricUnit.Seconds,
      Math.floor(report.oldestUnsettledAgeMs / 1000),
    );
    if (report.needsReview > 0)
      deps.logger.error('payments need review: their outcome stays unknown', { ...report });
    else deps.logger.info('reconcile run finished', { ...report });
    return report;
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
