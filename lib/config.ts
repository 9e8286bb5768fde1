/**
 * The deployment's configuration: one typed, validated input read from CDK context.
 *
 * - `-c stage=<name>` names the deployment (stack names, alarm names); `prod` is the stage that
 *   charges real cards and gets the strictest checks.
 * - `config` is an object (in `cdk.json` or `cdk.context.json`) or the path of a JSON file
 *   (`-c config=config/prod.json`), shaped like {@link billingConfigInput}.
 *
 * A bad value fails `cdk synth` with a message naming the field. Nothing here is a credential: the
 * Payple keys and the webhook secret live only in Secrets Manager (see docs/deploy.md).
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEMO_PLANS, planCatalogSchema, type PlanOffer } from '../functions/billing/catalog.ts';
import { dunningPolicy } from '../functions/billing/dunning.ts';
import { paypleHosts } from '../functions/payple/hosts.ts';
import { parseScheduleExpression } from '../local/schedule-expression.ts';
import { schedules } from './resources.ts';

/** The stage that charges real money. */
export const PRODUCTION_STAGE = 'prod';

export class InvalidConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid deployment configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidConfigurationError';
  }
}

function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const isLocalhost = (url: URL) => url.hostname === 'localhost' || url.hostname === '127.0.0.1';

/** `https://host[:port]` and nothing else: Payple registers a domain, and a host is a base URL. */
/** An https URL without credentials, query, fragment or trailing slash (a base URL to append to). */
function isHttpsBase(value: string): URL | undefined {
  const url = parsedUrl(value);
  const plain =
    url !== undefined &&
    url.protocol === 'https:' &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    !value.endsWith('/');
  return plain ? url : undefined;
}

const httpsOrigin = z.string().refine((value) => isHttpsBase(value)?.pathname === '/', {
  error: 'must be an https origin such as https://shop.example.com (no path, query or trailing slash)',
});

/** A page the browser flow may redirect to: https, or http on localhost for a development stage. */
const redirectUrl = z.string().refine(
  (value) => {
    const url = parsedUrl(value);
    if (url === undefined || url.username !== '' || url.password !== '' || url.hash !== '') return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLocalhost(url));
  },
  { error: 'must be an https URL (http only for localhost), without credentials or fragment' },
);

/**
 * Where browsers and Payple reach the HTTP API: an https URL, optionally with a path prefix (a
 * reverse proxy that strips it), never a query, fragment or trailing slash. The checkout and return
 * functions build `PCD_RST_URL` and the result pages from it, never from a request's Host header.
 */
const publicBaseUrl = z.string().refine((value) => isHttpsBase(value) !== undefined, {
  error: 'must be an https URL such as https://pay.example.com (no query, fragment or trailing slash)',
});

/**
 * Lambda holds at most 4 KB of environment variables per function. The checkout function carries
 * the plan catalog and the redirect allow-list besides about 1 KB of table names, ARNs and hosts.
 */
export const MAX_CHECKOUT_SETTINGS_BYTES = 3000;

const REFERER_HINT = "the https origin registered in Payple's partner admin, e.g. https://shop.example.com";

