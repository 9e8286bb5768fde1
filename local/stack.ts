/**
 * The whole system on one machine: DynamoDB Local, the SQS emulator, the Payple sandbox, the HTTP
 * gateway and the schedule clock, with tables and queues created from `lib/resources.ts`.
 * `npm start` runs it; end-to-end tests start it in-process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createQueues, createTables, type LocalQueues, type TableNames } from './aws/create-resources.ts';
import { startDynamoDbLocal, startSqsEmulator } from './aws/emulators.ts';
import { startLocalEventBus, type LocalEventBus } from './aws/event-bus.ts';
import { startHttpGateway, type GatewayRoute, type RunningHttpGateway } from './aws/http-gateway.ts';
import { startLocalBilling, type LocalBilling, type LocalBillingOptions } from './billing.ts';
import { checkoutRoutes } from './edge-checkout.ts';
import { webhookRoutes, webhookUrl } from './edge-webhook.ts';
import { LocalClock } from './clock.ts';
import { startPaypleSandbox, type RunningPaypleSandbox } from './payple-sandbox/index.ts';

export interface LocalStackOptions {
  /** Gateway port; 0 = a free one. */
  readonly port?: number;
  readonly sandboxPort?: number;
  readonly dynamoDbPort?: number;
  readonly sqsPort?: number;
  /** Keep DynamoDB and SQS state here between runs; in memory when omitted. */
  readonly dataDir?: string;
  /** Where the clock starts; the wall clock when omitted. */
  readonly startAt?: number;
  /** `running` follows the wall clock (npm start); `frozen` moves only when told (tests). */
  readonly clockMode?: 'running' | 'frozen';
  /** Prefix of table and queue names. */
  readonly resourcePrefix?: string;
  /** Use these running emulators instead of starting new ones (tests share one per run). */
  readonly emulators?: { readonly dynamoEndpoint: string; readonly sqsEndpoint: string };
  /** Log level of the functions' structured logs. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Poll the billing queue continuously (npm start) instead of only when the clock fires. */
  readonly pollContinuously?: boolean;
  /**
   * Let the sandbox post its webhooks to the gateway, as Payple does (default). Tests of the
   * charger and reconciler turn it off to see what happens when every webhook is lost.
   */
  readonly deliverWebhooks?: boolean;
  /** Overrides for tests: Payple client timeouts, dunning, month guard. */
  readonly billing?: Pick<
    LocalBillingOptions,
    'paypleTimeouts' | 'dunningPolicy' | 'useMonthGuard' | 'reconcile'
  >;
}

export interface LocalStack {
  readonly gatewayUrl: string;
  readonly sandbox: RunningPaypleSandbox;
  readonly clock: LocalClock;
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tables: TableNames;
  readonly queues: LocalQueues;
  readonly eventBus: LocalEventBus;
  readonly billing: LocalBilling;
  /** Where the sandbox posts webhooks when they are delivered (`deliverWebhooks`). */
  readonly webhookUrl: string;
  stop(): Promise<void>;
}

/** Region and credentials the emulators accept; nothing local can reach AWS with them. */
export const LOCAL_AWS = {
  region: 'ap-northeast-2',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

async function startEmulators(
  options: LocalStackOptions,
  stops: (() => Promise<void>)[],
): Promise<{ dynamoEndpoint: string; sqsEndpoint: string }> {
  const dataDir = options.dataDir;
  const [dynamoLocal, sqsEmulator] = await Promise.all([
    startDynamoDbLocal({
      ...(options.dynamoDbPort ? { port: options.dynamoDbPort } : {}),
      ...(dataDir ? { dataDir: join(dataDir, 'dynamodb') } : {}),
    }),
    startSqsEmulator({
      ...(options.sqsPort ? { port: options.sqsPort } : {}),
      ...(dataDir ? { dataDir: join(dataDir, 'sqs') } : {}),
    }),
  ]);
  stops.push(
    () => dynamoLocal.stop(),
    () => sqsEmulator.stop(),
  );
  return { dynamoEndpoint: dynamoLocal.endpoint, sqsEndpoint: sqsEmulator.endpoint };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const dataDir = options.dataDir;
    if (dataDir) {
      mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
      mkdirSync(join(dataDir, 'sqs'), { recursive: true });
    }
    const endpoints = options.emulators ?? (await startEmulators(options, stops));
    const dynamo = new DynamoDBClient({ ...LOCAL_AWS, endpoint: endpoints.dynamoEndpoint });
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: endpoints.sqsEndpoint });
    const prefix = options.resourcePrefix ?? 'local';
    const [tables, queues] = await Promise.all([createTables(dynamo, prefix), createQueues(sqs, prefix)]);

    const clock = new LocalClock({
      mode: options.clockMode ?? 'running',
      ...(options.startAt === undefined ? {} : { start: options.startAt }),
    });
    stops.push(() => clock.stop());

    const sandbox = await startPaypleSandbox({ port: options.sandboxPort ?? 0, clock });
    stops.push(() => sandbox.stop());

    const eventBus = await startLocalEventBus();
    stops.push(() => eventBus.stop());

    const billing = await startLocalBilling({
      dynamo,
      sqs,
      tables,
      queues,
      eventBusEndpoint: eventBus.endpoint,
      paypleHost: sandbox.url,
      clock,
      ...LOCAL_AWS,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.pollContinuously === undefined ? {} : { pollContinuously: options.pollContinuously }),
      ...options.billing,
    });
    stops.push(() => billing.stop());

    let gatewayUrl = '';
    // Deployed, Secrets Manager generates it; locally every start gets its own.
    const webhookPathSecret = randomBytes(32).toString('base64url');
    const routes: GatewayRoute[] = [
      ...checkoutRoutes({
        dynamo,
        sqs,
        tables,
        queues,
        billing,
        paypleHost: sandbox.url,
        clock,
        publicBaseUrl: () => gatewayUrl,
        ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      }),
      ...webhookRoutes({
        store: billing.store,
        publisher: billing.publisher,
        now: clock.now,
        pathSecret: webhookPathSecret,
        ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      }),
    ];
    const gateway: RunningHttpGateway = await startHttpGateway({ routes, port: options.port ?? 0 });
    gatewayUrl = gateway.url;
    stops.push(() => gateway.stop());
    // What Payple's partner admin holds deployed: where to send every result.
    if (options.deliverWebhooks ?? true)
      sandbox.admin.setWebhookUrl(webhookUrl(gateway.url, webhookPathSecret));

    return {
      gatewayUrl: gateway.url,
      sandbox,
      clock,
      dynamo,
      sqs,
      dynamoEndpoint: endpoints.dynamoEndpoint,
      sqsEndpoint: endpoints.sqsEndpoint,
      tables,
      queues,
      eventBus,
      billing,
      webhookUrl: webhookUrl(gateway.url, webhookPathSecret),
      stop: async () => {
        dynamo.destroy();
        sqs.destroy();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
