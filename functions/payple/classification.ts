/**
 * Classification of Payple's answers into the closed set of `OutcomeKind`s. Pure and table-driven:
 * the tables below are PAYPLE.md's lists, the functions only look codes up.
 *
 * Order of the rules:
 * 1. No `PCD_PAY_RST` (or `result` for auth) of `success` / `error` / `close`: `unknown`.
 * 2. `success`: a failure code alongside it is `unknown` (contradictory); when the caller knows what
 *    it sent, the returned OID and amount must equal it, else `unknown` (money may have moved).
 * 3. A failure: Payple's own code (`PCD_PAY_CODE`, then the bracketed code in `PCD_PAY_MSG`) from
 *    the operation's rows, then `paypleCodeRows`; then the issuer's code parsed from `PCD_PAY_MSG`
 *    from the card or bank table; anything else is a `soft_decline` (`unrecognised_code`), never
 *    paid, never hard. Except for a result lookup: a lookup failure whose Payple code the client
 *    does not recognise says nothing certain about the payment, so it is `unknown` whatever issuer
 *    code the message quotes (calling it a decline could lead to charging again while the first
 *    charge went through); only a code known to mean "not charged" lets the issuer code decide.
 */
import type { ClassificationReason, FailureKind, OutcomeKind, PayType, PaypleOperation } from './types.ts';
import { parseAmount } from './values.ts';

export interface Classification {
  readonly kind: OutcomeKind;
  readonly reason: ClassificationReason;
  /** Payple's own code. */
  readonly code: string | undefined;
  /** The card company's / bank's code from `PCD_PAY_MSG`. */
  readonly issuerCode: string | undefined;
  /** For `invalid_answer`: which field was wrong (a field name and a rule, never a value). */
  readonly detail?: string;
}

/** What a success must echo back. */
export interface SuccessExpectation {
  readonly oid: string;
  /** Whole KRW; omitted when the answer carries no amount to compare. */
  readonly amount?: number;
  /** Where the amount is: `PCD_PAY_TOTAL` (default) or `PCD_REFUND_TOTAL` for refunds. */
  readonly amountField?: 'PCD_PAY_TOTAL' | 'PCD_REFUND_TOTAL';
}

export interface ClassificationContext {
  readonly operation: PaypleOperation;
  /** Picks the card or bank issuer table; both are consulted when absent. */
  readonly payType?: PayType;
  readonly expected?: SuccessExpectation;
}

export interface CodeRow {
  readonly kind: FailureKind;
  readonly codes: readonly string[];
  readonly why: string;
  /**
   * `sandbox`: Payple publishes no code for this situation; the number is the one the project's
   * sandbox answers (local/payple-sandbox/codes.ts), unconfirmed by Payple. Unlisted live codes fall
   * back to the safe defaults above.
   */
  readonly source?: 'sandbox';
  /** A decline whose issuer code, when the message carries a known one, decides soft vs hard. */
  readonly issuerDecides?: boolean;
}

