/** Deployed entry point: dependencies from the environment and Secrets Manager, once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requireEnv } from '../shared/environment.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { paypleClient, paypleCredentialsFromSecret } from '../shared/payple.ts';
import { DynamoCheckoutSessionStore } from '../store/checkout-session-store.ts';
import { documentClient, DynamoBillingStore } from '../store/dynamo-billing-store.ts';
import { createCheckoutHandler } from './checkout.ts';
import { billingTablesFrom, plansFrom, publicBaseUrlFrom, redirectPolicyFrom } from './config.ts';

const env = process.env;
const publicBaseUrl = publicBaseUrlFrom(env);
const logger = createLogger('checkout');
const dynamo = new DynamoDBClient({});
const credentials = await paypleCredentialsFromSecret(env);

export const handler = createCheckoutHandler({
  plans: plansFrom(env),
  sessions: new DynamoCheckoutSessionStore(
    documentClient(dynamo),
    requireEnv(env, 'CHECKOUT_SESSIONS_TABLE'),
  ),
  subscriptions: new DynamoBillingStore(dynamo, billingTablesFrom(env)),
  payple: paypleClient(env, credentials, logger),
  paypleHost: requireEnv(env, 'PAYPLE_HOST'),
  publicBaseUrl,
  redirects: redirectPolicyFrom(env, publicBaseUrl),
  now: Date.now,
  logger,
  metrics: createMetrics('checkout'),
});
