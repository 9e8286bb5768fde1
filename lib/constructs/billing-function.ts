import { Duration, Stack, TimeZone, Validations, type CfnElement } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import type { ScheduleDefinition, tables, TableName } from '../resources.ts';

/** The project root: function entries are given relative to it (`functions/<name>/handler.ts`). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Lets an ESM bundle load the CommonJS modules that call `require` (some AWS SDK and Powertools
 * dependencies do); esbuild cannot rewrite a dynamic `require` into an `import`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** DynamoDB actions a function may be granted on a table's items. */
export type TableItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'ConditionCheckItem'
  | 'BatchWriteItem'
  | 'Query'
  | 'Scan';

type IndexName = (typeof tables)[TableName]['globalIndexes'][number]['indexName'];

/**
 * Exactly what a function does with a table. A transaction needs the action of each of its parts
 * (`TransactWriteItems` with a conditional Put is `PutItem`); there is no IAM action of its own.
 * Both lists empty: the function only needs the table's name (it builds an adapter that never
 * touches that table).
 */
export interface TableAccess {
  readonly items?: readonly TableItemAction[];
  readonly indexes?: Partial<Record<IndexName, readonly ('Query' | 'Scan')[]>>;
}

export interface BillingFunctionProps {
  /**
   * The function's folder under `functions/` and its Powertools service name: metrics are read
   * back with the dimension `service=<name>` (`createMetrics('<name>')` in the handler).
   */
  readonly name: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly logRetention: RetentionDays;
  /** @default 512 MB: also buys CPU for cold starts (bundle parse) and TLS to Payple. */
  readonly memorySize?: number;
  /**
   * Retries Lambda makes of an asynchronous (scheduled) invocation that failed.
   * @default 2 (Lambda's own default)
   */
  readonly asyncRetryAttempts?: number;
}

/**
 * The house construct for a Lambda function of this engine: Node.js 24 on arm64, one minified
 * ESM bundle per function (AWS SDK included, so the deployed code runs the SDK version the tests
 * ran), source maps, its own log group with a retention, active tracing, and a role that starts
 * with nothing but writing to that log group.
 *
 * Every `use*` helper sets the environment variable the handler reads AND grants exactly the
 * actions it needs on that one resource, so a variable can never exist without its permission or
 * a permission without a reason.
 */
export class BillingFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly serviceName: string;
  /** Source file of the bundle, relative to the project root. */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: BillingFunctionProps) {
    super(scope, id);
    this.serviceName = props.name;
    this.entry = `functions/${props.name}/handler.ts`;

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.name}: its log group plus the grants of its use* helpers`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group of the account).
    this.logGroup.grantWrite(this.role);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray only grants on "*" (no resource-level permissions). Every other statement names its resource; test/infra/iam.test.ts asserts the exact set.',
    });

    this.function = new NodejsFunction(this, 'Function', {
      description: props.description,
      entry: `${PROJECT_ROOT}${this.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      ...(props.asyncRetryAttempts === undefined ? {} : { retryAttempts: props.asyncRetryAttempts }),
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
  }

  /** Sets `variable` to the table's name and grants `access` on it (and on the named indexes). */
  useTable(variable: string, table: ITableV2, access: TableAccess): this {
    this.function.addEnvironment(variable, table.tableName);
    const items = access.items ?? [];
    if (items.length > 0) {
      this.allow(
        items.map((action) => `dynamodb:${action}`),
        [table.tableArn],
      );
    }
    for (const [indexName, actions] of Object.entries(access.indexes ?? {})) {
      if (actions.length === 0) continue;
      this.allow(
        actions.map((action) => `dynamodb:${action}`),
        [`${table.tableArn}/index/${indexName}`],
      );
    }
    return this;
  }

  /**
   * Sets `variable` to the queue's URL and allows sending to it (`SendMessageBatch` included).
   * Consuming a queue is a trigger instead: {@link consumeQueue}.
   */
  useQueue(variable: string, queue: IQueue): this {
    this.function.addEnvironment(variable, queue.queueUrl);
    this.allow(['sqs:SendMessage'], [queue.queueArn]);
    return this;
  }

  /** Sets `variable` to the bus's name and allows putting events on it. */
  useEventBus(variable: string, bus: IEventBus): this {
    this.function.addEnvironment(variable, bus.eventBusName);
    this.allow(['events:PutEvents'], [bus.eventBusArn]);
    return this;
  }

  /**
   * Sets `variable` to the secret's ARN (never its value) and allows reading that one secret. It
   * must be encrypted with the account's `aws/secretsmanager` key: a customer managed key would
   * need a `kms:Decrypt` grant too.
   */
  useSecret(variable: string, secret: ISecret): this {
    this.function.addEnvironment(variable, secret.secretArn);
    this.allow(['secretsmanager:GetSecretValue'], [secret.secretArn]);
    return this;
  }

  /** Plain settings (no resource behind them), e.g. the Payple host. */
  useSettings(settings: Readonly<Record<string, string>>): this {
    for (const [name, value] of Object.entries(settings)) this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * Consumes `queue` with partial batch responses: the handler reports the records it could not
   * process (Powertools `processPartialResponse`), so one bad record does not redeliver the batch.
   * `maxConcurrency` caps the invocations the queue may run at once (and so the calls to Payple)
   * without reserved concurrency's throttling, which would push messages toward the DLQ.
   */
  consumeQueue(
    queue: IQueue,
    options: { readonly batchSize: number; readonly maxConcurrency: number },
  ): this {
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        maxConcurrency: options.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    return this;
  }

  /**
   * Invokes the function on `definition`'s schedule (its expression unless `expression` overrides
   * it, always in the definition's time zone) with `{scheduleName, scheduledTime}`, the event the
   * local clock sends too. Invocations Scheduler could not deliver after its retries go to
   * `deadLetterQueue`.
   */
  runOnSchedule(
    scheduleName: string,
    definition: ScheduleDefinition,
    options: { readonly expression?: string; readonly deadLetterQueue: IQueue; readonly period: Duration },
  ): Schedule {
    const stack = Stack.of(this);
    // The role Scheduler assumes, trusted only for this account's default schedule group (the
    // conditions CDK's own target role carries).
    const role = new Role(this, `${definition.id}Role`, {
      description: `EventBridge Scheduler invokes ${this.serviceName}`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    const functionLogicalId = stack.getLogicalId(this.function.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason:
        "CDK's LambdaInvoke target grants lambda:InvokeFunction on the function and its qualified ARNs (function:*): one function, no other.",
    });
    return new Schedule(this, definition.id, {
      description: `${scheduleName}: ${options.expression ?? definition.expression} (${definition.timeZone})`,
      schedule: ScheduleExpression.expression(
        options.expression ?? definition.expression,
        TimeZone.of(definition.timeZone),
      ),
      target: new LambdaInvoke(this.function, {
        role,
        input: ScheduleTargetInput.fromObject({
          scheduleName,
          scheduledTime: ContextAttribute.scheduledTime,
        }),
        deadLetterQueue: options.deadLetterQueue,
        retryAttempts: 3,
        // An invocation older than one period is superseded by the next run.
        maxEventAge: options.period,
      }),
    });
  }

  /** A metric the function publishes through Powertools (namespace `PaypleBilling`, `service` dimension). */
  metric(metricName: string, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: 'Sum',
      ...options,
    });
  }

  private allow(actions: string[], resources: string[]): void {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
  }
}
