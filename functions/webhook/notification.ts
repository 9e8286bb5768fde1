/**
 * The webhook's edge: a decoded body (JSON or form fields) validated with zod and turned into one
 * `WebhookNotification`. Payple sends every value as a string and an empty string for "not sent"
 * (PAYPLE.md, and the sandbox does the same); amounts become whole KRW, times ISO 8601 in KST.
 * Fields we do not use are ignored, but must be flat values. Issues name a field and a rule, never
 * a value: bodies carry billing keys and the payer's name, phone and e-mail.
 */
import { z } from 'zod';
import type { PaymentAnswer } from '../billing/index.ts';
import { classifyAnswer, parseAmount, parseKstTime } from '../payple/index.ts';
import type { WebhookNotification } from '../use-cases/apply-webhook.ts';
import { MalformedWebhookError } from './errors.ts';

/** More fields than any Payple result carries (about 40). */
const MAX_FIELDS = 200;
const MAX_VALUE_LENGTH = 4_000;

const anyField = z.union([z.string().max(MAX_VALUE_LENGTH, 'too long'), z.number(), z.boolean(), z.null()], {
  error: 'must be a flat value (string, number, boolean or null)',
});

const fieldsSchema = z
  .record(z.string().max(100, 'field name too long'), anyField)
  .refine((fields) => Object.keys(fields).length <= MAX_FIELDS, `more than ${MAX_FIELDS} fields`);

const notSent = (value: unknown) => value === undefined || value === null || value === '';

/** Text: absent, `null` and blank all mean "not sent". */
const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .nullish()
    .transform((value) =>
      value === null || value === undefined || value.trim() === '' ? undefined : value.trim(),
    )
    .pipe(z.string().max(max, 'too long').optional());

const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  text(40).pipe(z.enum(values, { error: `must be one of ${values.join(', ')}` }).optional());

/** Whole KRW as a digit string (or a JSON integer); absent or empty means "not sent". */
const amount = z
  .union([z.string(), z.number(), z.null()], { error: 'must be a whole number of won' })
  .optional()
  .transform((value, ctx) => {
    if (notSent(value)) return undefined;
    const parsed = parseAmount(typeof value === 'string' ? value.trim() : value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number of won' });
      return z.NEVER;
    }
    return parsed;
  });

/** `YYYYMMDDhhmmss` (or `YYYY-MM-DD hh:mm:ss`) in KST, as ISO 8601 with +09:00. */
const kstTime = text(40).transform((value, ctx) => {
  if (value === undefined) return undefined;
  const iso = parseKstTime(value);
  if (iso === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a KST date and time (YYYYMMDDhhmmss)' });
    return z.NEVER;
  }
  return iso;
});

const knownFieldsSchema = z.object({
  PCD_CST_ID: text(100),
  PCD_PAY_RST: choice(['success', 'error', 'close']),
  PCD_PAY_CODE: text(40),
  PCD_PAY_MSG: text(1_000),
  PCD_PAY_WORK: text(40),
  PCD_PAY_OID: text(255).pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -')
      .optional(),
  ),
  PCD_PAY_TYPE: choice(['card', 'transfer']),
  PCD_PAYER_ID: text(1_000),
  PCD_PAY_TOTAL: amount,
  PCD_PAY_TIME: kstTime,
  PCD_PAYCANCEL_FLAG: choice(['Y', 'N']),
  PCD_REFUND_TOTAL: amount,
  PCD_REFUND_TIME: kstTime,
  PCD_PAY_COFURL: text(2_000),
  PCD_PAY_CARDNAME: text(100),
  PCD_PAY_CARDNUM: text(40),
  PCD_PAY_CARDTRADENUM: text(100),
  PCD_PAY_CARDAUTHNO: text(100),
  PCD_PAY_CARDRECEIPT: text(2_000),
  PCD_PAY_BANKNAME: text(100),
  PCD_PAY_BANKNUM: text(40),
});

type KnownFields = z.output<typeof knownFieldsSchema>;

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
}

function requireFields(
  fields: KnownFields,
  names: readonly (keyof KnownFields)[],
  issues: string[],
  why: string,
): void {
  for (const name of names) {
    if (fields[name] === undefined) issues.push(`${name}: required ${why}`);
  }
}

/**
 * What a settled payment keeps of the result: the code, the time and the masked card or bank
 * fields. Not Payple's free-text message, which could echo anything the charge carried.
 */
