import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEMO_PLANS, type PlanOffer } from '../../functions/billing/catalog.ts';
import { allowedRedirectUrlsFrom, plansFrom, publicBaseUrlFrom } from '../../functions/checkout/config.ts';
import type { Environment } from '../../functions/shared/environment.ts';
import {
  configFromContext,
  InvalidConfigurationError,
  MAX_CHECKOUT_SETTINGS_BYTES,
  parseBillingConfig,
} from '../../lib/config.ts';
import { schedules } from '../../lib/resources.ts';
import { synthesize, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf } from './template-refs.ts';

const referer = 'https://shop.example.com';
const minimal = { payple: { referer } };
const plan: PlanOffer = {
  id: 'standard-monthly',
  goodsName: 'Standard',
  amount: 12_000,
  interval: { unit: 'month', count: 1 },
  payTypes: ['card'],
  firstPayment: 'registration_only',
};
const certificate = 'arn:aws:acm:ap-northeast-2:123456789012:certificate/0f4bd9a2-6d1e-4c37';
const liveProd = {
  stage: 'prod',
  payple: { environment: 'live', referer },
  checkout: { publicBaseUrl: referer, plans: [plan] },
};

function problemsOf(input: unknown): string[] {
  try {
    parseBillingConfig(input);
  } catch (error) {
    if (error instanceof InvalidConfigurationError) return [...error.problems];
    throw error;
  }
  return [];
}

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('defaults', () => {
  test('only the Referer is required; every default is safe (test host, no charge on a real card)', () => {
    const config = parseBillingConfig(minimal);

    expect(config).toEqual({
      stage: 'dev',
      production: false,
      payple: { environment: 'test', host: 'https://democpay.payple.kr', referer },
      schedules: { dispatcher: schedules.dispatcher.expression, reconciler: schedules.reconciler.expression },
      charger: { maxConcurrency: 2 },
      billing: { dunningRetryDays: [1, 3, 5, 7], monthGuard: true },
      reconciler: { lookupBudgetPer10Minutes: 900 },
      alarms: {},
      api: { throttle: { rateLimit: 50, burstLimit: 100 } },
      checkout: { allowedRedirectUrls: [], plans: DEMO_PLANS },
      logRetentionDays: 90,
    });
  });

  test('a development stage may name its public URL, plans and redirect pages', () => {
    const config = parseBillingConfig({
      ...minimal,
      checkout: {
        publicBaseUrl: 'https://pay.example.com/billing',
        plans: [plan],
        allowedRedirectUrls: ['http://localhost:3000/done'],
      },
    });

    expect(config.checkout).toEqual({
      publicBaseUrl: 'https://pay.example.com/billing',
      plans: [plan],
      allowedRedirectUrls: ['http://localhost:3000/done'],
    });
  });

  test('prod on the live host resolves to https://cpay.payple.kr', () => {
    const config = parseBillingConfig(liveProd);

    expect(config.production).toBe(true);
    expect(config.payple.host).toBe('https://cpay.payple.kr');
  });

  test('a development stage may use a Payple double on https', () => {
    const config = parseBillingConfig({
      payple: { referer, host: 'https://payple-sandbox.dev.example.com' },
    });

    expect(config.payple.host).toBe('https://payple-sandbox.dev.example.com');
  });
});

