import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../lib/constructs/billing-function.ts';
import { DEMO_PLANS, parsePlanCatalog } from '../../functions/billing/catalog.ts';
import { CHARGER_TIMEOUT_SECONDS, queues, schedules, SEOUL } from '../../lib/resources.ts';
import { deployed, TEST_CONFIG, type Deployed, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf, type Refs } from './template-refs.ts';

interface FunctionProps {
  Handler: string;
  Runtime: string;
  Architectures: string[];
  Timeout: number;
  TracingConfig: { Mode: string };
  LoggingConfig: { LogGroup: unknown };
  Environment: { Variables: Record<string, unknown> };
}

const ALL = ['charger', 'dispatcher', 'reconciler', 'checkout', 'return', 'webhook', 'operations'];

let app: Deployed;
let ref: Refs;

beforeAll(() => {
  app = deployed({ bundle: true });
  ref = refs(app);
}, SYNTH_TIMEOUT_MS);

const functionNames = () => Object.values(app.built.stateless.functions).map((fn) => fn.serviceName);
const billingFunction = (name: string) =>
  Object.values(app.built.stateless.functions).find((fn) => fn.serviceName === name)!;
const lambdaOf = (name: string) => {
  const logicalId = ref.logicalId(billingFunction(name).function);
  return { logicalId, props: app.stateless.Resources[logicalId]!.Properties as unknown as FunctionProps };
};
const environmentOf = (name: string) =>
  Object.fromEntries(
    Object.entries(lambdaOf(name).props.Environment.Variables).map(([k, v]) => [k, ref.name(v)]),
  );

describe('every function runs the handler its bundle exports', () => {
  test('the app deploys the pipeline (charger, dispatcher, reconciler), the edge (checkout, return, webhook) and the operations function', () => {
    expect(functionNames().sort()).toEqual([...ALL].sort());
  });

  test.each(ALL)('%s: its entry file exists and exports `handler`', (name) => {
    const entry = join(PROJECT_ROOT, billingFunction(name).entry);

    expect(existsSync(entry)).toBe(true);
    expect(readFileSync(entry, 'utf8')).toMatch(/^export (const|async function|function) handler\b/m);
  });

  test.each(ALL)('%s: Lambda calls index.handler of an ESM bundle that exports handler', (name) => {
    const { logicalId, props } = lambdaOf(name);
    const bundle = app.bundleOf(logicalId);

    expect(props.Handler).toBe('index.handler');
    expect(Object.keys(bundle.files).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = bundle.files['index.mjs']!;
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/export\s*\{(?:[^}]*,)?\s*[\w$]+\s+as\s+handler\s*(?:,[^}]*)?\}/);
  });

  test.each(ALL)('%s: metrics are published under the service name the alarms read', (name) => {
    const source = readFileSync(join(PROJECT_ROOT, billingFunction(name).entry), 'utf8');

    expect(source).toContain(`createMetrics('${billingFunction(name).serviceName}')`);
  });
});