function range(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(4, '0')}`);
}

/**
 * Payple's own codes with a fixed meaning (PAYPLE.md, "Response codes that drive billing decisions").
 * The config list's bare numbers (0007, 0009/0010, 9991) and the internal DB errors (0015-0026)
 * continue the `SPCD` prefix they are listed under; `RPCD` numbers differently (its duplicate is
 * 0015), so nothing is guessed for it.
 */
export const paypleCodeRows: readonly CodeRow[] = [
  {
    kind: 'unknown',
    codes: ['SPCD1001', 'RPCD1001'],
    why: 'no answer from the card company: the issuer may have approved',
  },
  {
    kind: 'unknown',
    codes: ['CPAY0018', 'SPAY0011', 'RPAY0013'],
    why: 'transfer result not received: money may have left the account',
  },
  { kind: 'unknown', codes: range('SPCD', 15, 26), why: 'Payple-internal DB error after the request' },
  {
    kind: 'hard_decline',
    codes: ['SPCD0001', 'SPCD0011', 'SPCD0012', 'RPCD0001', 'RPCD0011', 'RPCD0012'],
    why: 'billing key missing or terminated',
  },
  {
    kind: 'hard_decline',
    codes: ['SPCD1002', 'SPCD1004', 'RPCD1002', 'RPCD1004'],
    why: 'billing key auto-terminated',
  },
  {
    kind: 'hard_decline',
    codes: ['SPAY0005', 'SPAY0006', 'RPAY0005', 'RPAY0006'],
    why: 'account billing key unusable',
  },
  { kind: 'config_error', codes: ['AUTH0001', 'AUTH0002', 'AUTH0003'], why: 'partner credentials' },
  { kind: 'config_error', codes: ['AUTH0004', 'AUTH0007'], why: 'Referer missing or not registered' },
  { kind: 'config_error', codes: ['AUTH0006'], why: 'https required' },
  { kind: 'config_error', codes: ['SPCD0002', 'SPCD0003'], why: 'request validation' },
  { kind: 'config_error', codes: ['SPCD0007'], why: 'not allowed for this partner' },
  { kind: 'config_error', codes: ['SPCD0009', 'SPCD0010'], why: 'partner limits' },
  { kind: 'config_error', codes: ['SPCD9991'], why: 'custKey' },
  { kind: 'token_expired', codes: ['SPCD0004', 'RPCD0006'], why: 're-auth and resend the same OID' },
  {
    kind: 'duplicate_oid',
    codes: ['SPCD0014', 'RPCD0015', 'CPAY0201', 'CPAY0202', 'RPAY0008'],
    why: 'OID already used (or month guard): look the result up',
  },
  { kind: 'lookup_limited', codes: ['PCHK9997'], why: 'more than 1,000 result lookups in 10 minutes' },
];

/** Codes that mean something only for one operation (checked before `paypleCodeRows`). */
export const operationCodeRows: Readonly<Partial<Record<PaypleOperation, readonly CodeRow[]>>> = {
  charge: [
    { kind: 'config_error', codes: ['RPCD0002', 'RPCD0003'], why: 'request validation', source: 'sandbox' },
  ],
  cert_confirm: [
    { kind: 'config_error', codes: ['PCCF0002', 'PCCF0003'], why: 'request validation', source: 'sandbox' },
    {
      kind: 'hard_decline',
      codes: ['PCCF0004'],
      why: 'confirm too late: redo the window',
      source: 'sandbox',
    },
    { kind: 'duplicate_oid', codes: ['PCCF0014'], why: 'already confirmed: look it up', source: 'sandbox' },
  ],
  payment_lookup: [
    { kind: 'config_error', codes: ['PCHK0002', 'PCHK0003'], why: 'request validation', source: 'sandbox' },
    { kind: 'token_expired', codes: ['PCHK0004'], why: 'lookup token refused', source: 'sandbox' },
    {
      kind: 'unknown',
      codes: ['PCHK0011'],
      why: 'no finished payment with this OID and date (yet): still unknown',
      source: 'sandbox',
    },
    {
      kind: 'soft_decline',
      codes: ['PCHK0012'],
      why: 'the attempt took no money',
      source: 'sandbox',
      issuerDecides: true,
    },
  ],
  billing_key_info: [
    { kind: 'config_error', codes: ['PUER0002', 'PUER0003'], why: 'request validation', source: 'sandbox' },
    { kind: 'token_expired', codes: ['PUER0004'], why: 'lookup token refused', source: 'sandbox' },
    {
      kind: 'hard_decline',
      codes: ['PUER0011', 'PUER0012'],
      why: 'billing key unknown or deleted',
      source: 'sandbox',
    },
  ],
  billing_key_delete: [
    { kind: 'config_error', codes: ['PUER0002', 'PUER0003'], why: 'request validation', source: 'sandbox' },
    { kind: 'token_expired', codes: ['PUER0004'], why: 'token refused', source: 'sandbox' },
    {
      kind: 'hard_decline',
      codes: ['PUER0011', 'PUER0012'],
      why: 'billing key unknown or deleted',
      source: 'sandbox',
    },
  ],
  refund: [
    { kind: 'config_error', codes: ['PAYC0002', 'PAYC0003'], why: 'request validation', source: 'sandbox' },
    { kind: 'token_expired', codes: ['PAYC0004'], why: 'token refused', source: 'sandbox' },
    { kind: 'config_error', codes: ['PAYC0005'], why: 'refund key', source: 'sandbox' },
    {
      kind: 'hard_decline',
      codes: ['PAYC0011', 'PAYC0012'],
      why: 'no such payment, or more than is left of it',
      source: 'sandbox',
    },
  ],
};

/** Card companies' codes (PAYPLE.md; tables from 2020-21). */
export const cardIssuerRows: readonly CodeRow[] = [
  {
    kind: 'soft_decline',
    codes: ['3133', '3112', '3242', '3225', '3111'],
    why: 'insufficient balance / limit exceeded',
  },
  {
    kind: 'soft_decline',
    codes: ['3006', '3106', '3168', '3267', '3268', '3269', '3266'],
    why: 'network, system, maintenance or outage',
  },
  { kind: 'soft_decline', codes: ['3134', '3201', '3246'], why: 'timeouts at the card company' },
  { kind: 'hard_decline', codes: ['3100', '3119'], why: 'card expired' },
  { kind: 'hard_decline', codes: ['3110', '3122', '3123'], why: 'stolen, lost or invalid card' },
  {
    kind: 'hard_decline',
    codes: ['3128', '3146', '3147', '3148', '3253', '3154', '3167'],
    why: 'card suspended or terminated',
  },
];

/** Banks' codes (PAYPLE.md). Any code ending in 9998 is the nightly maintenance window: soft. */
export const bankIssuerRows: readonly CodeRow[] = [
  { kind: 'soft_decline', codes: ['1000', '1007'], why: 'insufficient balance' },
  { kind: 'soft_decline', codes: ['1002', '401', '402', '403', '1008'], why: 'temporary bank refusal' },
  {
    kind: 'hard_decline',
    codes: ['1003', '204', '101', '602', '2002', '606', '607', '608'],
    why: 'account closed, suspended or invalid',
  },
];

function tableOf(rows: readonly CodeRow[]): ReadonlyMap<string, CodeRow> {
  return new Map(rows.flatMap((row) => row.codes.map((code) => [code, row] as const)));
}

const paypleCodes = tableOf(paypleCodeRows);
const operationCodes = new Map(
  Object.entries(operationCodeRows).map(([operation, rows]) => [operation, tableOf(rows)] as const),
);
const cardCodes = tableOf(cardIssuerRows);
const bankCodes = tableOf(bankIssuerRows);
const MAINTENANCE_ROW: CodeRow = {
  kind: 'soft_decline',
  codes: [],
  why: 'bank maintenance window (xxxx9998)',
};

const SUCCESS_CODE = /^(?:[A-Z]{4})?0000$|^PCHK000$/;
const PAYPLE_CODE = /^[A-Z][A-Z0-9]{3,11}$/;
const MAINTENANCE_CODE = /^(?:[A-Z]{4}|[0-9]*)9998$/;

/** Whether a code is one of Payple's success codes (`SPCD0000`, `PCCF0000`, `0000`, `PCHK000`, ...). */
export function isSuccessCode(code: string): boolean {
  return SUCCESS_CODE.test(code);
}

/** The row for one of Payple's own codes in an operation, `undefined` when no table knows it. */
export function paypleCodeRow(code: string, operation: PaypleOperation): CodeRow | undefined {
  return (
    operationCodes.get(operation)?.get(code) ??
    paypleCodes.get(code) ??
    (MAINTENANCE_CODE.test(code) ? MAINTENANCE_ROW : undefined)
  );
}

/** The issuer code's kind for a pay type (both tables when the pay type is not known). */
export function issuerCodeKind(issuerCode: string, payType: PayType | undefined): FailureKind | undefined {
  const normalised = issuerCode.replace(/^0+(?=.)/, '');
  const card = payType === 'transfer' ? undefined : cardCodes.get(normalised);
  const bank =
    payType === 'card'
      ? undefined
      : (bankCodes.get(normalised) ?? (MAINTENANCE_CODE.test(issuerCode) ? MAINTENANCE_ROW : undefined));
  return (card ?? bank)?.kind;
}

export interface ParsedMessage {
  /** The first bracketed code (`[PCCFD001]`), skipping `[test]`. */
  readonly paypleCode: string | undefined;
  /** The issuer's code that follows the brackets (`1062` in `[PCCFD001] 1062 - ...`). */
  readonly issuerCode: string | undefined;
}

/**
 * Parses `[test] [PCCFD001] 1062 - 할부거래 사용불가 카드` into its codes; the brackets may follow a
 * prefix (`결제실패 - [SPCD0099] 3133 - 잔액부족`, as a lookup repeats the original answer).
 */
export function parsePaypleMessage(message: string | undefined): ParsedMessage {
  const text = message ?? '';
  const paypleCode = [...text.matchAll(/\[([^\]]*)\]/g)]
    .map((bracket) => (bracket[1] ?? '').trim())
    .find((token) => PAYPLE_CODE.test(token));
  // The issuer's code follows a closing bracket (or opens the message) and precedes " - ".
  const issuer = /(?:^|\])\s*([0-9A-Z]*[0-9][0-9A-Z]*)\s*-(?:\s|$)/.exec(text)?.[1];
  return { paypleCode, issuerCode: issuer !== undefined && issuer.length <= 12 ? issuer : undefined };
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function verdict(
  kind: OutcomeKind,
  reason: ClassificationReason,
  code: string | undefined,
  issuerCode?: string,
): Classification {
  return { kind, reason, code, issuerCode };
}

function invalid(code: string | undefined, detail: string): Classification {
  return { kind: 'unknown', reason: 'invalid_answer', code, issuerCode: undefined, detail };
}

/** `lookup_limited` only means something for a result lookup; elsewhere it is not a definite answer. */
function inContext(kind: FailureKind, operation: PaypleOperation): FailureKind {
  return kind === 'lookup_limited' && operation !== 'payment_lookup' ? 'unknown' : kind;
}

/** Operations whose unrecognised failures are `unknown`, never a decline. */
const UNRECOGNISED_IS_UNKNOWN: readonly PaypleOperation[] = ['payment_lookup', 'refund'];

/** Classifies a failure answer from its code and message. */
export function classifyFailure(
  code: string | undefined,
  message: string | undefined,
  context: ClassificationContext,
): Classification {
  const parsed = parsePaypleMessage(message);
  const issuerKind =
    parsed.issuerCode === undefined ? undefined : issuerCodeKind(parsed.issuerCode, context.payType);
  for (const candidate of [code, parsed.paypleCode]) {
    const row = candidate === undefined ? undefined : paypleCodeRow(candidate, context.operation);
    if (row === undefined) continue;
    if (row.issuerDecides === true && issuerKind !== undefined) {
      return verdict(issuerKind, 'issuer_code', candidate, parsed.issuerCode);
    }
    return verdict(inContext(row.kind, context.operation), 'payple_code', candidate, parsed.issuerCode);
  }
  const reportedCode = code ?? parsed.paypleCode;
  // A lookup or a refund we cannot read may have found or moved money: taking it for a decline
  // would settle a payment wrongly or let a refund be sent twice. Charges are never retried on a
  // soft decline with the same OID, so there an unrecognised code may stay a soft decline.
  if (UNRECOGNISED_IS_UNKNOWN.includes(context.operation)) {
    return verdict('unknown', 'unrecognised_code', reportedCode, parsed.issuerCode);
  }
  if (issuerKind !== undefined) return verdict(issuerKind, 'issuer_code', reportedCode, parsed.issuerCode);
  return verdict('soft_decline', 'unrecognised_code', reportedCode, parsed.issuerCode);
}

function classifySuccess(
  answer: Readonly<Record<string, unknown>>,
  code: string | undefined,
  expected: SuccessExpectation | undefined,
): Classification {
  if (code !== undefined && !isSuccessCode(code)) return verdict('unknown', 'contradictory_answer', code);
  if (expected !== undefined) {
    const oid = text(answer['PCD_PAY_OID']);
    if (oid === undefined) return invalid(code, 'PCD_PAY_OID: missing');
    if (oid !== expected.oid) return verdict('unknown', 'oid_mismatch', code);
    const field = expected.amountField ?? 'PCD_PAY_TOTAL';
    if (expected.amount !== undefined) {
      const amount = parseAmount(answer[field]);
      if (amount === undefined) return invalid(code, `${field}: not a whole number of won`);
      if (amount !== expected.amount) return verdict('unknown', 'amount_mismatch', code);
    }
  }
  return verdict('success', 'success', code);
}

/**
 * Classifies an operation's answer (`PCD_PAY_RST`, `PCD_PAY_CODE`, `PCD_PAY_MSG`, and for a
 * success the echoed `PCD_PAY_OID` / amount). Takes the raw decoded body: nothing is trusted.
 */
export function classifyAnswer(
  answer: Readonly<Record<string, unknown>>,
  context: ClassificationContext,
): Classification {
  const result = answer['PCD_PAY_RST'];
  const code = text(answer['PCD_PAY_CODE']);
  if (result === 'success') return classifySuccess(answer, code, context.expected);
  if (result === 'error' || result === 'close') {
    return classifyFailure(code, text(answer['PCD_PAY_MSG']), context);
  }
  return invalid(code, 'PCD_PAY_RST: missing or not success/error/close');
}

/**
 * Classifies a partner-auth answer (`result`, `result_msg`). Payple puts the code in `result_msg`
 * (`[AUTH0004] ...` or a bare `AUTH0004`); a `PCD_PAY_CODE` / `result_code` is used when present.
 */
export function classifyAuthAnswer(answer: Readonly<Record<string, unknown>>): Classification {
  const result = answer['result'] ?? answer['PCD_PAY_RST'];
  if (result === 'success') return verdict('success', 'success', text(answer['result_code']));
  const message = text(answer['result_msg']) ?? text(answer['PCD_PAY_MSG']);
  const code =
    text(answer['PCD_PAY_CODE']) ??
    text(answer['result_code']) ??
    /\b([A-Z]{4}[0-9]{4})\b/.exec(message ?? '')?.[1];
  if (result === 'error') return classifyFailure(code, message, { operation: 'auth' });
  return invalid(code, 'result: missing or not success/error');
}
