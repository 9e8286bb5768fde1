/** Settings of the reconciler and of everything else that draws on the lookup budget. */
import { integerEnv, integerListEnv, type Environment } from './environment.ts';

export interface ReconcileSettings {
  readonly lookupBudgetPerTenMinutes: number;
  readonly backoffMs: readonly number[];
  readonly notFoundGraceMs: number;
  readonly maxPaymentsPerRun: number;
}

const MINUTE = 60;

export function reconcileSettings(env: Environment): ReconcileSettings {
  return {
    lookupBudgetPerTenMinutes: integerEnv(env, 'LOOKUP_BUDGET_PER_10_MINUTES', 900, 1),
    backoffMs: integerListEnv(env, 'LOOKUP_BACKOFF_MINUTES', [5, 30, 120, 720, 1440]).map(
      (m) => m * MINUTE * 1000,
    ),
    notFoundGraceMs: integerEnv(env, 'NOT_FOUND_GRACE_MINUTES', 60, 10) * MINUTE * 1000,
    maxPaymentsPerRun: integerEnv(env, 'RECONCILE_MAX_PAYMENTS', 1000, 1),
  };
}

/**
 * The sandbox's "no payment with this OID and date" code. Payple does not publish its own; with a
 * live code we do not know, "not found" is never assumed: the payment backs off and ends in
 * needs_review, which is safe (no second charge) but needs an operator.
 */
export const NOT_FOUND_LOOKUP_CODES = ['PCHK0011'] as const;
