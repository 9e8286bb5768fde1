/**
 * Edge validation of Payple's answers (zod). Everything arrives as strings; amounts become whole
 * KRW, times ISO 8601 in KST. A schema failure reports field paths and rule names, never values.
 */
import { z } from 'zod';
import type {
  BillingKeyInfo,
  PayType,
  PaymentMethodDetails,
  PaymentReceipt,
  RefundReceipt,
} from './types.ts';
import { parseKstTime, wholeKrw } from './values.ts';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: string[] };

/** A text field: `null`, absent and blank all mean "not sent". */
const optionalText = z
  .string()
  .nullish()
  .transform((value) =>
    value === null || value === undefined || value.trim() === '' ? undefined : value.trim(),
  );

const requiredText = z.string().trim().min(1, 'missing');

const payType = z.enum(['card', 'transfer']);

const kstTime = optionalText.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const iso = parseKstTime(value);
  if (iso === undefined) ctx.addIssue({ code: 'custom', message: 'not a KST date and time' });
  return iso;
});

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(answer)'}: ${issue.message}`);
}

function parseWith<S extends z.ZodType, T>(
  schema: S,
  answer: unknown,
  build: (fields: z.output<S>) => T | string[],
): Parsed<T> {
  const parsed = schema.safeParse(answer);
  if (!parsed.success) return { ok: false, issues: issuesOf(parsed.error) };
  const value = build(parsed.data);
  return Array.isArray(value) ? { ok: false, issues: value } : { ok: true, value };
}

/** Auth's success answer: the three tokens and where to post next. */
export const authSuccessSchema = z.looseObject({
  cst_id: requiredText,
  custKey: requiredText,
  AuthKey: requiredText,
  return_url: requiredText,
  PCD_PAY_HOST: optionalText,
});

const methodFields = {
  PCD_PAY_CARD: optionalText,
  PCD_PAY_CARDNAME: optionalText,
  // Payple's own samples also spell these PCD_PAY_CARDNANE (charge) and PCD_CARD* (lookup).
  PCD_PAY_CARDNANE: optionalText,
  PCD_CARDNAME: optionalText,
  PCD_PAY_CARDNUM: optionalText,
  PCD_CARDNUM: optionalText,
  PCD_PAY_CARDTRADENUM: optionalText,
  PCD_CARDTRADENUM: optionalText,
  PCD_PAY_CARDAUTHNO: optionalText,
  PCD_PAY_CARDRECEIPT: optionalText,
  PCD_PAY_BANK: optionalText,
  PCD_PAY_BANKNAME: optionalText,
  PCD_PAY_BANKNUM: optionalText,
};

type MethodFields = { readonly [K in keyof typeof methodFields]: string | undefined };

function methodDetails(type: PayType, fields: MethodFields): PaymentMethodDetails {
  return type === 'card'
    ? {
        type,
        cardCode: fields.PCD_PAY_CARD,
        cardName: fields.PCD_PAY_CARDNAME ?? fields.PCD_PAY_CARDNANE ?? fields.PCD_CARDNAME,
        maskedCardNumber: fields.PCD_PAY_CARDNUM ?? fields.PCD_CARDNUM,
        tradeNumber: fields.PCD_PAY_CARDTRADENUM ?? fields.PCD_CARDTRADENUM,
        approvalNumber: fields.PCD_PAY_CARDAUTHNO,
        receiptUrl: fields.PCD_PAY_CARDRECEIPT,
      }
    : {
        type,
        bankCode: fields.PCD_PAY_BANK,
        bankName: fields.PCD_PAY_BANKNAME,
        maskedAccountNumber: fields.PCD_PAY_BANKNUM,
      };
}

const receiptSchema = z.looseObject({
  PCD_PAY_OID: requiredText,
  PCD_PAY_TYPE: payType.optional(),
  PCD_PAY_TOTAL: wholeKrw,
  PCD_PAY_TIME: kstTime,
  ...methodFields,
});

/** A confirmed payment. A pay type other than the one charged makes the answer invalid. */
export function parseReceipt(answer: unknown, expectedPayType: PayType): Parsed<PaymentReceipt> {
  return parseWith(receiptSchema, answer, (fields) => {
    if (fields.PCD_PAY_TYPE !== undefined && fields.PCD_PAY_TYPE !== expectedPayType) {
      return ['PCD_PAY_TYPE: differs from the request'];
    }
    return {
      oid: fields.PCD_PAY_OID,
      payType: expectedPayType,
      amount: fields.PCD_PAY_TOTAL,
      paidAt: fields.PCD_PAY_TIME,
      method: methodDetails(expectedPayType, fields),
    };
  });
}

const billingKeySchema = z.looseObject({
  PCD_PAY_TYPE: payType,
  PCD_PAYER_ID: optionalText,
  PCD_PAYER_NO: optionalText,
  PCD_PAYER_HP: optionalText,
  ...methodFields,
});

/** PUSERINFO's answer; it must be about the billing key that was asked for. */
export function parseBillingKeyInfo(answer: unknown, billingKey: string): Parsed<BillingKeyInfo> {
  return parseWith(billingKeySchema, answer, (fields) => {
    if (fields.PCD_PAYER_ID !== undefined && fields.PCD_PAYER_ID !== billingKey) {
      return ['PCD_PAYER_ID: differs from the request'];
    }
    return {
      payType: fields.PCD_PAY_TYPE,
      payerNo: fields.PCD_PAYER_NO,
      maskedPhone: fields.PCD_PAYER_HP,
      method: methodDetails(fields.PCD_PAY_TYPE, fields),
    };
  });
}

const deletionSchema = z.looseObject({ PCD_PAYER_ID: optionalText });

/** PUSERDEL's answer; it must be about the billing key that was deleted. */
export function parseDeletion(answer: unknown, billingKey: string): Parsed<{ readonly deleted: true }> {
  return parseWith(deletionSchema, answer, (fields) =>
    fields.PCD_PAYER_ID !== undefined && fields.PCD_PAYER_ID !== billingKey
      ? ['PCD_PAYER_ID: differs from the request']
      : { deleted: true as const },
  );
}

const refundSchema = z.looseObject({
  PCD_PAY_OID: requiredText,
  PCD_REFUND_TOTAL: wholeKrw,
  PCD_REFUND_TIME: kstTime,
  PCD_PAY_TIME: kstTime,
});

/** The cancel / refund answer. */
export function parseRefund(answer: unknown): Parsed<RefundReceipt> {
  return parseWith(refundSchema, answer, (fields) => ({
    oid: fields.PCD_PAY_OID,
    refundedAmount: fields.PCD_REFUND_TOTAL,
    refundedAt: fields.PCD_REFUND_TIME ?? fields.PCD_PAY_TIME,
    refundedAtField:
      fields.PCD_REFUND_TIME !== undefined
        ? ('PCD_REFUND_TIME' as const)
        : fields.PCD_PAY_TIME !== undefined
          ? ('PCD_PAY_TIME' as const)
          : undefined,
  }));
}

/** Auth's answer once classified as a success. */
export function parseAuthSuccess(answer: unknown): Parsed<z.output<typeof authSuccessSchema>> {
  return parseWith(authSuccessSchema, answer, (fields) => fields);
}
