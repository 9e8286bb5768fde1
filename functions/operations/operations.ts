/**
 * The operations Lambda: what the merchant's operators (or its back office, with IAM permission to
 * invoke this one function) may do by hand, one JSON command per invocation: holds, payments under
 * review, unrecorded-payment reports, refunds, cancellations and billing-key deletion.
 *
 * ```sh
 * aws lambda invoke --function-name <OperationsFunctionName> --cli-binary-format raw-in-base64-out \
 *   --payload '{"command":"release_hold","subscriptionId":"sub…","requestedBy":"kim@merchant"}' out.json
 * ```
 *
 * Every command is validated before anything is read (unknown fields included: a typo must not be
 * ignored), answered `{ok: true, command, result}` or `{ok: false, error, issues}`, and logged with
 * who asked for it (the audit trail; ids and outcomes only). A refused command changes nothing.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { isSubscriptionId, parseOid } from '../billing/index.ts';
import { InvalidCursorError } from '../store/dynamo-billing-store.ts';
import {
  cancelSubscription,
  releaseBillingKey,
  type BillingKeyGateway,
  type CancelSubscriptionStore,
} from '../use-cases/cancel-subscription.ts';
import {
  decidePayment,
  dismissUnrecordedPayment,
  releaseAllHolds,
  releaseSubscriptionHold,
  type HeldSubscriptions,
  type OperatorDependencies,
} from '../use-cases/operator-decisions.ts';
import { errorLogFields } from '../shared/observability.ts';
import {
  REFUND_REQUEST_ID_PATTERN,
  refundPayment,
  resolvePendingRefund,
  type RefundGateway,
} from '../use-cases/refund-payment.ts';

export interface OperationsDependencies extends OperatorDependencies {
  readonly store: OperatorDependencies['store'] & CancelSubscriptionStore;
  readonly held: HeldSubscriptions;
  /** Refunds and billing-key deletion (`PaypleClient`, with the refund key). */
  readonly payple: RefundGateway & BillingKeyGateway;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

const subscriptionId = z
  .string()
  .max(40)
  .refine(isSubscriptionId, 'a subscription id is 1-40 letters and digits');
const oid = z
  .string()
  .max(60)
  .refine((value) => parseOid(value) !== undefined, 'an OID is {subscriptionId}-{YYYYMMDD}-{attempt}');
/** Who asked: recorded in the log with the command. */
const requestedBy = z.string().trim().min(1, 'say who asks (requestedBy)').max(100);

const COMMANDS = [
  'release_hold',
  'release_all_holds',
  'decide_payment',
  'dismiss_unrecorded_payment',
  'refund_payment',
  'resolve_pending_refund',
  'cancel_subscription',
  'release_billing_key',
] as const;

const commandSchema = z.discriminatedUnion(
  'command',
  [
    z.strictObject({ command: z.literal('release_hold'), subscriptionId, requestedBy }),
    z.strictObject({
      command: z.literal('release_all_holds'),
      /** Subscriptions scanned per invocation (held or not). */
      limit: z.int().min(1).max(5_000).default(1_000),
      cursor: z.string().max(2_000).optional(),
      requestedBy,
    }),
    z.strictObject({
      command: z.literal('decide_payment'),
      oid,
      decision: z.enum(['paid', 'declined', 'not_charged']),
      requestedBy,
    }),
    z.strictObject({ command: z.literal('dismiss_unrecorded_payment'), oid, requestedBy }),
    z.strictObject({
      command: z.literal('refund_payment'),
      oid,
      /** Whole KRW; everything not refunded yet when absent. */
      amount: z.int().positive().max(100_000_000).optional(),
      /**
       * The caller's id of this refund (a ticket number), the same on every retry of it: a
       * repeated command never refunds twice.
       */
      requestId: z.string().regex(REFUND_REQUEST_ID_PATTERN, 'a requestId is 1-64 of A-Z a-z 0-9 . _ : -'),
      requestedBy,
    }),
    z.strictObject({
      command: z.literal('resolve_pending_refund'),
      oid,
      /** What Payple's partner admin shows for the pending refund. */
      refunded: z.boolean(),
      /** Payple's refund time, `YYYY-MM-DDThh:mm:ss+09:00`, when refunded. */
      refundedAt: z.string().max(40).optional(),
      requestedBy,
    }),
    z.strictObject({
      command: z.literal('cancel_subscription'),
      subscriptionId,
      effect: z.enum(['period_end', 'immediately']),
      reason: z.enum(['requested_by_customer', 'requested_by_merchant']),
      deleteBillingKey: z.boolean().default(false),
      requestedBy,
    }),
    z.strictObject({ command: z.literal('release_billing_key'), subscriptionId, requestedBy }),
  ],
  { error: `command must be one of ${COMMANDS.join(', ')}` },
);

