import {
  Annotations,
  Aws,
  CfnOutput,
  CrossStackReferences,
  Duration,
  ReferenceStrength,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import { GraphWidget, MathExpression, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { BillingConfig } from '../config.ts';
import { BillingFunction } from '../constructs/billing-function.ts';
import { EdgeApi } from '../constructs/edge-api.ts';
import { Monitoring } from '../constructs/monitoring.ts';
import {
  CHARGER_TIMEOUT_SECONDS,
  schedules,
  type QueueName,
  type ScheduleName,
  type TableName,
} from '../resources.ts';
import { longestGap } from '../schedule-period.ts';

/** What the functions use from the stateful stack (cross-stack references within one app). */
export interface StatefulResources {
  readonly tables: Record<TableName, ITableV2>;
  readonly queues: Record<QueueName, IQueue>;
  readonly eventBus: IEventBus;
  readonly paypleCredentials: ISecret;
  readonly webhookPathSecret: ISecret;
}

export interface StatelessStackProps extends StackProps {
  readonly config: BillingConfig;
  readonly resources: StatefulResources;
}

/** The longest period of a CloudWatch alarm (one evaluation period of a day). */
const MAX_ALARM_PERIOD = Duration.days(1);
/** Charge bursts follow the dispatcher runs (every 10 minutes by default): count per 10 minutes. */
const CHARGE_PERIOD = Duration.minutes(10);

/** Functions of the engine by name (the folder under `functions/`). */
export type FunctionName =
  'charger' | 'dispatcher' | 'reconciler' | 'checkout' | 'return' | 'webhook' | 'operations';

/**
 * API Gateway's own limit for an integration is 30 s: the return function (PUSERINFO, then a
 * lookup or the CERT confirm) must answer inside it.
 */
const RETURN_TIMEOUT = Duration.seconds(29);
/** Payple expects the webhook's answer within 10 s; the browser's checkout call is one partner auth. */
const EDGE_TIMEOUT = Duration.seconds(10);

/**
 * The functions, their triggers, the HTTP API, the alarms and the dashboard. Holds no state: it can
 * be destroyed and deployed again without touching a payment (the API's generated URL changes then:
 * prod sets `checkout.publicBaseUrl` to a custom domain).
 */
export class StatelessStack extends Stack {
  readonly functions: Readonly<Record<FunctionName, BillingFunction>>;
  readonly api: EdgeApi;
  /** Where browsers and Payple reach the API: `checkout.publicBaseUrl`, or the API's own URL. */
  readonly publicBaseUrl: string;
  readonly monitoring: Monitoring;
  /** Where EventBridge Scheduler puts invocations it could not deliver after its retries. */
  readonly scheduleDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    // Export/ImportValue: the stateful stack cannot drop a table, queue or secret these functions use.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const { config, resources } = props;
    const logRetention = config.logRetentionDays;
    const prefix = id.replace(/-Stateless$/, '');

    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'It is itself a dead-letter queue: the one of the EventBridge Scheduler targets (alarmed when not empty).',
    });

    // --- Functions -------------------------------------------------------------------------------
    // One block per function: the house construct, then one `use*` line per resource the handler
    // reads from its environment, then its trigger.

    const paypleSettings = { PAYPLE_HOST: config.payple.host, PAYPLE_REFERER: config.payple.referer };
    // The charger and the reconciler both settle payments: they must apply the same rules.
    const settlementSettings = {
      DUNNING_RETRY_DAYS: config.billing.dunningRetryDays.join(','),
      PAYPLE_MONTH_GUARD: String(config.billing.monthGuard),
    };

    /** Charges one attempt per queue message (functions/charger/handler.ts). */
    const charger = new BillingFunction(this, 'Charger', {
      name: 'charger',
      description: 'Charges the attempts the dispatcher enqueued, once each (billing queue consumer)',
      timeout: Duration.seconds(CHARGER_TIMEOUT_SECONDS),
      logRetention,
    })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, { items: ['GetItem', 'PutItem'] })
      .useTable('PAYMENTS_TABLE', resources.tables.payments, { items: ['GetItem', 'PutItem'] })
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['PutItem', 'BatchWriteItem'] })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({ ...paypleSettings, ...settlementSettings })
      .consumeQueue(resources.queues.billing, {
        batchSize: 10,
        maxConcurrency: config.charger.maxConcurrency,
      });

    /** Enqueues due subscriptions and relays the outbox (functions/dispatcher/handler.ts). */
    const dispatcher = new BillingFunction(this, 'Dispatcher', {
      name: 'dispatcher',
      description: 'Enqueues a charge job for every due subscription, on the charge schedule',
      timeout: Duration.minutes(5),
      logRetention,
      // The next scheduled run is the retry: it reads the same due index.
      asyncRetryAttempts: 0,
    })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, {
        items: ['UpdateItem'],
        indexes: { due: ['Query'] },
      })
      // Required by the handler's store adapter, never read or written by the dispatcher.
      .useTable('PAYMENTS_TABLE', resources.tables.payments, {})
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['Scan', 'BatchWriteItem'] })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      .useQueue('BILLING_QUEUE_URL', resources.queues.billing);
    const dispatcherGap = this.schedule(dispatcher, 'dispatcher', config.schedules.dispatcher);

    /** Looks up outcomes that never arrived and settles them (functions/reconciler/handler.ts). */
    const reconciler = new BillingFunction(this, 'Reconciler', {
      name: 'reconciler',
      description: 'Looks up unknown charge outcomes at Payple with the same OID and settles them',
      // Within the default 5-minute rate; the per-payment lookup lease (10 minutes) outlasts a run,
      // so even overlapping runs never look the same payment up twice.
      timeout: Duration.minutes(4),
      logRetention,
      asyncRetryAttempts: 0,
    })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, { items: ['GetItem', 'PutItem'] })
      .useTable('PAYMENTS_TABLE', resources.tables.payments, {
        items: ['GetItem', 'PutItem', 'UpdateItem'],
        indexes: { reconcile: ['Query'] },
      })
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['PutItem', 'BatchWriteItem'] })
      // The shared lookup budget: minute buckets read together, reserved in one transaction. The
      // webhook's reports of unrecorded payments: read whole, followed-up ones removed.
      .useTable('CONTROL_TABLE', resources.tables.control, {
        items: ['BatchGetItem', 'PutItem', 'ConditionCheckItem', 'GetItem', 'UpdateItem'],
      })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({
        ...paypleSettings,
        ...settlementSettings,
        LOOKUP_BUDGET_PER_10_MINUTES: String(config.reconciler.lookupBudgetPer10Minutes),
      });
    const reconcilerGap = this.schedule(reconciler, 'reconciler', config.schedules.reconciler);

    // --- The HTTP edge: subscribe page, checkout, payment return, Payple webhook ------------------
    const domain = config.api.customDomain;
    const publicUrl = config.checkout.publicBaseUrl;
    this.api = new EdgeApi(this, 'Edge', {
      apiName: prefix,
      throttle: config.api.throttle,
      logRetention,
      // Validated: a custom domain comes with a publicBaseUrl without a path; its host is the domain.
      ...(domain && publicUrl
        ? { customDomain: { domainName: new URL(publicUrl).hostname, certificateArn: domain.certificateArn } }
        : {}),
    });
    this.publicBaseUrl = publicUrl ?? this.api.httpApi.apiEndpoint;
    this.warnOnRefererMismatch(config);
    const browserSettings = {
      PUBLIC_BASE_URL: this.publicBaseUrl,
      ALLOWED_REDIRECT_URLS: JSON.stringify(config.checkout.allowedRedirectUrls),
    };

    /** Serves the subscribe and result pages and starts checkouts (functions/checkout/handler.ts). */
    const checkout = new BillingFunction(this, 'Checkout', {
      name: 'checkout',
      description:
        'Subscribe and result pages; POST /checkout records a session and authorises the Payple window',
      timeout: EDGE_TIMEOUT,
      logRetention,
    })
      .useTable('CHECKOUT_SESSIONS_TABLE', resources.tables.checkoutSessions, {
        items: ['PutItem', 'UpdateItem'],
      })
      // A replacement checkout reads the subscription it replaces the payment method of.
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, { items: ['GetItem'] })
      // Required by the handler's store adapter, never read or written by the checkout.
      .useTable('PAYMENTS_TABLE', resources.tables.payments, {})
      .useTable('OUTBOX_TABLE', resources.tables.outbox, {})
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({
        ...paypleSettings,
        ...browserSettings,
        PLANS: JSON.stringify(config.checkout.plans),
      });

    /** Completes a checkout from the window's result, always 303 (functions/return/handler.ts). */
    const paymentReturn = new BillingFunction(this, 'Return', {
      name: 'return',
      description:
        'PCD_RST_URL: confirms the window result with Payple, creates the subscription, redirects (303)',
      timeout: RETURN_TIMEOUT,
      logRetention,
    })
      .useTable('CHECKOUT_SESSIONS_TABLE', resources.tables.checkoutSessions, {
        items: ['GetItem', 'UpdateItem'],
      })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, { items: ['GetItem', 'PutItem'] })
      .useTable('PAYMENTS_TABLE', resources.tables.payments, { items: ['GetItem', 'PutItem'] })
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['PutItem', 'BatchWriteItem'] })
      // The first payment's lookup draws on the reconciler's shared budget.
      .useTable('CONTROL_TABLE', resources.tables.control, {
        items: ['BatchGetItem', 'PutItem', 'ConditionCheckItem'],
      })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      // A registration's first charge job goes out at once instead of at the dispatcher's next run.
      .useQueue('BILLING_QUEUE_URL', resources.queues.billing)
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({
        ...paypleSettings,
        ...browserSettings,
        DUNNING_RETRY_DAYS: settlementSettings.DUNNING_RETRY_DAYS,
        LOOKUP_BUDGET_PER_10_MINUTES: String(config.reconciler.lookupBudgetPer10Minutes),
      });

    /** Payple's webhook: settles matching successes, records refunds (functions/webhook/handler.ts). */
    const webhook = new BillingFunction(this, 'Webhook', {
      name: 'webhook',
      description:
        "Payple's webhook behind its path secret: settles matching results, records refunds and key terminations",
      timeout: EDGE_TIMEOUT,
      logRetention,
    })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, {
        items: ['GetItem', 'PutItem'],
        // A key terminated in Payple's admin names a billing key, not a subscription.
        indexes: { byBillingKey: ['Query'] },
      })
      .useTable('PAYMENTS_TABLE', resources.tables.payments, { items: ['GetItem', 'PutItem'] })
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['PutItem', 'BatchWriteItem'] })
      // A success for an OID of ours with no payment record is kept there for the reconciler.
      .useTable('CONTROL_TABLE', resources.tables.control, { items: ['UpdateItem', 'PutItem'] })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      .useSecret('WEBHOOK_SECRET_ID', resources.webhookPathSecret)
      // Only the partner id (cstId) is used: the webhook never calls Payple.
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({ DUNNING_RETRY_DAYS: settlementSettings.DUNNING_RETRY_DAYS });

    this.api.serve({ checkout, return: paymentReturn, webhook });

    /**
     * Operators' commands, invoked with `aws lambda invoke` by whoever may invoke this one function
     * (functions/operations/handler.ts, docs/runbook.md "Operations commands").
     */
    const operations = new BillingFunction(this, 'Operations', {
      name: 'operations',
      description:
        "Operators' commands: holds, payments under review, unrecorded payments, refunds, cancellations, billing keys",
      // Releasing every hold is a scan and a commit per held subscription.
      timeout: Duration.minutes(5),
      logRetention,
      asyncRetryAttempts: 0,
    })
      .useTable('SUBSCRIPTIONS_TABLE', resources.tables.subscriptions, {
        items: ['GetItem', 'PutItem', 'Scan'],
        // A billing key is deleted only when no other subscription charges it.
        indexes: { byBillingKey: ['Query'] },
      })
      .useTable('PAYMENTS_TABLE', resources.tables.payments, { items: ['GetItem', 'PutItem'] })
      .useTable('OUTBOX_TABLE', resources.tables.outbox, { items: ['PutItem', 'BatchWriteItem'] })
      .useTable('CONTROL_TABLE', resources.tables.control, { items: ['GetItem', 'UpdateItem'] })
      .useEventBus('EVENT_BUS_NAME', resources.eventBus)
      // Refunds (with the refund key) and billing-key deletion.
      .useSecret('PAYPLE_SECRET_ID', resources.paypleCredentials)
      .useSettings({ ...paypleSettings, DUNNING_RETRY_DAYS: settlementSettings.DUNNING_RETRY_DAYS });
    new CfnOutput(this, 'OperationsFunctionName', {
      description: "Invoke with a JSON command (docs/runbook.md, 'Operations commands')",
      value: operations.function.functionName,
    });

    this.functions = {
      charger,
      dispatcher,
      reconciler,
      checkout,
      return: paymentReturn,
      webhook,
      operations,
    };

    // --- Alarms ----------------------------------------------------------------------------------
    const monitoring = new Monitoring(this, 'Monitoring', {
      prefix,
      ...(config.alarms.email ? { alarmEmail: config.alarms.email } : {}),
      production: config.production,
    });
    this.monitoring = monitoring;
    const billingQueue = resources.queues.billing;
    const billingDeadLetter = resources.queues.billingDeadLetter;

    monitoring.alarm({
      name: 'BillingDeadLetterQueueNotEmpty',
      summary:
        'Charge jobs failed five times and wait in the billing DLQ: those subscriptions are not charged.',
      metric: billingDeadLetter.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'BillingQueueStalled',
      summary: 'A charge job has waited in the billing queue for over an hour.',
      metric: billingQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 3600,
      evaluationPeriods: 2,
    });
    this.errorsAlarm(
      charger,
      'ChargerErrors',
      Duration.minutes(5),
      'Charger invocations failed as a whole (cold start, secret, timeout): their batches are retried.',
    );
    monitoring.alarm({
      name: 'PaypleConfigurationErrors',
      summary:
        'Payple refused our configuration (credentials, Referer, partner limits): no charge can succeed.',
      metric: charger.metric('PaypleConfigurationErrors', { period: Duration.minutes(5) }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'ChargeOutcomesUnknown',
      summary: 'Payple keeps answering without a definite outcome: those periods wait for the reconciler.',
      metric: charger.metric('ChargeOutcomesUnknown', { period: CHARGE_PERIOD }),
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    monitoring.alarm({
      name: 'ChargeJobsFailed',
      summary: 'Charge jobs keep failing (infrastructure or malformed message) and are being retried.',
      metric: charger.metric('ChargeJobsFailed', { period: CHARGE_PERIOD }),
      threshold: 1,
      evaluationPeriods: 2,
    });
    this.errorsAlarm(
      dispatcher,
      'DispatcherErrors',
      CHARGE_PERIOD,
      'A dispatcher run failed: due subscriptions wait for the next run.',
    );
    monitoring.alarm({
      name: 'ChargeJobsNotEnqueued',
      summary: 'The dispatcher could not send due charge jobs to the billing queue.',
      metric: dispatcher.metric('ChargeJobsNotEnqueued', { period: CHARGE_PERIOD }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'ScheduleDeadLetterQueueNotEmpty',
      summary: 'EventBridge Scheduler could not invoke a function after its retries.',
      metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });
    this.heartbeat(dispatcher, 'DispatcherNotRunning', dispatcherGap);
    this.errorsAlarm(
      reconciler,
      'ReconcilerErrors',
      CHARGE_PERIOD,
      'A reconciler run failed: unknown outcomes wait for the next run.',
    );
    monitoring.alarm({
      name: 'OldestUnknownPaymentTooOld',
      summary:
        'A charge attempt has had no known outcome for over 2 hours: lookups fail or fall behind, and its subscription is blocked.',
      metric: reconciler.metric('OldestUnsettledPaymentAge', {
        period: Duration.minutes(15),
        statistic: 'Maximum',
      }),
      threshold: 2 * 3600,
    });
    monitoring.alarm({
      name: 'PaymentsNeedingReview',
      summary:
        'Charge attempts stayed unresolved past their lookups (needs_review): a person must settle them.',
      metric: reconciler.metric('PaymentsNeedingReview', { period: Duration.minutes(5) }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'ReconcilerPaypleConfigurationErrors',
      summary:
        'Payple refused our configuration when looking up payments (credentials, Referer): lookups pause, payments keep their back-off.',
      metric: reconciler.metric('PaypleConfigurationErrors', { period: Duration.minutes(5) }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'UnrecordedPayments',
      summary:
        'Payple reported payments (webhook) that no subscription recorded within an hour: money taken that we do not know of.',
      // A gauge the reconciler reports on every run (outstanding reports), hence its maximum.
      metric: reconciler.metric('UnrecordedPayments', { period: Duration.minutes(10), statistic: 'Maximum' }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'LookupBudgetExhausted',
      summary: 'The shared Payple lookup budget has been spent for 30 minutes: outcomes are resolved late.',
      metric: reconciler.metric('LookupBudgetExhausted', { period: CHARGE_PERIOD }),
      threshold: 1,
      evaluationPeriods: 3,
    });
    this.heartbeat(reconciler, 'ReconcilerNotRunning', reconcilerGap);

    const five = Duration.minutes(5);
    this.errorsAlarm(
      checkout,
      'CheckoutErrors',
      five,
      'Checkout invocations failed as a whole (cold start, secret, timeout): customers cannot open the subscribe page or start a checkout.',
    );
    monitoring.alarm({
      name: 'CheckoutPaypleConfigurationErrors',
      summary:
        'Payple refused our configuration when authorising a payment window (Referer, credentials): nobody can subscribe.',
      metric: checkout.metric('PaypleConfigurationErrors', { period: five }),
      threshold: 1,
    });
    this.errorsAlarm(
      paymentReturn,
      'ReturnErrors',
      five,
      'Payment return invocations failed as a whole (cold start, secret, timeout): customers coming back from the Payple window see an API error.',
    );
    monitoring.alarm({
      name: 'CheckoutPaymentsNeedReview',
      summary:
        'A payment window may have taken money that no subscription records (OID in the return log): a person must check it at Payple.',
      metric: paymentReturn.metric('CheckoutPaymentsNeedReview', { period: five }),
      threshold: 1,
    });
    this.errorsAlarm(
      webhook,
      'WebhookErrors',
      five,
      "Webhook invocations failed as a whole (cold start, secrets, timeout): Payple's notifications are not applied; the reconciler looks outcomes up meanwhile.",
    );
    monitoring.alarm({
      name: 'WebhookContradictions',
      summary:
        'Payple reported an outcome that contradicts a settled payment (money may have moved that we count otherwise): nothing was changed; check Payple.',
      metric: webhook.metric('WebhookContradictions', { period: five }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'WebhookRefundsRefused',
      summary:
        'Payple reported a refund we could not record (beyond the amount, unsettled payment, another key): the ledger and Payple disagree.',
      metric: webhook.metric('WebhookRefundsRefused', { period: five }),
      threshold: 1,
    });
    monitoring.alarm({
      name: 'ApiServerErrorRate',
      summary:
        "At least 5% of HTTP API requests got a 5xx (not counting the checkout closed for the banks' night) in 2 of 3 five-minute periods.",
      metric: this.apiServerErrorRate(checkout, five),
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });

    this.dashboard(billingQueue, billingDeadLetter);
    monitoring.addAlarmStatus();

    new CfnOutput(this, 'AlarmTopicArn', { value: monitoring.topic.topicArn });
    new CfnOutput(this, 'ApiUrl', {
      description: "The HTTP API's generated URL (execute-api)",
      value: this.api.httpApi.apiEndpoint,
    });
    new CfnOutput(this, 'PublicBaseUrl', {
      description: 'Where the functions tell browsers to go (checkout.publicBaseUrl, or ApiUrl)',
      value: this.publicBaseUrl,
    });
    new CfnOutput(this, 'SubscribePageUrl', { value: `${this.publicBaseUrl}/subscribe` });
    new CfnOutput(this, 'WebhookUrlTemplate', {
      description:
        "Register in Payple's partner admin with {secret} replaced by the output of WebhookSecretCommand (docs/deploy.md)",
      value: `${this.publicBaseUrl}/webhooks/payple/{secret}`,
    });
    new CfnOutput(this, 'WebhookSecretCommand', {
      description: 'Prints the webhook path secret (the value never appears in a template or output)',
      value: `aws secretsmanager get-secret-value --region ${Aws.REGION} --secret-id ${resources.webhookPathSecret.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, 'ApiAccessLogGroup', { value: this.api.accessLogs.logGroupName });
    if (this.api.customDomain) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description:
          "Point a DNS record of the public URL's host here (CNAME, or a Route 53 alias with CustomDomainHostedZoneId)",
        value: this.api.customDomain.regionalDomainName,
      });
      new CfnOutput(this, 'CustomDomainHostedZoneId', { value: this.api.customDomain.regionalHostedZoneId });
    }
  }

  /**
   * Percentage of the API's requests answered 5xx per period. The checkout's deliberate 503 during
   * the banks' night (`CheckoutsClosedForMaintenance`) is not an error; Payple being unreachable
   * (503) or refusing us (502) is, as are Lambda failures, timeouts and the webhook's 500.
   */
  private apiServerErrorRate(checkout: BillingFunction, period: Duration): MathExpression {
    const { httpApi } = this.api;
    return new MathExpression({
      label: 'API 5xx (%)',
      period,
      expression: 'IF(requests > 0, 100 * (FILL(errors, 0) - FILL(closed, 0)) / requests, 0)',
      usingMetrics: {
        requests: httpApi.metricCount({ period, statistic: 'Sum' }),
        errors: httpApi.metricServerError({ period, statistic: 'Sum' }),
        closed: checkout.metric('CheckoutsClosedForMaintenance', { period }),
      },
    });
  }

  /**
   * Payple checks the Referer of its server calls and the page that opens its window against the
   * domain registered for the partner (`AUTH0004` live, `AUTH0007` test): pages served on another
   * origin than `payple.referer` fail at the window. Only a warning: the registration is Payple's.
   */
  private warnOnRefererMismatch(config: BillingConfig): void {
    const base = config.checkout.publicBaseUrl;
    if (base === undefined || new URL(base).origin === config.payple.referer) return;
    Annotations.of(this).addWarningV2(
      'payple-billing:refererMismatch',
      `checkout.publicBaseUrl (${new URL(base).origin}) is not payple.referer (${config.payple.referer}): Payple refuses windows opened on a domain that is not registered for the partner (docs/deploy.md)`,
    );
  }

  /**
   * Runs `fn` on the named schedule of lib/resources.ts with `expression` from the configuration;
   * returns the longest gap between two runs (a missed run older than that is superseded).
   */
  private schedule(fn: BillingFunction, name: ScheduleName, expression: string): Duration {
    const definition = schedules[name];
    const gap = longestGap(expression, definition.timeZone);
    fn.runOnSchedule(name, definition, {
      expression,
      deadLetterQueue: this.scheduleDeadLetterQueue,
      period: minDuration(gap, MAX_ALARM_PERIOD),
    });
    return gap;
  }

  /** Alarms when an invocation of `fn` failed as a whole (Lambda's `Errors`) within `period`. */
  private errorsAlarm(fn: BillingFunction, name: string, period: Duration, summary: string): void {
    this.monitoring.alarm({
      name,
      summary,
      metric: fn.function.metricErrors({ period, statistic: 'Sum' }),
      threshold: 1,
    });
  }

  /**
   * Alarms when the function was not invoked at all for twice its schedule's longest gap (capped at
   * a day): a disabled schedule or a broken role otherwise fails silently. Missing data breaches.
   */
  private heartbeat(fn: BillingFunction, name: string, gap: Duration): void {
    if (gap.toSeconds() > MAX_ALARM_PERIOD.toSeconds()) {
      Annotations.of(fn).addWarningV2(
        'payple-billing:noHeartbeat',
        `${name}: the schedule runs less than daily, longer than one CloudWatch alarm period; no heartbeat alarm`,
      );
      return;
    }
    const period = minDuration(Duration.seconds(2 * gap.toSeconds()), MAX_ALARM_PERIOD);
    this.monitoring.alarm({
      name,
      summary: `The ${fn.serviceName} was not invoked for ${period.toHumanString()}: its schedule is not running.`,
      metric: fn.function.metricInvocations({ period, statistic: 'Sum' }),
      threshold: 1,
      when: 'below',
      missingData: TreatMissingData.BREACHING,
    });
  }

  private dashboard(billingQueue: IQueue, billingDeadLetter: IQueue): void {
    const { charger, dispatcher, reconciler } = this.functions;
    const sums = (fn: BillingFunction, names: string[]): IMetric[] =>
      names.map((name) => fn.metric(name, { period: CHARGE_PERIOD, label: name }));
    const five = Duration.minutes(5);
    const all = Object.values(this.functions);
    this.monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'Charge outcomes',
        width: 12,
        left: sums(charger, [
          'ChargesSucceeded',
          'ChargesSoftDeclined',
          'ChargesHardDeclined',
          'ChargeOutcomesUnknown',
          'PaypleConfigurationErrors',
        ]),
      }),
      new GraphWidget({
        title: 'Charge jobs',
        width: 12,
        left: [
          ...sums(dispatcher, ['ChargeJobsEnqueued', 'ChargeJobsNotEnqueued', 'OutboxEventsRelayed']),
          ...sums(charger, ['ChargeJobsSkipped', 'ChargeJobsFailed']),
        ],
      }),
    );
    this.monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'Reconciler',
        width: 12,
        left: sums(reconciler, ['ReconcilerLookups', 'PaymentsReconciled', 'PaymentsNeedingReview']),
        right: sums(reconciler, ['LookupBudgetExhausted', 'PaypleConfigurationErrors', 'UnrecordedPayments']),
      }),
      new GraphWidget({
        title: 'Billing queue',
        width: 12,
        left: [
          billingQueue.metricApproximateNumberOfMessagesVisible({ period: five, label: 'waiting' }),
          billingQueue.metricApproximateNumberOfMessagesNotVisible({ period: five, label: 'in flight' }),
          billingDeadLetter.metricApproximateNumberOfMessagesVisible({ period: five, label: 'dead letters' }),
        ],
        right: [billingQueue.metricApproximateAgeOfOldestMessage({ period: five, label: 'oldest (s)' })],
      }),
    );
    const { checkout, return: paymentReturn, webhook } = this.functions;
    const { httpApi } = this.api;
    this.monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'Browser checkout',
        width: 12,
        left: [
          ...sums(checkout, [
            'SubscribePagesServed',
            'CheckoutSessionsCreated',
            'CheckoutsRefused',
            'CheckoutsClosedForMaintenance',
            'PaypleUnavailable',
            'PaypleConfigurationErrors',
          ]),
          ...sums(paymentReturn, ['CheckoutsCompleted', 'CheckoutsFailed', 'CheckoutPaymentsNeedReview']),
        ],
      }),
      new GraphWidget({
        title: 'Payple webhook',
        width: 12,
        left: sums(webhook, [
          'WebhookPaymentsSettled',
          'WebhookDuplicates',
          'WebhookLookupsScheduled',
          'WebhookRefundsRecorded',
          'WebhookKeyTerminations',
          'WebhooksAcknowledged',
          'WebhooksRejected',
          'WebhookUnrecordedPayments',
        ]),
        right: sums(webhook, ['WebhookContradictions', 'WebhookRefundsRefused']),
      }),
    );
    this.monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'HTTP API',
        width: 24,
        left: [
          httpApi.metricCount({ period: five, statistic: 'Sum', label: 'requests' }),
          httpApi.metricClientError({ period: five, statistic: 'Sum', label: '4xx (429: throttled)' }),
          httpApi.metricServerError({ period: five, statistic: 'Sum', label: '5xx' }),
        ],
        right: [
          httpApi.metricLatency({ period: five, statistic: 'p99', label: 'latency p99 (ms)' }),
          httpApi.metricIntegrationLatency({ period: five, statistic: 'p99', label: 'integration p99 (ms)' }),
        ],
      }),
    );
    this.monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'Functions',
        width: 24,
        left: all.flatMap((fn) => [
          fn.function.metricInvocations({ period: five, label: `${fn.serviceName} invocations` }),
          fn.function.metricErrors({ period: five, label: `${fn.serviceName} errors` }),
          fn.function.metricThrottles({ period: five, label: `${fn.serviceName} throttles` }),
        ]),
        right: all.map((fn) =>
          fn.function.metricDuration({ period: five, statistic: 'p99', label: `${fn.serviceName} p99 (ms)` }),
        ),
      }),
    );
  }
}

function minDuration(a: Duration, b: Duration): Duration {
  return a.toSeconds() <= b.toSeconds() ? a : b;
}
