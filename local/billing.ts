/**
 * The billing functions wired as they are deployed, but against the local engines: the charger
 * behind an SQS poller on the billing queue, the dispatcher on the clock's schedule, Payple as the
 * sandbox, EventBridge as the local bus. Only the wiring differs from `functions/<name>/handler.ts`:
 * the handlers, use cases and adapters are the same code.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CHARGER_TIMEOUT_SECONDS, schedules } from '../lib/resources.ts';
import type { DunningPolicy } from '../functions/billing/index.ts';
import { createChargerHandler } from '../functions/charger/charger.ts';
import { createDispatcherHandler } from '../functions/dispatcher/dispatcher.ts';
import { createReconcilerHandler } from '../functions/reconciler/reconciler.ts';
import { billingSettings, type BillingSettings } from '../functions/shared/billing-config.ts';
import { createOperationsHandler, type OperationsResponse } from '../functions/operations/operations.ts';
import {
  NOT_FOUND_LOOKUP_CODES,
  reconcileSettings,
  type ReconcileSettings,
} from '../functions/shared/reconcile-config.ts';
import { DynamoLookupBudget } from '../functions/store/lookup-budget.ts';
import { DynamoUnrecordedPaymentReports } from '../functions/store/unrecorded-payment-reports.ts';
import type { ReconcilerRunReport } from '../functions/reconciler/reconciler.ts';
import { OutboxPublisher } from '../functions/events/outbox-publisher.ts';
import { PaypleClient } from '../functions/payple/index.ts';
import { SqsJobQueue } from '../functions/queue/sqs-job-queue.ts';
import { METRICS_NAMESPACE } from '../functions/shared/observability.ts';
import { documentClient, DynamoBillingStore } from '../functions/store/dynamo-billing-store.ts';
import type { LocalQueues, TableNames } from './aws/create-resources.ts';
import { createLambdaContext } from './aws/lambda-context.ts';
import { startSqsPoller, type SqsPoller } from './aws/sqs-poller.ts';
import type { LocalClock } from './clock.ts';
import { defaultPartner } from './payple-sandbox/index.ts';

export const LOCAL_EVENT_BUS_NAME = 'payple-billing-local';
/** The sandbox accepts http://localhost and http://127.0.0.1 as the partner's registered domain. */
export const LOCAL_REFERER = 'http://localhost';

/**
 * The settings the deployed functions read from their environment (`billingSettings`), read from
 * the environment they would have locally: the same defaults (charging timeout, first lookup delay,
 * dunning, month guard) without a second copy of them here.
 */
export function localBillingSettings(tables: TableNames): BillingSettings {
  return billingSettings({
    SUBSCRIPTIONS_TABLE: tables.subscriptions,
    PAYMENTS_TABLE: tables.payments,
    OUTBOX_TABLE: tables.outbox,
    EVENT_BUS_NAME: LOCAL_EVENT_BUS_NAME,
  });
}

export interface LocalBillingOptions {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tables: TableNames;
  readonly queues: LocalQueues;
  readonly eventBusEndpoint: string;
  readonly paypleHost: string;
  /** The Referer sent to Payple; `LOCAL_REFERER` (what the sandbox accepts) when omitted. */
  readonly paypleReferer?: string;
  readonly clock: LocalClock;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Log level of the functions' structured logs; `WARN` keeps a terminal readable. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  readonly dunningPolicy?: DunningPolicy;
  readonly useMonthGuard?: boolean;
  /** Payple client timeouts; tests shorten them to exercise "no answer" quickly. */
  readonly paypleTimeouts?: {
    readonly authMs?: number;
    readonly chargeMs?: number;
    readonly lookupMs?: number;
  };
  /** Poll the billing queue continuously (npm start) or only when drained (tests, time travel). */
  readonly pollContinuously?: boolean;
  /** Reconciler settings; the deployed defaults when omitted. */
  readonly reconcile?: Partial<ReconcileSettings>;
}