/** "is required: <hint>" for a missing value; zod's own message for a value of the wrong type. */
function required(hint: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${hint}` : undefined);
}

function scheduleExpression(kinds: readonly ('cron' | 'rate')[]) {
  return z.string().superRefine((value, ctx) => {
    try {
      const parsed = parseScheduleExpression(value);
      if (!kinds.includes(parsed.kind as 'cron' | 'rate')) {
        ctx.addIssue({ code: 'custom', message: `must be ${kinds.map((k) => `${k}(...)`).join(' or ')}` });
      }
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

const retentionDays = new Set(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));

/** The configuration as written by the operator; every field but `payple.referer` has a default. */
export const billingConfigInput = z
  .strictObject({
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, {
        error: 'lowercase letters, digits and hyphens, starting with a letter, at most 16 characters',
      })
      .default('dev'),
    payple: z.strictObject(
      {
        /** `test`: Payple's test server (nothing is charged); `live`: real money. */
        environment: z.enum(['test', 'live']).default('test'),
        /** A Payple double (e.g. the sandbox deployed for a staging stage) instead of Payple's test host. */
        host: httpsOrigin.optional(),
        /** The domain registered in Payple's partner admin, sent as `Referer` on every call. */
        referer: z.string({ error: required(REFERER_HINT) }).pipe(httpsOrigin),
      },
      { error: required(`an object with at least "referer" (${REFERER_HINT})`) },
    ),
    schedules: z
      .strictObject({
        /** When the dispatcher looks for due subscriptions (Asia/Seoul). */
        dispatcher: scheduleExpression(['cron', 'rate']).default(schedules.dispatcher.expression),
        /** How often the reconciler looks up unknown outcomes. */
        reconciler: scheduleExpression(['rate']).default(schedules.reconciler.expression),
      })
      .prefault({}),
    charger: z
      .strictObject({
        /**
         * Concurrent charger invocations the billing queue may start (each charges a batch of up to
         * 10): the ceiling on parallel calls to Payple. Lambda's SQS scaling needs at least 2.
         */
        maxConcurrency: z.int().min(2).max(1000).default(2),
      })
      .prefault({}),
    billing: z
      .strictObject({
        /** Days after the first soft decline on which a charge is retried; then the period is unpaid. */
        dunningRetryDays: z
          .array(z.int())
          .superRefine((days, ctx) => {
            try {
              dunningPolicy(days);
            } catch (error) {
              ctx.addIssue({ code: 'custom', message: (error as Error).message });
            }
          })
          .default([1, 3, 5, 7]),
        /** Send Payple's monthly guard (`PCD_REGULER_FLAG`) with monthly charges. */
        monthGuard: z.boolean().default(true),
      })
      .prefault({}),
    reconciler: z
      .strictObject({
        /** Result lookups per 10 minutes for the whole partner account; Payple refuses above 1,000. */
        lookupBudgetPer10Minutes: z.int().min(1).max(1000).default(900),
      })
      .prefault({}),
    alarms: z
      .strictObject({
        /** Subscribed to the alarm topic; confirm the subscription from the e-mail AWS sends. */
        email: z.email().optional(),
      })
      .prefault({}),
    api: z
      .strictObject({
        /**
         * The HTTP API stage's default route throttling: each route gets this steady rate (requests
         * per second) and burst; above it API Gateway answers 429 without invoking a function.
         */
        throttle: z
          .strictObject({
            rateLimit: z.int().min(1).max(10_000).default(50),
            burstLimit: z.int().min(1).max(5_000).default(100),
          })
          .prefault({}),
        /**
         * Maps the host of `checkout.publicBaseUrl` to the API as an API Gateway custom domain with
         * this ACM certificate (in the stack's region). Without it, point that URL at the API yourself.
         */
        customDomain: z
          .strictObject({
            certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/, {
              error: 'must be the ARN of an ACM certificate, arn:aws:acm:<region>:<account>:certificate/<id>',
            }),
          })
          .optional(),
      })
      .prefault({}),
    checkout: z
      .strictObject({
        /**
         * Where customers' browsers reach the HTTP API (a custom domain mapped to it, or a reverse
         * proxy in front of it). Default: the API's own `execute-api` URL. Required in prod.
         */
        publicBaseUrl: publicBaseUrl.optional(),
        /** The plans customers can buy (`functions/billing/catalog.ts`). Default outside prod: the demo plans. */
        plans: planCatalogSchema.optional(),
        /** The only pages the return function redirects the customer's browser to (no open redirect). */
        allowedRedirectUrls: z.array(redirectUrl).default([]),
      })
      .prefault({}),
    /** Days CloudWatch keeps the functions' logs; one of the values CloudWatch Logs accepts. */
    logRetentionDays: z
      .enum(RetentionDays, {
        error: `must be one of ${[...retentionDays].sort((a, b) => a - b).join(', ')}`,
      })
      .default(RetentionDays.THREE_MONTHS),
  })
  .superRefine((config, ctx) => {
    const production = config.stage === PRODUCTION_STAGE;
    if (production && config.payple.environment !== 'live') {
      ctx.addIssue({
        code: 'custom',
        path: ['payple', 'environment'],
        message: `the ${PRODUCTION_STAGE} stage charges real cards: it must be "live", not "${config.payple.environment}"`,
      });
    }
    if (config.payple.host !== undefined && (production || config.payple.environment === 'live')) {
      ctx.addIssue({
        code: 'custom',
        path: ['payple', 'host'],
        message: `a Payple double is not allowed for live charging or the ${PRODUCTION_STAGE} stage (live always uses ${paypleHosts.live})`,
      });
    }
    if (production && config.checkout.publicBaseUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['checkout', 'publicBaseUrl'],
        message: `is required in the ${PRODUCTION_STAGE} stage: the stable https URL customers and Payple reach the API at (a custom domain), not the generated execute-api URL`,
      });
    }
    if (config.api.customDomain !== undefined) {
      const base = config.checkout.publicBaseUrl;
      if (base === undefined || new URL(base).pathname !== '/') {
        ctx.addIssue({
          code: 'custom',
          path: ['api', 'customDomain'],
          message:
            'needs checkout.publicBaseUrl without a path (https://pay.example.com): its host is the domain mapped to the API',
        });
      }
    }
    if (production && config.checkout.plans === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['checkout', 'plans'],
        message: `is required in the ${PRODUCTION_STAGE} stage: the plans customers can buy (the demo plans are for development stages)`,
      });
    }
    const settingsBytes = Buffer.byteLength(
      JSON.stringify(config.checkout.plans ?? DEMO_PLANS) +
        JSON.stringify(config.checkout.allowedRedirectUrls),
    );
    if (settingsBytes > MAX_CHECKOUT_SETTINGS_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['checkout', 'plans'],
        message: `with checkout.allowedRedirectUrls takes ${settingsBytes} bytes as JSON; Lambda holds 4 KB of environment per function, so at most ${MAX_CHECKOUT_SETTINGS_BYTES} (shorten descriptions or goods names)`,
      });
    }
    if (production) {
      config.checkout.allowedRedirectUrls.forEach((value, index) => {
        if (new URL(value).protocol !== 'https:') {
          ctx.addIssue({
            code: 'custom',
            path: ['checkout', 'allowedRedirectUrls', index],
            message: `must be https in the ${PRODUCTION_STAGE} stage`,
          });
        }
      });
    }
  });

export type BillingConfigInput = z.input<typeof billingConfigInput>;

type ParsedConfig = z.output<typeof billingConfigInput>;

/** The validated configuration, with the Payple host and the plan catalog resolved. */
export type BillingConfig = Omit<ParsedConfig, 'checkout'> & {
  readonly payple: { readonly host: string };
  readonly checkout: Omit<ParsedConfig['checkout'], 'plans'> & { readonly plans: readonly PlanOffer[] };
  readonly production: boolean;
};

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
}

/** Validates a configuration object; throws {@link InvalidConfigurationError} naming every bad field. */
export function parseBillingConfig(input: unknown): BillingConfig {
  const parsed = billingConfigInput.safeParse(input);
  if (!parsed.success) {
    throw new InvalidConfigurationError(
      parsed.error.issues.map((issue) => `config${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  const config = parsed.data;
  return {
    ...config,
    payple: { ...config.payple, host: config.payple.host ?? paypleHosts[config.payple.environment] },
    // Outside prod only (prod requires plans): the catalog `npm start` offers.
    checkout: { ...config.checkout, plans: config.checkout.plans ?? DEMO_PLANS },
    production: config.stage === PRODUCTION_STAGE,
  };
}

/** What the CDK app reads from its context: `tryGetContext` of an `App` or any construct. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * Reads `config` (an object, or the path of a JSON file relative to the working directory) and
 * `stage` from the context. A `-c stage=...` that disagrees with the file's `stage` is refused, so a
 * development file cannot be deployed under the production stage's name by accident.
 */
export function configFromContext(context: ContextSource, cwd = process.cwd()): BillingConfig {
  const raw = context.tryGetContext('config');
  let input: unknown;
  if (typeof raw === 'string') {
    const file = resolve(cwd, raw);
    try {
      input = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (error) {
      throw new InvalidConfigurationError([
        `config: cannot read JSON from ${file}: ${(error as Error).message}`,
      ]);
    }
  } else if (raw === undefined) {
    throw new InvalidConfigurationError([
      'config: missing; pass -c config=<file.json> or set "config" in cdk.json (see docs/deploy.md)',
    ]);
  } else {
    input = raw;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidConfigurationError(['config: must be a JSON object']);
  }
  const stage = context.tryGetContext('stage');
  if (stage !== undefined && typeof stage !== 'string') {
    throw new InvalidConfigurationError(['stage: -c stage=<name> must be a string']);
  }
  const fileStage = (input as { stage?: unknown }).stage;
  if (stage !== undefined && fileStage !== undefined && stage !== fileStage) {
    throw new InvalidConfigurationError([
      `config.stage: ${JSON.stringify(fileStage)} does not match -c stage=${stage}`,
    ]);
  }
  return parseBillingConfig(stage === undefined ? input : { ...input, stage });
}