describe('a bad value fails with a message naming the field', () => {
  test.each<[string, unknown, string]>([
    ['no Referer', { payple: {} }, 'config.payple.referer:'],
    [
      'a Referer with a path',
      { payple: { referer: `${referer}/shop` } },
      'config.payple.referer: must be an https origin',
    ],
    [
      'a Referer on http',
      { payple: { referer: 'http://shop.example.com' } },
      'config.payple.referer: must be an https origin',
    ],
    [
      'prod on the test host',
      { ...liveProd, payple: { referer } },
      'config.payple.environment: the prod stage charges real cards',
    ],
    [
      'prod with a Payple double',
      { ...liveProd, payple: { ...liveProd.payple, host: 'https://sandbox.example.com' } },
      'config.payple.host: a Payple double is not allowed',
    ],
    [
      'live charging with a Payple double',
      { payple: { environment: 'live', referer, host: 'https://sandbox.example.com' } },
      'config.payple.host: a Payple double is not allowed',
    ],
    [
      'a Payple host on http',
      { payple: { referer, host: 'http://127.0.0.1:8080' } },
      'config.payple.host: must be an https origin',
    ],
    [
      'an unknown Payple environment',
      { payple: { referer, environment: 'sandbox' } },
      'config.payple.environment:',
    ],
    [
      'credentials in the configuration',
      { payple: { referer, custKey: 'k' } },
      'config.payple: Unrecognized key: "custKey"',
    ],
    [
      'a charger concurrency of 1',
      { ...minimal, charger: { maxConcurrency: 1 } },
      'config.charger.maxConcurrency:',
    ],
    [
      'a fractional concurrency',
      { ...minimal, charger: { maxConcurrency: 2.5 } },
      'config.charger.maxConcurrency:',
    ],
    [
      'dunning days out of order',
      { ...minimal, billing: { dunningRetryDays: [3, 1] } },
      'config.billing.dunningRetryDays: ',
    ],
    ['month guard as a string', { ...minimal, billing: { monthGuard: 'yes' } }, 'config.billing.monthGuard:'],
    [
      "a lookup budget above Payple's 1,000",
      { ...minimal, reconciler: { lookupBudgetPer10Minutes: 1001 } },
      'config.reconciler.lookupBudgetPer10Minutes:',
    ],
    [
      'a five-field cron',
      { ...minimal, schedules: { dispatcher: 'cron(0 10 * * *)' } },
      'config.schedules.dispatcher: invalid schedule expression',
    ],
    [
      'a cron for the reconciler',
      { ...minimal, schedules: { reconciler: 'cron(0/5 * * * ? *)' } },
      'config.schedules.reconciler: must be rate(...)',
    ],
    ['an e-mail without a domain', { ...minimal, alarms: { email: 'ops' } }, 'config.alarms.email:'],
    [
      'a javascript: redirect',
      { ...minimal, checkout: { allowedRedirectUrls: ['javascript:alert(1)'] } },
      'config.checkout.allowedRedirectUrls[0]:',
    ],
    [
      'an http redirect in prod',
      {
        ...liveProd,
        checkout: {
          ...liveProd.checkout,
          allowedRedirectUrls: ['https://shop.example.com/ok', 'http://localhost:3000/done'],
        },
      },
      'config.checkout.allowedRedirectUrls[1]: must be https in the prod stage',
    ],
    [
      'a plan below the card minimum',
      { ...minimal, checkout: { plans: [{ ...plan, amount: 50 }] } },
      "config.checkout.plans[0].amount: card charges must be at least 100 KRW (Payple's minimum)",
    ],
    [
      'a transfer plan above the transfer cap',
      { ...minimal, checkout: { plans: [{ ...plan, payTypes: ['transfer'], amount: 3_000_000 }] } },
      'config.checkout.plans[0].amount: transfer charges must be',
    ],
    [
      'a plan billed every 11 years',
      { ...minimal, checkout: { plans: [{ ...plan, interval: { unit: 'year', count: 11 } }] } },
      'config.checkout.plans[0].interval.count: at most',
    ],
    [
      'two plans with one id',
      { ...minimal, checkout: { plans: [plan, plan] } },
      'config.checkout.plans[1].id: duplicate plan id standard-monthly',
    ],
    ['an empty catalog', { ...minimal, checkout: { plans: [] } }, 'config.checkout.plans: at least one plan'],
    [
      'a plan without a first-payment mode',
      { ...minimal, checkout: { plans: [{ ...plan, firstPayment: undefined }] } },
      'config.checkout.plans[0].firstPayment:',
    ],
    [
      'a catalog too large for a Lambda environment',
      {
        ...minimal,
        checkout: {
          plans: Array.from({ length: 40 }, (_, i) => ({
            ...plan,
            id: `plan-${i}`,
            description: 'x'.repeat(60),
          })),
        },
      },
      `bytes as JSON; Lambda holds 4 KB of environment per function, so at most ${MAX_CHECKOUT_SETTINGS_BYTES}`,
    ],
    [
      'prod without plans',
      { ...liveProd, checkout: { publicBaseUrl: referer } },
      'config.checkout.plans: is required in the prod stage',
    ],
    [
      'prod without a public URL',
      { ...liveProd, checkout: { plans: [plan] } },
      'config.checkout.publicBaseUrl: is required in the prod stage',
    ],
    [
      'a public URL on http',
      { ...minimal, checkout: { publicBaseUrl: 'http://localhost:3000' } },
      'config.checkout.publicBaseUrl: must be an https URL',
    ],
    [
      'a public URL with a trailing slash',
      { ...minimal, checkout: { publicBaseUrl: 'https://pay.example.com/' } },
      'config.checkout.publicBaseUrl: must be an https URL',
    ],
    [
      'a public URL with a query',
      { ...minimal, checkout: { publicBaseUrl: 'https://pay.example.com?x=1' } },
      'config.checkout.publicBaseUrl: must be an https URL',
    ],
    [
      'a custom domain without a public URL',
      { ...minimal, api: { customDomain: { certificateArn: certificate } } },
      'config.api.customDomain: needs checkout.publicBaseUrl without a path',
    ],
    [
      'a custom domain for a public URL with a path',
      {
        ...minimal,
        api: { customDomain: { certificateArn: certificate } },
        checkout: { publicBaseUrl: 'https://shop.example.com/billing' },
      },
      'config.api.customDomain: needs checkout.publicBaseUrl without a path',
    ],
    [
      'a custom domain certificate that is not an ACM ARN',
      { ...minimal, api: { customDomain: { certificateArn: 'shop.example.com' } } },
      'config.api.customDomain.certificateArn: must be the ARN of an ACM certificate',
    ],
    [
      'a throttle rate of 0',
      { ...minimal, api: { throttle: { rateLimit: 0 } } },
      'config.api.throttle.rateLimit:',
    ],
    [
      'a burst above the account default',
      { ...minimal, api: { throttle: { burstLimit: 6000 } } },
      'config.api.throttle.burstLimit:',
    ],
    [
      'a retention CloudWatch does not offer',
      { ...minimal, logRetentionDays: 42 },
      'config.logRetentionDays: must be one of',
    ],
    ['a stage name with capitals', { ...minimal, stage: 'Prod' }, 'config.stage:'],
    [
      'an unknown top-level field',
      { ...minimal, region: 'ap-northeast-2' },
      'config: Unrecognized key: "region"',
    ],
  ])('%s', (_, input, expected) => {
    expect(problemsOf(input).join('\n')).toContain(expected);
  });
});

