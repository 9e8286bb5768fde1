/**
 * The one definition of every table, queue and schedule, shared by the CDK stacks (deployed) and the
 * local stack (DynamoDB Local, fauxqs, the local clock), so the two cannot drift.
 *
 * This module imports nothing from the CDK or the AWS SDK on purpose: the local stack and the Lambda
 * code read it without pulling either in.
 */

/** DynamoDB attribute types as the CreateTable API spells them. */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attributes copied into the index besides the keys; `ALL` when omitted, keys only when empty. */
  readonly nonKeyAttributes?: readonly string[];
}

export interface TableDefinition {
  /** Logical id in the CDK stack and suffix of the local table name. */
  readonly id: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry that DynamoDB deletes after. */
  readonly timeToLiveAttribute?: string;
}

/**
 * Due subscriptions are spread over this many index partitions so a million subscriptions due at
 * the same minute do not all land on one partition key (DynamoDB's 1,000 WCU / 3,000 RCU per
 * partition limit).
 */
export const DUE_INDEX_SHARDS = 16;
/** Same spreading for payments waiting for the reconciler. */
export const RECONCILE_INDEX_SHARDS = 8;

export const tables = {
  /**
   * One item per subscription. `dueShard`/`dueAt` are present only while an attempt is scheduled
   * (a sparse index), so the dispatcher reads nothing but due work, and the index carries the
   * attempt it would enqueue.
   */
  subscriptions: {
    id: 'Subscriptions',
    partitionKey: { name: 'subscriptionId', type: 'S' },
    globalIndexes: [
      {
        indexName: 'due',
        partitionKey: { name: 'dueShard', type: 'N' },
        sortKey: { name: 'dueAt', type: 'N' },
        nonKeyAttributes: ['duePeriod', 'dueAttempt', 'version'],
      },
      {
        // Payple's webhook names a billing key, not a subscription (e.g. a key terminated in its admin).
        indexName: 'byBillingKey',
        partitionKey: { name: 'billingKey', type: 'S' },
        nonKeyAttributes: [],
      },
    ],
  },
  /**
   * One item per charge attempt, keyed by the PCD_PAY_OID we sent. `reconcileShard`/`reconcileAt`
   * are present only while the outcome is not definitely known.
   */
  payments: {
    id: 'Payments',
    partitionKey: { name: 'oid', type: 'S' },
    globalIndexes: [
      {
        indexName: 'reconcile',
        partitionKey: { name: 'reconcileShard', type: 'N' },
        sortKey: { name: 'reconcileAt', type: 'N' },
      },
      {
        indexName: 'bySubscription',
        partitionKey: { name: 'subscriptionId', type: 'S' },
        sortKey: { name: 'oid', type: 'S' },
      },
    ],
  },
  /** Single-use browser checkout sessions; DynamoDB removes them a while after they expire. */
  checkoutSessions: {
    id: 'CheckoutSessions',
    partitionKey: { name: 'sessionId', type: 'S' },
    globalIndexes: [],
    timeToLiveAttribute: 'expiresAtEpochSeconds',
  },
  /**
   * Domain events written in the same transaction as the state change they describe (a
   * transactional outbox), deleted once EventBridge has them: a crash between the write and the
   * publish delays an event, never loses it.
   */
  outbox: {
    id: 'Outbox',
    partitionKey: { name: 'eventId', type: 'S' },
    globalIndexes: [],
  },
  /** Small coordination records: the shared Payple lookup budget, cached lookup tokens. */
  control: {
    id: 'Control',
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [],
    timeToLiveAttribute: 'expiresAtEpochSeconds',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tables;

export interface QueueDefinition {
  readonly id: string;
  /** Seconds a received message stays invisible; at least six times the consumer's timeout. */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** Queue id of the dead-letter queue and how many receives a message gets before it moves there. */
  readonly deadLetter?: { readonly queueId: string; readonly maxReceiveCount: number };
}

/** The charger's timeout; the billing queue's visibility timeout is derived from it. */
export const CHARGER_TIMEOUT_SECONDS = 60;

export const queues = {
  billingDeadLetter: {
    id: 'BillingDeadLetterQueue',
    visibilityTimeoutSeconds: 30,
    retentionSeconds: 14 * 24 * 3600,
  },
  billing: {
    id: 'BillingQueue',
    // AWS's guidance for Lambda event sources: six times the function timeout, so a message is not
    // redelivered to a second charger while the first is still working on it.
    visibilityTimeoutSeconds: 6 * CHARGER_TIMEOUT_SECONDS,
    retentionSeconds: 4 * 24 * 3600,
    deadLetter: { queueId: 'BillingDeadLetterQueue', maxReceiveCount: 5 },
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof queues;

export interface ScheduleDefinition {
  readonly id: string;
  /** EventBridge Scheduler expression: `cron(min hour dom month dow year)` or `rate(n unit)`. */
  readonly expression: string;
  /** IANA time zone the cron fields are read in. */
  readonly timeZone: string;
}

export const SEOUL = 'Asia/Seoul';

export const schedules = {
  /** Fans due subscriptions into the billing queue. */
  dispatcher: { id: 'DispatcherSchedule', expression: 'cron(0/10 * * * ? *)', timeZone: SEOUL },
  /** Looks up the outcomes that never arrived. */
  reconciler: { id: 'ReconcilerSchedule', expression: 'rate(5 minutes)', timeZone: SEOUL },
} as const satisfies Record<string, ScheduleDefinition>;

export type ScheduleName = keyof typeof schedules;

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'HEAD';
  /** HTTP API route path; `{name}` is a path parameter. */
  readonly path: string;
  /** Which function serves it (a folder under functions/). */
  readonly functionId: 'checkout' | 'return' | 'webhook';
}

/**
 * The HTTP API's routes: the deployed HttpApi and the local gateway are both built from this list.
 * `PCD_RST_URL` is `/return/{sessionId}`; the webhook path carries the generated secret.
 */
export const routes = {
  subscribePage: { method: 'GET', path: '/subscribe', functionId: 'checkout' },
  resultPage: { method: 'GET', path: '/subscribe/result', functionId: 'checkout' },
  checkout: { method: 'POST', path: '/checkout', functionId: 'checkout' },
  paymentReturn: { method: 'POST', path: '/return/{sessionId}', functionId: 'return' },
  webhook: { method: 'POST', path: '/webhooks/payple/{secret}', functionId: 'webhook' },
  webhookProbe: { method: 'HEAD', path: '/webhooks/payple/{secret}', functionId: 'webhook' },
} as const satisfies Record<string, RouteDefinition>;

export type RouteName = keyof typeof routes;