describe('the house construct', () => {
  test.each(ALL)(
    '%s: Node.js 24 on arm64, active tracing, source maps on, logs kept for the configured days',
    (name) => {
      const { props } = lambdaOf(name);
      const logGroupId = (props.LoggingConfig.LogGroup as { Ref: string }).Ref;

      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(ref.name(props.LoggingConfig.LogGroup)).toBe(`logGroup:${name}`);
      expect(app.stateless.Resources[logGroupId]!.Properties!.RetentionInDays).toBe(
        TEST_CONFIG.logRetentionDays,
      );
    },
  );

  test('the charger gets each resource it uses, the Payple settings, and the secret by ARN only', () => {
    expect(environmentOf('charger')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      EVENT_BUS_NAME: 'eventBus',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      PAYPLE_HOST: 'https://democpay.payple.kr',
      PAYPLE_REFERER: TEST_CONFIG.payple.referer,
      DUNNING_RETRY_DAYS: '1,3,5,7',
      PAYPLE_MONTH_GUARD: 'true',
    });
  });

  test('the reconciler gets what the charger gets to settle, plus the lookup budget', () => {
    expect(environmentOf('reconciler')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      CONTROL_TABLE: 'table:control',
      EVENT_BUS_NAME: 'eventBus',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      PAYPLE_HOST: 'https://democpay.payple.kr',
      PAYPLE_REFERER: TEST_CONFIG.payple.referer,
      DUNNING_RETRY_DAYS: '1,3,5,7',
      PAYPLE_MONTH_GUARD: 'true',
      LOOKUP_BUDGET_PER_10_MINUTES: '900',
    });
  });

  test('the checkout gets the sessions, the tables its store adapter names, the plans, the public URL and the redirect allow-list', () => {
    expect(environmentOf('checkout')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      PUBLIC_BASE_URL: 'api.ApiEndpoint',
      ALLOWED_REDIRECT_URLS: JSON.stringify(TEST_CONFIG.checkout.allowedRedirectUrls),
      PLANS: JSON.stringify(DEMO_PLANS),
      CHECKOUT_SESSIONS_TABLE: 'table:checkoutSessions',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      PAYPLE_HOST: 'https://democpay.payple.kr',
      PAYPLE_REFERER: TEST_CONFIG.payple.referer,
    });
  });

  test('the return gets what settling the first payment needs, the lookup budget and the billing queue', () => {
    expect(environmentOf('return')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      PUBLIC_BASE_URL: 'api.ApiEndpoint',
      ALLOWED_REDIRECT_URLS: JSON.stringify(TEST_CONFIG.checkout.allowedRedirectUrls),
      CHECKOUT_SESSIONS_TABLE: 'table:checkoutSessions',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      CONTROL_TABLE: 'table:control',
      EVENT_BUS_NAME: 'eventBus',
      BILLING_QUEUE_URL: 'queue:billing',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      PAYPLE_HOST: 'https://democpay.payple.kr',
      PAYPLE_REFERER: TEST_CONFIG.payple.referer,
      DUNNING_RETRY_DAYS: '1,3,5,7',
      LOOKUP_BUDGET_PER_10_MINUTES: '900',
    });
  });

  test('the webhook gets the tables it settles in, the control table for unrecorded payments, the bus and both secrets by ARN, and no Payple host', () => {
    expect(environmentOf('webhook')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      CONTROL_TABLE: 'table:control',
      EVENT_BUS_NAME: 'eventBus',
      WEBHOOK_SECRET_ID: 'secret:webhookPathSecret',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      DUNNING_RETRY_DAYS: '1,3,5,7',
    });
  });

  test('the operations function gets the tables it decides in, the control table for reports, the bus and the Payple secret for refunds', () => {
    expect(environmentOf('operations')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      CONTROL_TABLE: 'table:control',
      EVENT_BUS_NAME: 'eventBus',
      PAYPLE_SECRET_ID: 'secret:paypleCredentials',
      PAYPLE_HOST: 'https://democpay.payple.kr',
      PAYPLE_REFERER: TEST_CONFIG.payple.referer,
      DUNNING_RETRY_DAYS: '1,3,5,7',
    });
  });

  test('outside prod the checkout offers the demo plans, as JSON its handler reads back unchanged', () => {
    const plans = lambdaOf('checkout').props.Environment.Variables.PLANS as string;

    expect(parsePlanCatalog(JSON.parse(plans))).toEqual(DEMO_PLANS);
  });

  test.each([
    ['checkout', 10],
    ['return', 29],
    ['webhook', 10],
  ] as const)(
    "%s: times out after %i s, inside API Gateway's 30 s and Payple's 10 s for webhooks",
    (name, seconds) => {
      expect(lambdaOf(name).props.Timeout).toBe(seconds);
      expect(seconds).toBeLessThan(30);
    },
  );

  test('the dispatcher gets its tables, the bus and the billing queue URL', () => {
    expect(environmentOf('dispatcher')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      SUBSCRIPTIONS_TABLE: 'table:subscriptions',
      PAYMENTS_TABLE: 'table:payments',
      OUTBOX_TABLE: 'table:outbox',
      EVENT_BUS_NAME: 'eventBus',
      BILLING_QUEUE_URL: 'queue:billing',
    });
  });
});

