/**
 * The Payple client of a deployed function: host and Referer from the environment, credentials
 * from Secrets Manager (read once per cold start; never in an environment variable).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { z } from 'zod';
import { PaypleClient, type PaypleLogger } from '../payple/index.ts';
import { ConfigurationError, requireEnv, type Environment } from './environment.ts';

const credentialsSchema = z.object({
  cstId: z.string().min(1),
  custKey: z.string().min(1),
  refundKey: z.string().min(1).optional(),
});
export type PaypleCredentials = z.infer<typeof credentialsSchema>;

/** Reads the credentials secret (JSON `{cstId, custKey, refundKey?}`) named by `PAYPLE_SECRET_ID`. */
export async function paypleCredentialsFromSecret(env: Environment): Promise<PaypleCredentials> {
  const secretId = requireEnv(env, 'PAYPLE_SECRET_ID');
  const value = await getSecret(secretId, { transform: 'json', maxAge: 3600 });
  const parsed = credentialsSchema.safeParse(value);
  // The message names the secret and the fields, never their values.
  if (!parsed.success)
    throw new ConfigurationError(`secret ${secretId} must be JSON {cstId, custKey, refundKey?}`);
  return parsed.data;
}

export function paypleClient(
  env: Environment,
  credentials: PaypleCredentials,
  logger?: PaypleLogger,
): PaypleClient {
  return new PaypleClient({
    host: requireEnv(env, 'PAYPLE_HOST'),
    referer: requireEnv(env, 'PAYPLE_REFERER'),
    cstId: credentials.cstId,
    custKey: credentials.custKey,
    ...(credentials.refundKey ? { refundKey: credentials.refundKey } : {}),
    ...(logger ? { logger } : {}),
  });
}