export type OperationsResponse =
  | { readonly ok: true; readonly command: string; readonly result: unknown }
  | { readonly ok: false; readonly error: 'invalid_command'; readonly issues: readonly string[] };

async function run(deps: OperationsDependencies, command: z.output<typeof commandSchema>): Promise<unknown> {
  switch (command.command) {
    case 'release_hold':
      return releaseSubscriptionHold(deps, command.subscriptionId);
    case 'release_all_holds':
      return releaseAllHolds(deps, {
        limit: command.limit,
        ...(command.cursor === undefined ? {} : { cursor: command.cursor }),
      });
    case 'decide_payment':
      return decidePayment(deps, { oid: command.oid, decision: command.decision });
    case 'dismiss_unrecorded_payment':
      return dismissUnrecordedPayment(deps, command.oid);
    case 'refund_payment':
      return refundPayment(deps, {
        oid: command.oid,
        ...(command.amount === undefined ? {} : { amount: command.amount }),
        requestId: command.requestId,
      });
    case 'resolve_pending_refund':
      return resolvePendingRefund(deps, {
        oid: command.oid,
        refunded: command.refunded,
        ...(command.refundedAt === undefined ? {} : { refundedAt: command.refundedAt }),
      });
    case 'cancel_subscription':
      return cancelSubscription(deps, {
        subscriptionId: command.subscriptionId,
        effect: command.effect,
        reason: command.reason,
        deleteBillingKey: command.deleteBillingKey,
      });
    case 'release_billing_key':
      return releaseBillingKey(deps, { subscriptionId: command.subscriptionId });
  }
}

const invalid = (issues: readonly string[]): OperationsResponse => ({
  ok: false,
  error: 'invalid_command',
  issues,
});

export function createOperationsHandler(deps: OperationsDependencies) {
  return middy(async (event: unknown, _context: Context): Promise<OperationsResponse> => {
    const parsed = commandSchema.safeParse(event);
    if (!parsed.success) {
      // Issues name a field and a rule, never the value.
      const issues =
        typeof event === 'object' && event !== null && !Array.isArray(event)
          ? parsed.error.issues.map((issue) =>
              issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
            )
          : ['a command is a JSON object with "command" and "requestedBy"'];
      deps.logger.warn('operations command refused', { issues });
      deps.metrics.addMetric('OperationsCommandsInvalid', MetricUnit.Count, 1);
      return invalid(issues);
    }
    const command = parsed.data;
    let result: unknown;
    try {
      result = await run(deps, command);
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        deps.metrics.addMetric('OperationsCommandsInvalid', MetricUnit.Count, 1);
        return invalid([`cursor: ${error.message}`]);
      }
      deps.logger.error('operations command failed', { command, error: errorLogFields(error) });
      throw error;
    }
    deps.logger.info('operations command', { command, result });
    deps.metrics.addMetric('OperationsCommands', MetricUnit.Count, 1);
    return { ok: true, command: command.command, result };
  })
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .use(logMetrics(deps.metrics));
}