describe('the charger consumes the billing queue', () => {
  const mapping = () => {
    const mappings = resourcesOf(app.stateless, 'AWS::Lambda::EventSourceMapping').filter(
      (m) => ref.name(m.Properties.EventSourceArn) === 'queue:billing.Arn',
    );
    expect(mappings).toHaveLength(1);
    return mappings[0]!.Properties;
  };

  test('in batches of 10 with partial batch responses, at most the configured concurrency', () => {
    const props = mapping();

    expect(ref.name(props.FunctionName)).toBe('function:charger');
    expect(props.BatchSize).toBe(10);
    expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(props.ScalingConfig).toEqual({ MaximumConcurrency: TEST_CONFIG.charger.maxConcurrency });
  });

  test('with the timeout of lib/resources.ts, a sixth of the queue visibility timeout or less', () => {
    const billingQueueId = ref.logicalId(app.built.stateful.queues.billing);
    const visibility = app.stateful.Resources[billingQueueId]!.Properties!.VisibilityTimeout as number;
    const timeout = lambdaOf('charger').props.Timeout;

    expect(timeout).toBe(CHARGER_TIMEOUT_SECONDS);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  test('messages that keep failing move to the dead-letter queue after maxReceiveCount receives', () => {
    const billingQueueId = ref.logicalId(app.built.stateful.queues.billing);
    const redrive = app.stateful.Resources[billingQueueId]!.Properties!.RedrivePolicy as {
      deadLetterTargetArn: unknown;
      maxReceiveCount: number;
    };

    expect(ref.name(redrive.deadLetterTargetArn)).toBe('queue:billingDeadLetter.Arn');
    expect(redrive.maxReceiveCount).toBe(queues.billing.deadLetter.maxReceiveCount);
  });

  test('the charger has no reserved concurrency: the queue throttles it, never Lambda', () => {
    expect(lambdaOf('charger').props).not.toHaveProperty('ReservedConcurrentExecutions');
  });
});

describe('schedules', () => {
  test('every schedule reads its expression in Asia/Seoul', () => {
    const all = resourcesOf(app.stateless, 'AWS::Scheduler::Schedule');

    expect(all.length).toBeGreaterThan(0);
    for (const schedule of all) expect(schedule.Properties.ScheduleExpressionTimezone).toBe(SEOUL);
  });

  test.each([
    ['dispatcher', 600],
    ['reconciler', 300],
  ] as const)(
    'the %s runs on its schedule of lib/resources.ts with the scheduler event, retries and a DLQ',
    (name, period) => {
      const [schedule, ...others] = resourcesOf(app.stateless, 'AWS::Scheduler::Schedule').filter(
        (s) => ref.name((s.Properties.Target as { Arn: unknown }).Arn) === `function:${name}.Arn`,
      );
      const target = schedule!.Properties.Target as {
        Input: string;
        DeadLetterConfig: { Arn: unknown };
        RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
      };

      expect(others).toEqual([]);
      expect(schedule!.Properties.ScheduleExpression).toBe(schedules[name].expression);
      expect(schedule!.Properties.ScheduleExpressionTimezone).toBe(schedules[name].timeZone);
      expect(JSON.parse(target.Input)).toEqual({
        scheduleName: name,
        scheduledTime: '<aws.scheduler.scheduled-time>',
      });
      expect(ref.name(target.DeadLetterConfig.Arn)).toBe('queue:scheduleDeadLetter.Arn');
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      // A missed run is superseded by the next one.
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBe(period);
    },
  );

  test.each(['dispatcher', 'reconciler'])(
    'a failed %s run is not retried by Lambda: the next scheduled run is the retry',
    (name) => {
      const configs = resourcesOf(app.stateless, 'AWS::Lambda::EventInvokeConfig').filter(
        (c) => ref.name(c.Properties.FunctionName) === `function:${name}`,
      );

      expect(configs.map((c) => c.Properties.MaximumRetryAttempts)).toEqual([0]);
    },
  );
});
