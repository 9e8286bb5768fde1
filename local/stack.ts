/**
 * The whole system on one machine: DynamoDB Local, the SQS emulator, the Payple sandbox, the HTTP
 * gateway and the schedule clock, with tables and queues created from `lib/resources.ts`, and the
 * local console under `/__local` (local/console/README.md). `npm start` runs it; end-to-end tests
 * start it in-process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createQueues, createTables, type LocalQueues, type TableNames } from './aws/create-resources.ts';
import { freePort, startDynamoDbLocal, startSqsEmulator } from './aws/emulators.ts';
import { startLocalEventBus, type LocalEventBus } from './aws/event-bus.ts';
import { startHttpGateway, type GatewayRoute, type RunningHttpGateway } from './aws/http-gateway.ts';
import { paypleHosts } from '../functions/payple/hosts.ts';
import { LOCAL_REFERER, startLocalBilling, type LocalBilling, type LocalBillingOptions } from './billing.ts';
import { consoleRoutes } from './console/routes.ts';
import type { PaypleConnection } from './console/state.ts';
import { TimeTravel } from './console/time-travel.ts';
import { checkoutRoutes } from './edge-checkout.ts';
import { webhookRoutes, webhookUrl } from './edge-webhook.ts';
import { LocalClock } from './clock.ts';
import { startPaypleSandbox, type RunningPaypleSandbox } from './payple-sandbox/index.ts';
import { readSavedState, resumeClockAt, writeSavedState } from './saved-state.ts';

export interface LocalStackOptions {
  /** Gateway port; 0 = a free one. */
  readonly port?: number;
  readonly sandboxPort?: number;
  readonly dynamoDbPort?: number;
  readonly sqsPort?: number;
  /**
   * Keep state here between runs: DynamoDB's and SQS's, the sandbox's billing keys and charges, and
   * how far the clock had travelled. In memory when omitted.
   */
  readonly dataDir?: string;
  /** Where the clock starts; the wall clock (or where a data folder's clock stopped) when omitted. */
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
  /**
   * Which Payple the functions call: the embedded sandbox (default), or Payple's test host
   * (`PAYPLE_ENV=demo`, needs the internet; see `paypleConnection`).
   */
  readonly payple?: PaypleMode;
  /** Overrides for tests: Payple client timeouts, dunning, month guard. */
  readonly billing?: Pick<
    LocalBillingOptions,
    'paypleTimeouts' | 'dunningPolicy' | 'useMonthGuard' | 'reconcile'
  >;
}

export interface LocalStack {
  readonly gatewayUrl: string;
  /** The local console: `${gatewayUrl}/__local`. */
  readonly consoleUrl: string;
  /** Where the functions send their Payple calls. */
  readonly payple: PaypleConnection;
  /** Always running; Payple itself only when `payple` is `sandbox`. */
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
  /** Moves the clock as the console does (retried charge jobs are not left waiting on real time). */
  readonly timeTravel: TimeTravel;
  stop(): Promise<void>;
}

export type PaypleMode = 'sandbox' | 'demo';

/** `PAYPLE_ENV`: unset or `sandbox` → the embedded sandbox; `demo` → Payple's test host. */
export function parsePaypleMode(value: string | undefined): PaypleMode {
  if (value === undefined || value === '' || value === 'sandbox') return 'sandbox';
  if (value === 'demo') return 'demo';
  throw new RangeError(
    `PAYPLE_ENV must be "sandbox" (default) or "demo" (Payple's test host), not "${value}"; ` +
      'live Payple is for a deployed stack only (docs/deploy.md)',
  );
}

/**
 * Host and Referer of the Payple the functions call. The sandbox accepts `LOCAL_REFERER`; Payple's
 * test host wants the Referer to be the site that opens the payment window (AUTH0007 otherwise),
 * which locally is the gateway's origin, and it may refuse localhost and 127.0.0.1 altogether. The
 * credentials are the same either way: the sandbox's default partner is Payple's shared test partner.
 */
export function paypleConnection(
  mode: PaypleMode,
  sandboxUrl: string,
  gatewayOrigin: string,
): PaypleConnection & { readonly referer: string } {
  return mode === 'demo'
    ? { mode, host: paypleHosts.test, referer: gatewayOrigin }
    : { mode, host: sandboxUrl, referer: LOCAL_REFERER };
}

