/**
 * Settings of the browser-facing functions (checkout and return), read once at cold start. A bad
 * value stops the function from starting with a message naming the variable.
 */
import { parsePlanCatalog, type PlanOffer } from '../billing/index.ts';
import { ConfigurationError, requireEnv, type Environment } from '../shared/environment.ts';
import { redirectPolicy, type RedirectPolicy } from '../use-cases/checkout.ts';

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const isLocalhost = (url: URL) => url.hostname === 'localhost' || url.hostname === '127.0.0.1';

/** https, or http on localhost (the local stack); no credentials, query or fragment. */
function isWebUrl(url: URL): boolean {
  return (
    (url.protocol === 'https:' || (url.protocol === 'http:' && isLocalhost(url))) &&
    url.username === '' &&
    url.password === '' &&
    url.hash === ''
  );
}

/**
 * `PUBLIC_BASE_URL`: where browsers reach the HTTP API, e.g. `https://pay.example.com`. PCD_RST_URL
 * and the default result pages are built from it (never from a request's Host header).
 */
export function publicBaseUrlFrom(env: Environment): string {
  const raw = requireEnv(env, 'PUBLIC_BASE_URL');
  const url = parseUrl(raw);
  if (url === undefined || !isWebUrl(url) || url.search !== '' || raw.endsWith('/')) {
    throw new ConfigurationError(
      'PUBLIC_BASE_URL must be an https URL without query, fragment or trailing slash (http only for localhost)',
    );
  }
  return raw;
}

/**
 * `ALLOWED_REDIRECT_URLS`: a JSON array of the exact pages a checkout may name as its success or
 * failure URL, besides this API's own result pages (always allowed). Unset: only those.
 */
export function allowedRedirectUrlsFrom(env: Environment): string[] {
  const raw = env['ALLOWED_REDIRECT_URLS'];
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError('ALLOWED_REDIRECT_URLS must be a JSON array of URLs');
  }
  if (!Array.isArray(parsed))
    throw new ConfigurationError('ALLOWED_REDIRECT_URLS must be a JSON array of URLs');
  return parsed.map((value, index) => {
    const url = typeof value === 'string' ? parseUrl(value) : undefined;
    if (url === undefined || !isWebUrl(url)) {
      throw new ConfigurationError(
        `ALLOWED_REDIRECT_URLS[${index}] must be an https URL (http only for localhost) without credentials or fragment`,
      );
    }
    return value as string;
  });
}

export function redirectPolicyFrom(env: Environment, publicBaseUrl: string): RedirectPolicy {
  return redirectPolicy(publicBaseUrl, allowedRedirectUrlsFrom(env));
}

/** `PLANS`: the plan catalog as JSON (validated like `cdk synth` validates it). */
export function plansFrom(env: Environment): readonly PlanOffer[] {
  const raw = requireEnv(env, 'PLANS');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError('PLANS must be the plan catalog as JSON');
  }
  try {
    return parsePlanCatalog(parsed);
  } catch (error) {
    throw new ConfigurationError(`PLANS: ${(error as Error).message}`);
  }
}

/** The subscriptions, payments and outbox tables the billing store adapter is built on. */
export function billingTablesFrom(env: Environment) {
  return {
    subscriptions: requireEnv(env, 'SUBSCRIPTIONS_TABLE'),
    payments: requireEnv(env, 'PAYMENTS_TABLE'),
    outbox: requireEnv(env, 'OUTBOX_TABLE'),
  };
}