describe('reading the configuration from the CDK context', () => {
  test('`-c config=<file>` reads a JSON file relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'billing-config-'));
    try {
      writeFileSync(join(dir, 'prod.json'), JSON.stringify(liveProd));

      expect(configFromContext(context({ config: 'prod.json' }), dir).stage).toBe('prod');
      expect(() => configFromContext(context({ config: 'missing.json' }), dir)).toThrow(
        /config: cannot read JSON from .*missing\.json/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('`-c stage=` names the stage of a file without one, and must agree with a file that has one', () => {
    expect(configFromContext(context({ config: minimal, stage: 'alice' })).stage).toBe('alice');
    expect(() => configFromContext(context({ config: liveProd, stage: 'dev' }))).toThrow(
      'config.stage: "prod" does not match -c stage=dev',
    );
  });

  test('a deployment without a configuration is refused', () => {
    expect(() => configFromContext(context({}))).toThrow(/config: missing; pass -c config=<file.json>/);
  });

  test(
    'synthesis fails before building anything when a value is bad',
    () => {
      expect(() =>
        synthesize(() => undefined, undefined, { config: { ...minimal, charger: { maxConcurrency: 0 } } }),
      ).toThrow(/config\.charger\.maxConcurrency/);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('a production configuration reaches the functions', () => {
  test(
    'live host, settings, concurrency, a daily charge schedule with its heartbeat, public URL, plans and throttling',
    () => {
      const prod = {
        ...liveProd,
        schedules: { dispatcher: 'cron(0 10 * * ? *)' },
        charger: { maxConcurrency: 8 },
        billing: { dunningRetryDays: [2, 4], monthGuard: false },
        api: { throttle: { rateLimit: 20, burstLimit: 40 } },
        checkout: { ...liveProd.checkout, allowedRedirectUrls: ['https://shop.example.com/billing/done'] },
      };

      const seen = synthesize(
        (built, templateOf) => {
          const stateful = templateOf(built.stateful);
          const stateless = templateOf(built.stateless);
          const ref = refs({ built, stateful, stateless, bundleOf: () => ({ files: {} }) });
          const charger = stateless.Resources[ref.logicalId(built.stateless.functions.charger.function)]!;
          const variables = (charger.Properties!.Environment as { Variables: Record<string, unknown> })
            .Variables;
          const checkout = stateless.Resources[ref.logicalId(built.stateless.functions.checkout.function)]!;
          const checkoutVariables = (
            checkout.Properties!.Environment as { Variables: Record<string, unknown> }
          ).Variables;
          const [schedule] = resourcesOf(stateless, 'AWS::Scheduler::Schedule');
          const heartbeat = resourcesOf(stateless, 'AWS::CloudWatch::Alarm').find(
            (a) => a.Properties.AlarmName === 'PaypleBilling-prod-DispatcherNotRunning',
          );
          return {
            stacks: [built.stateful.stackName, built.stateless.stackName],
            payple: [variables.PAYPLE_HOST, variables.PAYPLE_REFERER],
            settings: [variables.DUNNING_RETRY_DAYS, variables.PAYPLE_MONTH_GUARD],
            concurrency: resourcesOf(stateless, 'AWS::Lambda::EventSourceMapping')[0]!.Properties
              .ScalingConfig,
            schedule: schedule!.Properties.ScheduleExpression,
            maxEventAge: (
              schedule!.Properties.Target as { RetryPolicy: { MaximumEventAgeInSeconds: number } }
            ).RetryPolicy.MaximumEventAgeInSeconds,
            heartbeatPeriod: heartbeat?.Properties.Period,
            // Read back by the checkout's own cold-start readers, as the deployed function will.
            checkout: [
              publicBaseUrlFrom(checkoutVariables as Environment),
              plansFrom(checkoutVariables as Environment),
              allowedRedirectUrlsFrom(checkoutVariables as Environment),
            ],
            throttle: resourcesOf(stateless, 'AWS::ApiGatewayV2::Stage')[0]!.Properties.DefaultRouteSettings,
            warnings: built.stateless.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning'),
          };
        },
        undefined,
        { config: prod },
      );

      expect(seen).toEqual({
        stacks: ['PaypleBilling-prod-Stateful', 'PaypleBilling-prod-Stateless'],
        payple: ['https://cpay.payple.kr', referer],
        settings: ['2,4', 'false'],
        concurrency: { MaximumConcurrency: 8 },
        schedule: 'cron(0 10 * * ? *)',
        maxEventAge: 86400,
        heartbeatPeriod: 86400,
        checkout: [referer, [plan], ['https://shop.example.com/billing/done']],
        throttle: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
        // The public URL is the Referer's origin: nothing to warn about.
        warnings: [],
      });
    },
    SYNTH_TIMEOUT_MS,
  );
});
