/** Settings of the reconciler and of everything else that draws on the lookup budget. */
import { ConfigurationError, integerEnv, integerListEnv, type Environment } from './environment.ts';

export interface ReconcileSettings {
  readonly lookupBudgetPerTenMinutes: number;
  readonly backoffMs: readonly number[];
  readonly notFoundGraceMs: number;
  readonly maxPaymentsPerRun: number;
}

const MINUTE = 60;

export function reconcileSettings(env: Environment): ReconcileSettings {
  const settings = {
    lookupBudgetPerTenMinutes: integerEnv(env, 'LOOKUP_BUDGET_PER_10_MINUTES', 900, 1),
    backoffMs: integerListEnv(env, 'LOOKUP_BACKOFF_MINUTES', [5, 30, 120, 720, 1440]).map(
      (m) => m * MINUTE * 1000,
    ),
    notFoundGraceMs: integerEnv(env, 'NOT_FOUND_GRACE_MINUTES', 60, 10) * MINUTE * 1000,
    maxPaymentsPerRun: integerEnv(env, 'RECONCILE_MAX_PAYMENTS', 1000, 1),
  };
  // "Not found" lookups inside the grace period use up the back-off; a grace longer than the whole
  // back-off would send never-charged payments to needs_review instead of a new attempt.
  const backoffTotal = settings.backoffMs.reduce((sum, ms) => sum + ms, 0);
  if (settings.notFoundGraceMs >= backoffTotal) {
    throw new ConfigurationError(
      'NOT_FOUND_GRACE_MINUTES must be shorter than the whole LOOKUP_BACKOFF_MINUTES',
    );
  }
  return settings;
}

/**
 * The sandbox's "no payment with this OID and date" code. Payple does not publish its own; with a
 * live code we do not know, "not found" is never assumed: the payment backs off and ends in
 * needs_review, which is safe (no second charge) but needs an operator.
 */
export const NOT_FOUND_LOOKUP_CODES = ['PCHK0011'] as const;
