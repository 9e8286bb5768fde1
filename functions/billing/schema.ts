/**
 * Runtime schemas for values that come back into the domain from outside: a subscription read from
 * the store, an attempt named in a queue message. Parse at the edge, then trust the types.
 * The schemas are tied to the TypeScript types with `satisfies`, so the two cannot drift apart.
 */
import { z } from 'zod';
import { MAX_ATTEMPT, SUBSCRIPTION_ID_PATTERN, type AttemptRef } from './attempt.ts';
import {
  assertChargeTimeOfDay,
  billingSchedule,
  type BillingInterval,
  type BillingSchedule,
} from './calendar.ts';
import { BillingDomainError } from './errors.ts';
import { isValidCalendarDate, type CalendarDate, type TimeOfDay } from './kst.ts';
import type { Subscription } from './subscription.ts';

const instant = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const period = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const attemptNumber = z.number().int().min(1).max(MAX_ATTEMPT);
const krw = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = z.string().min(1).max(1000);
const payType = z.enum(['card', 'transfer']);
const subscriptionStatus = z.enum(['incomplete', 'active', 'past_due', 'unpaid', 'paused', 'canceled']);

/** `{year, month, day}` that exists. */
export const calendarDateSchema = z
  .object({ year: z.number().int(), month: z.number().int(), day: z.number().int() })
  .refine(
    (d) => isValidCalendarDate(d.year, d.month, d.day),
    'not a calendar date',
  ) satisfies z.ZodType<CalendarDate>;

/** A charge time of day outside the maintenance window. */
export const chargeTimeOfDaySchema = z
  .object({ hour: z.number().int().min(0).max(23), minute: z.number().int().min(0).max(59) })
  .refine((t) => {
    try {
      assertChargeTimeOfDay(t);
      return true;
    } catch {
      return false;
    }
  }, 'inside the banks maintenance window 23:30-00:30 KST') satisfies z.ZodType<TimeOfDay>;

const count = z.number().int().min(1);
export const billingIntervalSchema = z.discriminatedUnion('unit', [
  z.object({ unit: z.literal('month'), count, anchorDay: z.number().int().min(1).max(31) }),
  z.object({ unit: z.literal('week'), count }),
  z.object({
    unit: z.literal('year'),
    count,
    anchorMonth: z.number().int().min(1).max(12),
    anchorDay: z.number().int().min(1).max(31),
  }),
]) satisfies z.ZodType<BillingInterval>;

/** A schedule whose first billing date lies on its anchor (checked with `billingSchedule`). */
export const billingScheduleSchema = z
  .object({ interval: billingIntervalSchema, firstBillingDate: calendarDateSchema })
  .superRefine((schedule, ctx) => {
    try {
      billingSchedule(schedule.interval, schedule.firstBillingDate);
    } catch (error) {
      if (!(error instanceof BillingDomainError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  }) satisfies z.ZodType<BillingSchedule>;

const paymentMethodBase = { payType, billingKeyRef: text, revision: z.number().int().min(1) };

/** A stored subscription (as `subscription.ts` produces it). */
export const subscriptionSchema = z.object({
  id: z.string().regex(SUBSCRIPTION_ID_PATTERN),
  version: z.number().int().min(1),
  status: subscriptionStatus,
  customer: z.object({
    id: text,
    name: text,
    phone: z.string().max(255).optional(),
    email: z.string().max(255).optional(),
  }),
  plan: z.object({
    id: text,
    goodsName: text,
    amount: krw,
    interval: z.object({ unit: z.enum(['month', 'week', 'year']), count }),
  }),
  schedule: billingScheduleSchema,
  chargeTimeOfDay: chargeTimeOfDaySchema,
  paymentMethod: z.discriminatedUnion('status', [
    z.object({ ...paymentMethodBase, status: z.literal('valid') }),
    z.object({
      ...paymentMethodBase,
      status: z.literal('needs_replacement'),
      problem: z.enum(['declined_hard', 'key_terminated']),
      since: instant,
    }),
  ]),
  currentPeriod: period,
  attemptsMade: z.number().int().min(0).max(MAX_ATTEMPT),
  dunning: z.object({ retriesUsed: z.number().int().min(0), firstFailedAt: instant.nullable() }),
  nextChargeAt: instant.nullable(),
  inFlight: z
    .object({
      period,
      attempt: attemptNumber,
      oid: text,
      periodKey: z.string().regex(/^[0-9]{8}$/),
      amount: krw,
      payType,
      claimedAt: instant,
      paymentMethodRevision: z.number().int().min(1),
    })
    .nullable(),
  hold: z
    .object({
      reason: z.literal('config_error'),
      since: instant,
      period,
      attempt: attemptNumber,
      code: z.string().max(64).nullable(),
    })
    .nullable(),
  lastPaidPeriod: period.nullable(),
  pausedAt: instant.nullable(),
  cancellation: z
    .object({
      reason: z.enum(['requested_by_customer', 'requested_by_merchant', 'first_payment_failed']),
      effect: z.enum(['period_end', 'immediately']),
      at: instant,
      serviceEndsAt: instant,
    })
    .nullable(),
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Subscription>;

/** One attempt as a queue message names it. */
export const attemptRefSchema = z.object({ period, attempt: attemptNumber }) satisfies z.ZodType<AttemptRef>;

/** The subscription in `item`, or a `ZodError` naming the fields that are wrong (never their values). */
export function parseSubscription(item: unknown): Subscription {
  return subscriptionSchema.parse(item, { reportInput: false });
}
