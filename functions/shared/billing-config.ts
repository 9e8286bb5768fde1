/** Settings shared by every function that settles payments (charger, webhook, reconciler). */
import { DEFAULT_DUNNING_POLICY, dunningPolicy, type DunningPolicy } from '../billing/index.ts';
import { booleanEnv, integerEnv, integerListEnv, requireEnv, type Environment } from './environment.ts';

export interface BillingSettings {
  readonly tables: { readonly subscriptions: string; readonly payments: string; readonly outbox: string };
  readonly eventBusName: string;
  readonly dunningPolicy: DunningPolicy;
  readonly useMonthGuard: boolean;
  readonly chargingTimeoutMs: number;
  readonly firstLookupDelayMs: number;
}

export function billingSettings(env: Environment): BillingSettings {
  return {
    tables: {
      subscriptions: requireEnv(env, 'SUBSCRIPTIONS_TABLE'),
      payments: requireEnv(env, 'PAYMENTS_TABLE'),
      outbox: requireEnv(env, 'OUTBOX_TABLE'),
    },
    eventBusName: requireEnv(env, 'EVENT_BUS_NAME'),
    dunningPolicy: dunningPolicy(
      integerListEnv(env, 'DUNNING_RETRY_DAYS', DEFAULT_DUNNING_POLICY.retryDelaysDays),
    ),
    useMonthGuard: booleanEnv(env, 'PAYPLE_MONTH_GUARD', true),
    chargingTimeoutMs: integerEnv(env, 'CHARGING_TIMEOUT_SECONDS', 300, 60) * 1000,
    firstLookupDelayMs: integerEnv(env, 'FIRST_LOOKUP_DELAY_SECONDS', 300, 0) * 1000,
  };
}
