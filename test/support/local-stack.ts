/**
 * The local stack for integration tests: the same wiring as `npm start`, on the run's shared
 * emulators, with its own tables, queues, sandbox and a frozen clock that only the test moves.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import {
  createSubscription,
  type CalendarDate,
  type Customer,
  type NewSubscription,
  type PayType,
  type PlanInterval,
  type Subscription,
} from '../../functions/billing/index.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { PaypleClient, type PaypleTimeouts } from '../../functions/payple/index.ts';
import { LOCAL_REFERER } from '../../local/billing.ts';
import { defaultPartner } from '../../local/payple-sandbox/index.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';

export type TestStackOptions = Pick<LocalStackOptions, 'billing' | 'logLevel' | 'deliverWebhooks'> & {
  /** Where the frozen clock starts (ISO 8601 with offset, or epoch ms). */
  readonly startAt: string | number;
};

export async function startTestStack(options: TestStackOptions): Promise<LocalStack> {
  return startLocalStack({
    emulators: { dynamoEndpoint: inject('dynamoEndpoint'), sqsEndpoint: inject('sqsEndpoint') },
    resourcePrefix: `t${randomUUID().slice(0, 8)}`,
    clockMode: 'frozen',
    startAt: typeof options.startAt === 'number' ? options.startAt : Date.parse(options.startAt),
    logLevel: options.logLevel ?? 'SILENT',
    // Off unless a test asks: the pipeline's own guarantees are tested with every webhook lost.
    deliverWebhooks: options.deliverWebhooks ?? false,
    ...(options.billing ? { billing: options.billing } : {}),
  });
}

export interface SeedOptions {
  readonly id?: string;
  readonly card?: string;
  readonly account?: string;
  readonly amount?: number;
  readonly interval?: PlanInterval;
  readonly firstBillingDate?: CalendarDate;
  readonly anchorDay?: number;
  readonly customer?: Partial<Customer>;
}

/**
 * Registers a test card or account at the sandbox (as its payment window would) and stores a new
 * subscription charging it, through the same domain transition and store commit the edge uses.
 */
export async function seedSubscription(stack: LocalStack, options: SeedOptions = {}): Promise<Subscription> {
  const payType: PayType = options.account ? 'transfer' : 'card';
  const billingKey = stack.sandbox.admin.createBillingKey(
    options.account ? { account: options.account } : { card: options.card ?? 'success' },
  );
  const input: NewSubscription = {
    id: options.id ?? `sub${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    customer: {
      id: 'cust1',
      name: '홍길동',
      phone: '01012345678',
      email: 'hong@example.com',
      ...options.customer,
    },
    plan: {
      id: 'basic',
      goodsName: '베이직 구독',
      amount: options.amount ?? 9_900,
      interval: options.interval ?? { unit: 'month', count: 1 },
    },
    payType,
    billingKeyRef: billingKey.PCD_PAYER_ID,
    ...(options.firstBillingDate ? { firstBillingDate: options.firstBillingDate } : {}),
    ...(options.anchorDay ? { anchorDay: options.anchorDay } : {}),
  };
  const { subscription, events } = createSubscription(input, stack.clock.now());
  const result = await stack.billing.store.commit({
    subscription: { expectedVersion: undefined, next: subscription },
    events,
  });
  if (!result.committed) throw new Error(`could not seed ${subscription.id}`);
  await stack.billing.publisher.publish(events);
  return subscription;
}

/** Moves the frozen clock to `instant` and runs the dispatcher and the charger there once. */
export async function billAt(stack: LocalStack, instant: string | number): Promise<void> {
  await stack.clock.set(typeof instant === 'number' ? instant : Date.parse(instant));
  await stack.billing.dispatch();
  await stack.billing.drain();
}

/**
 * A Payple client of its own against the stack's sandbox, configured as the local stack configures
 * its own (the refund key included): another Lambda instance's client, or the test's.
 */
export function sandboxClient(
  stack: LocalStack,
  timeouts: Partial<PaypleTimeouts> = {},
  serviceName = 'test-payple',
): PaypleClient {
  return new PaypleClient({
    timeouts,
    host: stack.sandbox.url,
    cstId: defaultPartner.cstId,
    custKey: defaultPartner.custKey,
    refundKey: defaultPartner.refundKey,
    referer: LOCAL_REFERER,
    clock: stack.clock,
    logger: new Logger({ serviceName, logLevel: 'SILENT' }),
  });
}