export interface LocalBilling {
  readonly store: DynamoBillingStore;
  readonly publisher: OutboxPublisher;
  readonly poller: SqsPoller;
  readonly charger: ReturnType<typeof createChargerHandler>;
  readonly budget: DynamoLookupBudget;
  /** Successes the webhook reported for OIDs without a payment record. */
  readonly unrecordedPayments: DynamoUnrecordedPaymentReports;
  /** Runs the dispatcher once, as its schedule would. */
  dispatch(): Promise<unknown>;
  /** Runs the reconciler once, as its schedule would. */
  reconcile(): Promise<ReconcilerRunReport>;
  /** Runs one operations command, as `aws lambda invoke` on the operations function would. */
  operate(command: unknown): Promise<OperationsResponse>;
  /** Charges everything in the billing queue now. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** Remembers whether any report may exist, so idle reconciler runs can still be skipped. */
class IdleAwareReports extends DynamoUnrecordedPaymentReports {
  /** True until a read finds none (a restarted stack may find some in its saved data). */
  mayHaveReports = true;

  override async record(...args: Parameters<DynamoUnrecordedPaymentReports['record']>) {
    this.mayHaveReports = true;
    return super.record(...args);
  }

  override async list() {
    const reports = await super.list();
    this.mayHaveReports = reports.length > 0;
    return reports;
  }
}

/**
 * Locally the schedules fire every few minutes of simulated time, and time travel turns a month
 * into thousands of runs. A run that would find nothing changes nothing, so this store remembers
 * when the earliest due entry and the earliest unsettled payment are (reading them again after any
 * commit or lease, the only writes that move them) and lets those runs be skipped.
 * Deployed functions do not use it.
 */
class IdleAwareStore extends DynamoBillingStore {
  #earliestDue: number | undefined | null = null;
  #earliestUnsettled: number | undefined | null = null;
  /** Set when events stayed in the outbox: the next dispatcher run must relay them. */
  outboxDirty = false;

  override async commit(...args: Parameters<DynamoBillingStore['commit']>) {
    this.#forget();
    return super.commit(...args);
  }

  override async lease(...args: Parameters<DynamoBillingStore['lease']>) {
    this.#forget();
    return super.lease(...args);
  }

  #forget(): void {
    this.#earliestDue = null;
    this.#earliestUnsettled = null;
  }

  async mayHaveDueWork(now: number): Promise<boolean> {
    if (this.outboxDirty) return true;
    if (this.#earliestDue === null) this.#earliestDue = await this.earliestDueAt();
    const due = this.#earliestDue !== undefined && this.#earliestDue <= now;
    // A run changes dueAt (leases), so read again after it.
    if (due) this.#earliestDue = null;
    return due;
  }

  async mayHaveUnsettledWork(now: number): Promise<boolean> {
    if (this.#earliestUnsettled === null) this.#earliestUnsettled = await this.earliestUnsettledAt();
    const due = this.#earliestUnsettled !== undefined && this.#earliestUnsettled <= now;
    if (due) this.#earliestUnsettled = null;
    return due;
  }
}

export async function startLocalBilling(options: LocalBillingOptions): Promise<LocalBilling> {
  const logger = new Logger({ serviceName: 'local', logLevel: options.logLevel ?? 'WARN' });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'local' });
  const now = options.clock.now;
  const settings = localBillingSettings(options.tables);
  const { tables } = settings;
  const dunningPolicy = options.dunningPolicy ?? settings.dunningPolicy;
  const store = new IdleAwareStore(options.dynamo, tables);
  const publisher = new OutboxPublisher({
    eventBridge: new EventBridgeClient({
      endpoint: options.eventBusEndpoint,
      region: options.region,
      credentials: options.credentials,
    }),
    eventBusName: settings.eventBusName,
    documents: documentClient(options.dynamo),
    outboxTable: tables.outbox,
    onFailure: (eventIds) => {
      store.outboxDirty = true;
      logger.warn('events left in the outbox', { eventIds });
    },
  });
  const payple = new PaypleClient({
    host: options.paypleHost,
    cstId: defaultPartner.cstId,
    custKey: defaultPartner.custKey,
    refundKey: defaultPartner.refundKey,
    referer: options.paypleReferer ?? LOCAL_REFERER,
    clock: options.clock,
    logger,
    ...(options.paypleTimeouts ? { timeouts: options.paypleTimeouts } : {}),
  });

