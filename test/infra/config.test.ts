import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { configFromContext, InvalidConfigurationError, parseBillingConfig } from '../../lib/config.ts';
import { schedules } from '../../lib/resources.ts';
import { synthesize, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf } from './template-refs.ts';

const referer = 'https://shop.example.com';
const minimal = { payple: { referer } };
const liveProd = { stage: 'prod', payple: { environment: 'live', referer } };

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
      checkout: { allowedRedirectUrls: [] },
      logRetentionDays: 90,
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
        checkout: { allowedRedirectUrls: ['https://shop.example.com/ok', 'http://localhost:3000/done'] },
      },
      'config.checkout.allowedRedirectUrls[1]: must be https in the prod stage',
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
    'live host, settings, concurrency and a daily charge schedule with its heartbeat',
    () => {
      const prod = {
        ...liveProd,
        schedules: { dispatcher: 'cron(0 10 * * ? *)' },
        charger: { maxConcurrency: 8 },
        billing: { dunningRetryDays: [2, 4], monthGuard: false },
      };

      const seen = synthesize(
        (built, templateOf) => {
          const stateful = templateOf(built.stateful);
          const stateless = templateOf(built.stateless);
          const ref = refs({ built, stateful, stateless, bundleOf: () => ({ files: {} }) });
          const charger = stateless.Resources[ref.logicalId(built.stateless.functions.charger.function)]!;
          const variables = (charger.Properties!.Environment as { Variables: Record<string, unknown> })
            .Variables;
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
      });
    },
    SYNTH_TIMEOUT_MS,
  );
});
