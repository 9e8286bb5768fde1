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
  const raw = await getSecret(secretId, { maxAge: 3600 });
  return parsePaypleCredentials(secretId, raw);
}

/**
 * Parses the credentials secret. Errors name the secret and the expected shape only: a JSON
 * parser's own message quotes the input, which here is the custKey.
 */
export function parsePaypleCredentials(secretId: string, raw: unknown): PaypleCredentials {
  const problem = new ConfigurationError(`secret ${secretId} must be JSON {cstId, custKey, refundKey?}`);
  if (typeof raw !== 'string') throw problem;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw problem;
  }
  const parsed = credentialsSchema.safeParse(value);
  if (!parsed.success) throw problem;
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
