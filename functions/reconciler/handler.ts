/** Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { billingSettings } from '../shared/billing-config.ts';
import { requireEnv } from '../shared/environment.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleClient, paypleCredentialsFromSecret } from '../shared/payple.ts';
import { NOT_FOUND_LOOKUP_CODES, reconcileSettings } from '../shared/reconcile-config.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { DynamoLookupBudget } from '../store/lookup-budget.ts';
import { DynamoUnrecordedPaymentReports } from '../store/unrecorded-payment-reports.ts';
import { createReconcilerHandler } from './reconciler.ts';

const settings = billingSettings(process.env);
const reconcile = reconcileSettings(process.env);
const logger = createLogger('reconciler');
const dynamo = new DynamoDBClient({});
const documents = documentClient(dynamo);
const store = new DynamoBillingStore(dynamo, settings.tables);
const credentials = await paypleCredentialsFromSecret(process.env);

export const handler = createReconcilerHandler({
  store,
  index: store,
  dunningPolicy: settings.dunningPolicy,
  publisher: outboxPublisher(settings, dynamo, logger),
  budget: new DynamoLookupBudget({
    documents,
    table: requireEnv(process.env, 'CONTROL_TABLE'),
    perTenMinutes: reconcile.lookupBudgetPerTenMinutes,
  }),
  payple: paypleClient(process.env, credentials, logger),
  now: Date.now,
  backoffMs: reconcile.backoffMs,
  notFoundGraceMs: reconcile.notFoundGraceMs,
  notFoundCodes: NOT_FOUND_LOOKUP_CODES,
  leaseMs: 10 * 60_000,
  maxPayments: reconcile.maxPaymentsPerRun,
  unrecordedPayments: new DynamoUnrecordedPaymentReports(documents, requireEnv(process.env, 'CONTROL_TABLE')),
  logger,
  metrics: createMetrics('reconciler'),
});
