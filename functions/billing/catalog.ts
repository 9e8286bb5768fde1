/**
 * The merchant's plans: what the subscribe page offers and what a checkout may buy. They are
 * configuration deployed with the stack, validated once at `cdk synth` and again when a function
 * starts (the same schema), so a plan a customer can pick is always one the domain can bill.
 */
import { z } from 'zod';
import { MAX_INTERVAL_COUNT } from './calendar.ts';
import { AMOUNT_LIMITS, type Plan } from './subscription.ts';

/**
 * How the first period is paid when the customer subscribes:
 * - `registration_only` (window `AUTH`): only the billing key; period 0 is charged by the charger
 *   right after the subscription is created;
 * - `pay_now` (window `PAY`): the window registers and pays period 0 at once;
 * - `pay_after_confirm` (window `CERT`): the window registers and authorises, we confirm it.
 */
export const FIRST_PAYMENT_MODES = ['registration_only', 'pay_now', 'pay_after_confirm'] as const;
export type FirstPaymentMode = (typeof FIRST_PAYMENT_MODES)[number];

export const planOfferSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'plan ids are 1-40 of a-z, 0-9 and -'),
    goodsName: z.string().trim().min(1).max(100),
    /** Shown on the subscribe page; the goods name when omitted. */
    description: z.string().max(300).optional(),
    amount: z.number().int().positive(),
    interval: z.strictObject({
      unit: z.enum(['month', 'week', 'year']),
      count: z.number().int().min(1),
    }),
    payTypes: z.array(z.enum(['card', 'transfer'])).min(1),
    firstPayment: z.enum(FIRST_PAYMENT_MODES),
  })
  .superRefine((plan, context) => {
    if (plan.interval.count > MAX_INTERVAL_COUNT[plan.interval.unit]) {
      context.addIssue({
        code: 'custom',
        path: ['interval', 'count'],
        message: `at most ${MAX_INTERVAL_COUNT[plan.interval.unit]} for ${plan.interval.unit}`,
      });
    }
    for (const payType of plan.payTypes) {
      const { min, max } = AMOUNT_LIMITS[payType];
      if (plan.amount < min || plan.amount > max) {
        context.addIssue({
          code: 'custom',
          path: ['amount'],
          message:
            max === Number.MAX_SAFE_INTEGER
              ? `${payType} charges must be at least ${min} KRW (Payple's minimum)`
              : `${payType} charges must be ${min}-${max} KRW (Payple's limits)`,
        });
      }
    }
  });

export type PlanOffer = z.infer<typeof planOfferSchema>;

export const planCatalogSchema = z
  .array(planOfferSchema)
  .min(1, 'at least one plan')
  .superRefine((plans, context) => {
    const seen = new Set<string>();
    plans.forEach((plan, i) => {
      if (seen.has(plan.id))
        context.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate plan id ${plan.id}` });
      seen.add(plan.id);
    });
  });

/** Reads a catalog (e.g. the `PLANS` environment variable's JSON); throws naming every bad field. */
export function parsePlanCatalog(input: unknown): readonly PlanOffer[] {
  const parsed = planCatalogSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `plans.${issue.path.join('.')}: ${issue.message}`);
    throw new InvalidPlanCatalogError(problems);
  }
  return parsed.data;
}

export class InvalidPlanCatalogError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid plan catalog:\n  ${problems.join('\n  ')}`);
    this.name = 'InvalidPlanCatalogError';
    this.problems = problems;
  }
}

/** The domain's plan snapshot a subscription takes out. */
export function planOf(offer: PlanOffer): Plan {
  return { id: offer.id, goodsName: offer.goodsName, amount: offer.amount, interval: offer.interval };
}

/** The plans `npm start` offers. */
export const DEMO_PLANS: readonly PlanOffer[] = [
  {
    id: 'basic-monthly',
    goodsName: '베이직 월간 구독',
    description: '매월 같은 날 결제 (Billed monthly on the same day)',
    amount: 9_900,
    interval: { unit: 'month', count: 1 },
    payTypes: ['card', 'transfer'],
    firstPayment: 'registration_only',
  },
  {
    id: 'pro-monthly',
    goodsName: '프로 월간 구독',
    description: '가입 즉시 첫 달 결제 (First month charged at once)',
    amount: 29_000,
    interval: { unit: 'month', count: 1 },
    payTypes: ['card'],
    firstPayment: 'pay_now',
  },
  {
    id: 'weekly-box',
    goodsName: '주간 정기배송',
    description: '매주 결제, 승인 후 확정 (Weekly, confirmed after approval)',
    amount: 15_000,
    interval: { unit: 'week', count: 1 },
    payTypes: ['card'],
    firstPayment: 'pay_after_confirm',
  },
];
