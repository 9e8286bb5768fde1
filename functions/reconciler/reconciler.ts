/** The reconciler Lambda's wiring: fired by its schedule, it settles what it can within its budget. */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { UnrecordedPaymentReports } from '../use-cases/ports.ts';
import {
  reconcileUnsettledPayments,
  type ReconcileDependencies,
  type ReconcileReport,
} from '../use-cases/reconcile.ts';
import { reviewUnrecordedPayments } from '../use-cases/unrecorded-payments.ts';

/**
 * How long a success the webhook reported may wait for its payment record: a checkout session's
 * 30 minutes plus the return's grace, with room for a slow return.
 */
export const UNRECORDED_PAYMENT_GRACE_MS = 60 * 60_000;

export interface ReconcilerDependencies extends ReconcileDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Successes the webhook reported for OIDs without a payment record. */
  readonly unrecordedPayments: UnrecordedPaymentReports;
  /** Payments looked at per run. */
  readonly maxPayments: number;
  /** Stop starting lookups when less than this is left of the invocation. */
  readonly reserveMs?: number;
}

const DEFAULT_RESERVE_MS = 20_000;

/**
 * Payple's refusals, with the code and classification only (never a message, token or key).
 * `paused`: the run ended there and every payment kept its back-off; else the refusal was about
 * its own payment (others were answered), which backed off.
 */
function logRefusal(logger: Logger, report: ReconcileReport): void {
  const { refusal } = report;
  if (refusal === undefined) return;
  const fields = { ...refusal, configurationErrors: report.configurationErrors ?? 0 };
  if (refusal.classification === 'config_error') logger.error('Payple refused our configuration', fields);
  else logger.warn('Payple refused a fresh lookup token', fields);
}

/** What one run did: the lookups, and the follow-up of the webhook's unrecorded payments. */
export interface ReconcilerRunReport extends ReconcileReport {
  readonly unrecordedPayments: {
    /** Reports dropped because their payment is recorded now. */
    readonly recorded: number;
    /** OIDs Payple reported paid, still without a payment record after the grace period. */
    readonly outstanding: readonly string[];
  };
}

/** Follows the webhook's reports up; the outstanding ones are logged (and alarmed) on every run. */
async function followUpUnrecordedPayments(deps: ReconcilerDependencies) {
  const review = await reviewUnrecordedPayments({
    reports: deps.unrecordedPayments,
    store: deps.store,
    now: deps.now,
    graceMs: UNRECORDED_PAYMENT_GRACE_MS,
  });
  deps.metrics.addMetric('UnrecordedPayments', MetricUnit.Count, review.outstanding.length);
  if (review.outstanding.length > 0) {
    deps.logger.error('Payple reported payments we have no record of: check them at Payple', {
      payments: review.outstanding.map(({ oid, amount, payType, reportedAt }) => ({
        oid,
        amount,
        payType,
        reportedAt: new Date(reportedAt).toISOString(),
      })),
    });
  }
  return { recorded: review.recorded.length, outstanding: review.outstanding.map(({ oid }) => oid) };
}

export function createReconcilerHandler(deps: ReconcilerDependencies) {
  return middy(async (_event: unknown, context: Context): Promise<ReconcilerRunReport> => {
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
    // The charger's metric name, under the reconciler's service: its own alarm, its own runbook section.
    deps.metrics.addMetric('PaypleConfigurationErrors', MetricUnit.Count, report.configurationErrors ?? 0);
    logRefusal(deps.logger, report);
    if (report.needsReview > 0)
      deps.logger.error('payments need review: their outcome stays unknown', { ...report });
    else deps.logger.info('reconcile run finished', { ...report });
    return { ...report, unrecordedPayments: await followUpUnrecordedPayments(deps) };
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
