/** Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { publicBaseUrlFrom, redirectPolicyFrom } from '../checkout/config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { billingSettings } from '../shared/billing-config.ts';
import { requireEnv } from '../shared/environment.ts';
import { outboxPublisher } from '../shared/outbox.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { PaypleClient } from '../payple/index.ts';
import { paypleCredentialsFromSecret } from '../shared/payple.ts';
import { NOT_FOUND_LOOKUP_CODES, reconcileSettings } from '../shared/reconcile-config.ts';
import { DynamoCheckoutSessionStore } from '../store/checkout-session-store.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { DynamoLookupBudget } from '../store/lookup-budget.ts';
import { createReturnHandler } from './return.ts';

const env = process.env;
const settings = billingSettings(env);
const publicBaseUrl = publicBaseUrlFrom(env);
const logger = createLogger('return');
const dynamo = new DynamoDBClient({});
const documents = documentClient(dynamo);
const credentials = await paypleCredentialsFromSecret(env);
const paypleHost = requireEnv(env, 'PAYPLE_HOST');

/**
 * The browser waits on this function behind API Gateway (at most 30 s per request): PUSERINFO, then
 * a result lookup or the CERT confirm must fit. Tighter than the defaults; what does not answer in
 * time is `unknown` and left to the reconciler (lookup tokens are cached, so auth is often skipped).
 */
const RETURN_TIMEOUTS = { authMs: 3_000, lookupMs: 5_000, chargeMs: 12_000 } as const;

export const handler = createReturnHandler({
  store: new DynamoBillingStore(dynamo, settings.tables),
  publisher: outboxPublisher(settings, dynamo, logger),
  dunningPolicy: settings.dunningPolicy,
  sessions: new DynamoCheckoutSessionStore(documents, requireEnv(env, 'CHECKOUT_SESSIONS_TABLE')),
  queue: new SqsJobQueue(new SQSClient({}), requireEnv(env, 'BILLING_QUEUE_URL')),
  budget: new DynamoLookupBudget({
    documents,
    table: requireEnv(env, 'CONTROL_TABLE'),
    perTenMinutes: reconcileSettings(env).lookupBudgetPerTenMinutes,
  }),
  payple: new PaypleClient({
    host: paypleHost,
    referer: requireEnv(env, 'PAYPLE_REFERER'),
    cstId: credentials.cstId,
    custKey: credentials.custKey,
    timeouts: RETURN_TIMEOUTS,
    logger,
  }),
  paypleHost,
  redirects: redirectPolicyFrom(env, publicBaseUrl),
  now: Date.now,
  chargingTimeoutMs: settings.chargingTimeoutMs,
  firstLookupDelayMs: settings.firstLookupDelayMs,
  notFoundCodes: NOT_FOUND_LOOKUP_CODES,
  logger,
  metrics: createMetrics('return'),
});