/** How often a data folder's sandbox and clock are saved while the stack runs. */
const SAVE_EVERY_MS = 5_000;

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

    const saved = dataDir ? readSavedState(dataDir) : undefined;
    const startAt = options.startAt ?? (saved ? resumeClockAt(saved, Date.now()) : undefined);
    const clock: LocalClock = new LocalClock({
      mode: options.clockMode ?? 'running',
      ...(startAt === undefined ? {} : { start: startAt }),
      // Runs only after the constructor, once `timeTravel` exists.
      settle: (): Promise<void> => timeTravel.settle(),
    });
    const timeTravel: TimeTravel = new TimeTravel(clock);
    stops.push(() => clock.stop());

    const sandbox = await startPaypleSandbox({ port: options.sandboxPort ?? 0, clock });
    stops.push(() => sandbox.stop());
    if (saved) sandbox.restore(saved.sandbox);
    if (dataDir) {
      let last = '';
      const save = (force: boolean) => {
        const snapshot = sandbox.snapshot();
        // Seconds ahead of this machine's clock: changes only when the clock travels (running mode).
        const change = `${Math.round((clock.now() - Date.now()) / 1000)}\n${JSON.stringify(snapshot)}`;
        if (!force && change === last) return;
        writeSavedState(dataDir, {
          version: 1,
          clockAt: clock.now(),
          savedAt: Date.now(),
          sandbox: snapshot,
        });
        last = change;
      };
      // A full disk must not stop the stack, nor keep the stops after this one from running.
      const trySave = (force: boolean) => {
        try {
          save(force);
        } catch (error) {
          console.warn('could not save the local state:', error);
        }
      };
      const timer = setInterval(() => trySave(false), SAVE_EVERY_MS);
      timer.unref();
      // Runs after the gateway and the billing functions stopped (stops run in reverse).
      stops.push(async () => {
        clearInterval(timer);
        await clock.stop();
        trySave(true);
      });
    }

    const paypleMode = options.payple ?? 'sandbox';
    // Payple's test host checks the Referer against the page's origin: know the port before the
    // functions are built.
    const gatewayPort = paypleMode === 'demo' && !options.port ? await freePort() : (options.port ?? 0);
    const payple = paypleConnection(paypleMode, sandbox.url, `http://127.0.0.1:${gatewayPort}`);

    const eventBus = await startLocalEventBus();
    stops.push(() => eventBus.stop());

    const billing = await startLocalBilling({
      dynamo,
      sqs,
      tables,
      queues,
      eventBusEndpoint: eventBus.endpoint,
      paypleHost: payple.host,
      paypleReferer: payple.referer,
      clock,
      ...LOCAL_AWS,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.pollContinuously === undefined ? {} : { pollContinuously: options.pollContinuously }),
      ...options.billing,
    });
    stops.push(() => billing.stop());
    timeTravel.attachPoller(billing.poller);

    // The return and the webhook settle payments too: they apply the charger's dunning policy.
    const dunning = options.billing?.dunningPolicy ? { dunningPolicy: options.billing.dunningPolicy } : {};
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
        paypleHost: payple.host,
        paypleReferer: payple.referer,
        clock,
        publicBaseUrl: () => gatewayUrl,
        ...dunning,
        ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      }),
      ...webhookRoutes({
        store: billing.store,
        publisher: billing.publisher,
        now: clock.now,
        pathSecret: webhookPathSecret,
        unrecordedPayments: billing.unrecordedPayments,
        ...dunning,
        ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      }),
      ...consoleRoutes({
        dynamo,
        tables,
        clock,
        events: () => eventBus.events(),
        sandbox: payple.mode === 'sandbox' ? sandbox.admin : undefined,
        payple: { mode: payple.mode, host: payple.host },
        store: billing.store,
        operate: (command) => billing.operate(command),
        timeTravel,
      }),
    ];
    const gateway: RunningHttpGateway = await startHttpGateway({ routes, port: gatewayPort });
    gatewayUrl = gateway.url;
    stops.push(() => gateway.stop());
    // What Payple's partner admin holds deployed: where to send every result.
    if ((options.deliverWebhooks ?? true) && payple.mode === 'sandbox')
      sandbox.admin.setWebhookUrl(webhookUrl(gateway.url, webhookPathSecret));

    return {
      gatewayUrl: gateway.url,
      consoleUrl: `${gateway.url}/__local`,
      payple: { mode: payple.mode, host: payple.host },
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
      timeTravel,
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