  const charger = createChargerHandler({
    store,
    publisher,
    payple,
    now,
    dunningPolicy,
    useMonthGuard: options.useMonthGuard ?? settings.useMonthGuard,
    chargingTimeoutMs: settings.chargingTimeoutMs,
    firstLookupDelayMs: settings.firstLookupDelayMs,
    logger,
    metrics,
  });
  const dispatcher = createDispatcherHandler({
    dueIndex: store,
    queue: new SqsJobQueue(options.sqs, options.queues.billing.url),
    leaseMs: 30 * 60_000,
    relayOutbox: (at) => publisher.relay(at, 60_000),
    now,
    logger,
    metrics,
  });

  const reconcile = { ...reconcileSettings({}), ...options.reconcile };
  const budget = new DynamoLookupBudget({
    documents: documentClient(options.dynamo),
    table: options.tables.control,
    perTenMinutes: reconcile.lookupBudgetPerTenMinutes,
  });
  const unrecordedPayments = new IdleAwareReports(documentClient(options.dynamo), options.tables.control);
  const reconciler = createReconcilerHandler({
    store,
    index: store,
    publisher,
    dunningPolicy,
    budget,
    payple,
    now,
    backoffMs: reconcile.backoffMs,
    notFoundGraceMs: reconcile.notFoundGraceMs,
    notFoundCodes: NOT_FOUND_LOOKUP_CODES,
    leaseMs: 10 * 60_000,
    maxPayments: reconcile.maxPaymentsPerRun,
    unrecordedPayments,
    logger,
    metrics,
  });

  const operations = createOperationsHandler({
    store,
    held: store,
    publisher,
    payple,
    dunningPolicy,
    unrecordedPayments,
    now,
    logger,
    metrics,
  });

  const poller = await startSqsPoller({
    sqs: options.sqs,
    queueUrl: options.queues.billing.url,
    queueArn: options.queues.billing.arn,
    handler: charger,
    functionName: 'charger',
    timeoutMs: CHARGER_TIMEOUT_SECONDS * 1000,
    autoStart: options.pollContinuously ?? false,
  });

  const dispatch = () =>
    dispatcher(
      { scheduleName: 'dispatcher' },
      createLambdaContext({ functionName: 'dispatcher', timeoutMs: 60_000 }),
    );
  const schedule = options.clock.schedule({
    name: 'dispatcher',
    expression: schedules.dispatcher.expression,
    timeZone: schedules.dispatcher.timeZone,
    handler: async () => {
      if (!(await store.mayHaveDueWork(now()))) return;
      store.outboxDirty = false;
      await dispatch();
      // What the dispatcher enqueued is charged "at the same time" even while the clock travels.
      await poller.drain();
    },
  });

  const runReconciler = () =>
    reconciler(
      { scheduleName: 'reconciler' },
      createLambdaContext({ functionName: 'reconciler', timeoutMs: 15 * 60_000 }),
    );
  const reconcileSchedule = options.clock.schedule({
    name: 'reconciler',
    expression: schedules.reconciler.expression,
    timeZone: schedules.reconciler.timeZone,
    handler: async () => {
      if (!unrecordedPayments.mayHaveReports && !(await store.mayHaveUnsettledWork(now()))) return;
      await runReconciler();
      // A not-charged attempt is due again at once: the next dispatcher run enqueues it.
    },
  });

  return {
    store,
    publisher,
    poller,
    charger,
    budget,
    unrecordedPayments,
    dispatch,
    reconcile: runReconciler,
    operate: (command) =>
      operations(command, createLambdaContext({ functionName: 'operations', timeoutMs: 5 * 60_000 })),
    drain: async () => {
      await poller.drain();
    },
    stop: async () => {
      schedule.cancel();
      reconcileSchedule.cancel();
      await poller.stop();
    },
  };
}
