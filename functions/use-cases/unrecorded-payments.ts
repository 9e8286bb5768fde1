/**
 * Follows up the successes Payple's webhook reported for OIDs we held no payment for. A PAY
 * window's webhook often outruns the customer's browser, whose return records the payment moments
 * later: such a report is simply dropped once the payment exists. A report still without a payment
 * after the checkout session's whole lifetime means money at Payple that no subscription records
 * (the browser never came back): it stays outstanding, reported on every run, until an operator has
 * dealt with it (docs/runbook.md, "UnrecordedPayments").
 */
import type { BillingStore, UnrecordedPaymentReport, UnrecordedPaymentReports } from './ports.ts';

export interface UnrecordedPaymentsDependencies {
  readonly reports: UnrecordedPaymentReports;
  readonly store: Pick<BillingStore, 'getPayment'>;
  readonly now: () => number;
  /** How long after the report a payment record may still appear (a return in progress). */
  readonly graceMs: number;
}

export interface UnrecordedPaymentsReview {
  /** Reports dropped: the payment is recorded now. */
  readonly recorded: readonly string[];
  /** Past the grace period with no payment record: an operator must check them at Payple. */
  readonly outstanding: readonly UnrecordedPaymentReport[];
}

export async function reviewUnrecordedPayments(
  deps: UnrecordedPaymentsDependencies,
): Promise<UnrecordedPaymentsReview> {
  const recorded: string[] = [];
  const outstanding: UnrecordedPaymentReport[] = [];
  for (const report of await deps.reports.list()) {
    if ((await deps.store.getPayment(report.oid)) !== undefined) {
      await deps.reports.remove(report.oid);
      recorded.push(report.oid);
    } else if (deps.now() - report.reportedAt >= deps.graceMs) {
      outstanding.push(report);
    }
  }
  return { recorded, outstanding };
}