function answerOf(fields: KnownFields): PaymentAnswer {
  const entries: [keyof PaymentAnswer, string | undefined][] = [
    ['code', fields.PCD_PAY_CODE],
    ['paidAt', fields.PCD_PAY_TIME],
    ['cardName', fields.PCD_PAY_CARDNAME],
    ['maskedCardNumber', fields.PCD_PAY_CARDNUM],
    ['tradeNumber', fields.PCD_PAY_CARDTRADENUM],
    ['approvalNumber', fields.PCD_PAY_CARDAUTHNO],
    ['receiptUrl', fields.PCD_PAY_CARDRECEIPT],
    ['bankName', fields.PCD_PAY_BANKNAME],
    ['maskedAccountNumber', fields.PCD_PAY_BANKNUM],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/**
 * Reads a webhook's fields. Which notification it is:
 * 1. `PCD_PAY_WORK=PUSERDEL`: a billing key ended in Payple's admin (`PCD_PAYER_ID`);
 * 2. `PCD_PAYCANCEL_FLAG=Y`: a cancellation (`PCD_PAY_OID`, `PCD_REFUND_TOTAL`, `PCD_REFUND_TIME`);
 * 3. `PCD_PAY_WORK=AUTH`, or `CERT` still carrying its confirm URL: a registration, no money moved;
 * 4. anything else is a payment result (`PCD_PAY_RST`, `PCD_PAY_OID`; a success also names the
 *    billing key, amount, pay type and the time it was paid).
 */
export function parseWebhookFields(body: unknown): WebhookNotification {
  const raw = fieldsSchema.safeParse(body);
  if (!raw.success) throw new MalformedWebhookError(issuesOf(raw.error));
  const parsed = knownFieldsSchema.safeParse(raw.data);
  if (!parsed.success) throw new MalformedWebhookError(issuesOf(parsed.error));
  const fields = parsed.data;
  const issues: string[] = [];
  requireFields(fields, ['PCD_CST_ID'], issues, 'in every webhook');
  const partnerId = fields.PCD_CST_ID ?? '';
  const work = fields.PCD_PAY_WORK;

  if (work === 'PUSERDEL') {
    requireFields(fields, ['PCD_PAYER_ID'], issues, 'for a billing key termination');
    if (issues.length > 0) throw new MalformedWebhookError(issues);
    return { kind: 'key_terminated', partnerId, billingKey: fields.PCD_PAYER_ID ?? '' };
  }

  if (fields.PCD_PAYCANCEL_FLAG === 'Y') {
    const names = [
      'PCD_PAY_RST',
      'PCD_PAY_OID',
      'PCD_PAYER_ID',
      'PCD_REFUND_TOTAL',
      'PCD_REFUND_TIME',
    ] as const;
    requireFields(fields, names, issues, 'for a cancellation');
    if (fields.PCD_REFUND_TOTAL === 0) issues.push('PCD_REFUND_TOTAL: must be at least 1 won');
    if (issues.length > 0) throw new MalformedWebhookError(issues);
    return {
      kind: 'cancellation',
      partnerId,
      oid: fields.PCD_PAY_OID ?? '',
      succeeded: fields.PCD_PAY_RST === 'success',
      billingKey: fields.PCD_PAYER_ID ?? '',
      refundAmount: fields.PCD_REFUND_TOTAL ?? 0,
      refundedAt: fields.PCD_REFUND_TIME ?? '',
      paidAmount: fields.PCD_PAY_TOTAL,
      payType: fields.PCD_PAY_TYPE,
    };
  }

  if (work === 'AUTH' || (work === 'CERT' && fields.PCD_PAY_COFURL !== undefined)) {
    if (issues.length > 0) throw new MalformedWebhookError(issues);
    return { kind: 'registration', partnerId };
  }

  requireFields(fields, ['PCD_PAY_RST', 'PCD_PAY_OID'], issues, 'for a payment result');
  const classification = classifyAnswer(
    { PCD_PAY_RST: fields.PCD_PAY_RST, PCD_PAY_CODE: fields.PCD_PAY_CODE, PCD_PAY_MSG: fields.PCD_PAY_MSG },
    { operation: work === 'CERT' ? 'cert_confirm' : 'charge', payType: fields.PCD_PAY_TYPE },
  ).kind;
  if (classification === 'success') {
    const names = ['PCD_PAYER_ID', 'PCD_PAY_TOTAL', 'PCD_PAY_TYPE', 'PCD_PAY_TIME'] as const;
    requireFields(fields, names, issues, 'for a successful payment');
  }
  if (issues.length > 0) throw new MalformedWebhookError(issues);
  return {
    kind: 'payment_result',
    partnerId,
    oid: fields.PCD_PAY_OID ?? '',
    result: classification === 'success' ? 'success' : 'failure',
    classification,
    billingKey: fields.PCD_PAYER_ID,
    amount: fields.PCD_PAY_TOTAL,
    payType: fields.PCD_PAY_TYPE,
    answer: answerOf(fields),
  };
}
