/**
 * Validation of the caller's input before anything is sent. A refusal is a
 * `PaypleInvalidRequestError` naming the fields, never their values.
 */
import { z } from 'zod';
import { PaypleInvalidRequestError } from './errors.ts';
import type {
  BillingKeyInput,
  CertConfirmInput,
  ChargeInput,
  PaymentLookupInput,
  PaypleOperation,
  RefundInput,
} from './types.ts';
import { isKstDate } from './values.ts';

/** Payple's minimums (card 100, transfer 1,000 KRW) and the transfer cap per transaction. */
export const amountLimits = {
  card: { min: 100, max: Number.MAX_SAFE_INTEGER },
  transfer: { min: 1_000, max: 2_000_000 },
} as const;

const oid = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'only [A-Za-z0-9_-], 1-255 characters');
const key = z.string().trim().min(1, 'missing').max(255);
const krw = z.number().int('not a whole number of won').min(1).max(Number.MAX_SAFE_INTEGER);
const kstDate = z.string().refine(isKstDate, 'not a KST date YYYYMMDD');
const payType = z.enum(['card', 'transfer']);
const monthGuard = z.object({
  year: z.number().int().min(2000).max(9999),
  month: z.number().int().min(1).max(12),
});
const optionalText = z.string().max(255).optional();

const chargeSchema = z
  .object({
    payType,
    billingKey: key,
    oid,
    amount: krw,
    goods: z.string().trim().min(1, 'missing').max(255),
    monthGuard: monthGuard.optional(),
    payerNo: z
      .string()
      .regex(/^[0-9]{1,20}$/, 'digits only')
      .optional(),
    payerName: optionalText,
    payerPhone: z
      .string()
      .regex(/^[0-9]{1,15}$/, 'digits only')
      .optional(),
    payerEmail: z.string().max(100).optional(),
    taxable: z.boolean().optional(),
    taxTotal: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    cashReceipt: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    const limits = amountLimits[input.payType];
    if (input.amount < limits.min || input.amount > limits.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `outside ${limits.min}-${limits.max} for ${input.payType}`,
      });
    }
    if (input.taxTotal !== undefined && input.taxTotal > input.amount) {
      ctx.addIssue({ code: 'custom', path: ['taxTotal'], message: 'greater than the amount' });
    }
    if (input.cashReceipt === true && input.payType !== 'transfer') {
      ctx.addIssue({ code: 'custom', path: ['cashReceipt'], message: 'only for transfer' });
    }
  });

const confirmSchema = z.object({
  confirmUrl: z.string().min(1),
  authKey: key,
  requestKey: key,
  billingKey: key,
  payType,
  expectedOid: oid,
  expectedAmount: krw,
});

const billingKeySchema = z.object({
  billingKey: key,
  payerNo: z
    .string()
    .regex(/^[0-9]{1,20}$/, 'digits only')
    .optional(),
});

const lookupSchema = z.object({ oid, payType, date: kstDate, expectedAmount: krw });

const refundSchema = z.object({
  oid,
  payDate: kstDate,
  amount: krw,
  payType: payType.optional(),
  monthGuard: monthGuard.optional(),
});

function check<S extends z.ZodType>(schema: S, input: unknown, operation: PaypleOperation): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
  throw new PaypleInvalidRequestError(`Payple ${operation} input refused: ${issues.join('; ')}`, {
    operation,
  });
}

export const validateCharge = (input: ChargeInput): ChargeInput => check(chargeSchema, input, 'charge');
export const validateConfirm = (input: CertConfirmInput): CertConfirmInput =>
  check(confirmSchema, input, 'cert_confirm');
export const validateBillingKey = (input: BillingKeyInput, operation: PaypleOperation): BillingKeyInput =>
  check(billingKeySchema, input, operation);
export const validateLookup = (input: PaymentLookupInput): PaymentLookupInput =>
  check(lookupSchema, input, 'payment_lookup');
export const validateRefund = (input: RefundInput): RefundInput => check(refundSchema, input, 'refund');
