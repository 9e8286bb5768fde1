/**
 * Public types of the Payple client: operations, outcomes and the values a success carries.
 * Amounts are whole KRW (`number`, safe integers); dates and times are KST as Payple sends them,
 * converted to ISO 8601 with an explicit `+09:00` offset.
 */
import type { PaypleError } from './errors.ts';

/** Payment method of a billing key. */
export type PayType = 'card' | 'transfer';

/** Every call the client makes; used in logs, errors and classification. */
export type PaypleOperation =
  | 'auth'
  | 'charge'
  | 'window_auth'
  | 'cert_confirm'
  | 'billing_key_info'
  | 'billing_key_delete'
  | 'payment_lookup'
  | 'refund';

/**
 * The closed set of outcome kinds. Every answer (and every missing answer) is exactly one of them.
 *
 * - `success`: definite. For a charge: `PCD_PAY_RST=success` and the returned OID and total equal
 *   what was sent.
 * - `soft_decline`: definite failure, nothing charged; retry later (dunning schedule). Also every
 *   failure code the client does not recognise.
 * - `hard_decline`: definite failure; the card / account must be replaced (or the key is gone).
 * - `config_error`: the partner's configuration is wrong (credentials, Referer, limits); alert the
 *   operator, do not retry.
 * - `token_expired`: the auth token was refused; authenticate again and resend the same OID.
 * - `duplicate_oid`: Payple refused the OID as already used (also while the first request with it is
 *   still processing, and the month guard); the refusal does not carry the original result: look it up.
 * - `unknown`: money may or may not have moved (timeout, connection error, 5xx, unparseable body,
 *   "no answer from the card company", "result not received", Payple-internal errors, a success
 *   whose OID or amount does not match). Never a decline: resolve by webhook or result lookup with
 *   the same OID.
 * - `lookup_limited`: result lookups only: Payple's 1,000 lookups per 10 minutes are used up
 *   (`PCHK9997`). Says nothing about the payment; look it up again later.
 */
export const OutcomeKind = {
  Success: 'success',
  SoftDecline: 'soft_decline',
  HardDecline: 'hard_decline',
  ConfigError: 'config_error',
  TokenExpired: 'token_expired',
  DuplicateOid: 'duplicate_oid',
  Unknown: 'unknown',
  LookupLimited: 'lookup_limited',
} as const;
export type OutcomeKind = (typeof OutcomeKind)[keyof typeof OutcomeKind];
export type FailureKind = Exclude<OutcomeKind, 'success'>;
/** A charge (billing-key charge or CERT confirm) never ends `lookup_limited`. */
export type ChargeFailureKind = Exclude<FailureKind, 'lookup_limited'>;

/** Why an answer was classified the way it was (machine-readable, safe to log). */
export type ClassificationReason =
  /** `PCD_PAY_RST=success` with everything that had to match. */
  | 'success'
  /** Payple's own code is in the code table. */
  | 'payple_code'
  /** The card company's / bank's code inside `PCD_PAY_MSG` decided. */
  | 'issuer_code'
  /** A failure whose codes the client does not know: soft decline by rule. */
  | 'unrecognised_code'
  /** A success whose `PCD_PAY_OID` is missing or differs from the one sent. */
  | 'oid_mismatch'
  /** A success whose `PCD_PAY_TOTAL` (or refund total) is missing, invalid or differs. */
  | 'amount_mismatch'
  /** `PCD_PAY_RST=success` together with a failure code. */
  | 'contradictory_answer'
  /** No answer or no usable answer: missing result field, unparseable or schema-invalid body. */
  | 'invalid_answer'
  | 'timeout'
  | 'connection_error'
  | 'http_status'
  /** Auth returned a `return_url` outside the allowed hosts: nothing was sent there. */
  | 'return_url_not_allowed';

/**
 * Where a failure happened. `auth`: the partner auth step failed, so the operation itself was never
 * sent (a charge with `stage: 'auth'` certainly did not move money, whatever its kind).
 */
export type FailureStage = 'auth' | 'operation';

export interface PaypleSuccess<T> {
  readonly kind: 'success';
  /** Payple's success code (`SPCD0000`, `PCHK0000`, ...), when it sent one. */
  readonly code: string | undefined;
  readonly value: T;
}

export interface PaypleFailure<K extends FailureKind = FailureKind> {
  readonly kind: K;
  readonly stage: FailureStage;
  readonly reason: ClassificationReason;
  /** Payple's own code (`PCD_PAY_CODE`, or the bracketed code of the message). */
  readonly code: string | undefined;
  /** The card company's or bank's code parsed from `PCD_PAY_MSG` (`3133`, `1003`, ...). */
  readonly issuerCode: string | undefined;
  /** Payple's message with every secret the client knows scrubbed out. */
  readonly message: string | undefined;
  /** The transport or validation error behind an `unknown`, for diagnostics. */
  readonly cause?: PaypleError;
}

export type PaypleOutcome<T, K extends FailureKind = FailureKind> = PaypleSuccess<T> | PaypleFailure<K>;

/** Card fields of a payment or billing key (masked as Payple sends them). */
export interface CardDetails {
  readonly type: 'card';
  readonly cardCode: string | undefined;
  readonly cardName: string | undefined;
  readonly maskedCardNumber: string | undefined;
  readonly tradeNumber: string | undefined;
  readonly approvalNumber: string | undefined;
  readonly receiptUrl: string | undefined;
}

/** Bank-account fields of a payment or billing key (masked as Payple sends them). */
export interface BankDetails {
  readonly type: 'transfer';
  readonly bankCode: string | undefined;
  readonly bankName: string | undefined;
  readonly maskedAccountNumber: string | undefined;
}

export type PaymentMethodDetails = CardDetails | BankDetails;

/** A payment Payple confirmed (charge, CERT confirm or result lookup). */
export interface PaymentReceipt {
  readonly oid: string;
  readonly payType: PayType;
  /** Whole KRW, equal to what was sent / expected. */
  readonly amount: number;
  /** `PCD_PAY_TIME` as ISO 8601 with `+09:00`, when Payple sent one. */
  readonly paidAt: string | undefined;
  readonly method: PaymentMethodDetails;
}

/** A month for Payple's month guard (`PCD_REGULER_FLAG`): refuses a second charge per key and month. */
export interface MonthGuard {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
}

export interface ChargeInput {
  readonly payType: PayType;
  /** `PCD_PAYER_ID`. Secret: never logged. */
  readonly billingKey: string;
  /** `PCD_PAY_OID`: ours, `[A-Za-z0-9_-]`, the only handle for lookup and dedup. */
  readonly oid: string;
  /** Whole KRW: card ≥ 100, transfer 1,000-2,000,000. */
  readonly amount: number;
  readonly goods: string;
  readonly monthGuard?: MonthGuard;
  readonly payerNo?: string;
  /** Personal data: sent, never logged. */
  readonly payerName?: string;
  /** Personal data: sent, never logged. */
  readonly payerPhone?: string;
  /** Personal data: sent, never logged. */
  readonly payerEmail?: string;
  /** `PCD_PAY_ISTAX`; Payple defaults to taxable. */
  readonly taxable?: boolean;
  /** `PCD_PAY_TAXTOTAL`: VAT of a mixed-tax order, whole KRW. */
  readonly taxTotal?: number;
  /** `PCD_TAXSAVE_FLAG` (transfer): issue a cash receipt. */
  readonly cashReceipt?: boolean;
}

export type ChargeOutcome = PaypleOutcome<PaymentReceipt, ChargeFailureKind>;

/** What the browser needs to open Payple's window (`PCD_AUTH_KEY`, `PCD_PAY_URL`, ...). */
export interface WindowAuth {
  /** `PCD_AUTH_KEY`. Goes to the browser; never logged. */
  readonly authKey: string;
  /** `PCD_PAY_URL` as the window script expects it: the auth answer's `return_url`. */
  readonly payUrl: string;
  /** `PCD_PAY_HOST` of the auth answer. */
  readonly payHost: string | undefined;
}

export type WindowAuthOutcome = PaypleOutcome<WindowAuth>;

/** CERT confirm: the fields the window posted to `PCD_RST_URL`, plus what we expect to be paid. */
export interface CertConfirmInput {
  /** `PCD_PAY_COFURL` from the window result. Must be `https://*.payple.kr` or the sandbox. */
  readonly confirmUrl: string;
  /** `PCD_AUTH_KEY` from the window result. */
  readonly authKey: string;
  /** `PCD_PAY_REQKEY` from the window result. */
  readonly requestKey: string;
  readonly billingKey: string;
  readonly payType: PayType;
  /** The checkout session's OID and amount: a success that does not match them is `unknown`. */
  readonly expectedOid: string;
  readonly expectedAmount: number;
}

export interface BillingKeyInput {
  readonly billingKey: string;
  readonly payerNo?: string;
}

/** PUSERINFO: the state of a registered billing key. */
export interface BillingKeyInfo {
  readonly payType: PayType;
  readonly payerNo: string | undefined;
  /** Masked by Payple (`010-****-5678`). */
  readonly maskedPhone: string | undefined;
  readonly method: PaymentMethodDetails;
}

export type BillingKeyInfoOutcome = PaypleOutcome<BillingKeyInfo>;

export interface BillingKeyDeletion {
  readonly deleted: true;
}

export type BillingKeyDeleteOutcome = PaypleOutcome<BillingKeyDeletion>;

export interface PaymentLookupInput {
  readonly oid: string;
  readonly payType: PayType;
  /** The attempt's KST request date, `YYYYMMDD` (see `kstDate`). */
  readonly date: string;
  /** The amount charged with this OID: a paid answer with another amount is `unknown`. */
  readonly expectedAmount: number;
}

export type PaymentLookupOutcome = PaypleOutcome<PaymentReceipt>;

export interface RefundInput {
  readonly oid: string;
  /** The original payment's KST date, `YYYYMMDD`. */
  readonly payDate: string;
  /** Whole KRW to refund; less than the payment is a partial refund. */
  readonly amount: number;
  readonly payType?: PayType;
  /** The payment's month guard, if it was charged with one. */
  readonly monthGuard?: MonthGuard;
}

export interface RefundReceipt {
  readonly oid: string;
  readonly refundedAmount: number;
  /** `PCD_REFUND_TIME` (or `PCD_PAY_TIME`) as ISO 8601 with `+09:00`, when sent. */
  readonly refundedAt: string | undefined;
  /**
   * The field `refundedAt` came from. Payple's cancellation webhook carries `PCD_REFUND_TIME`, by
   * which a refund is recognised again; a `PCD_PAY_TIME` may be the original payment's time.
   */
  readonly refundedAtField: 'PCD_REFUND_TIME' | 'PCD_PAY_TIME' | undefined;
}

export type RefundOutcome = PaypleOutcome<RefundReceipt, ChargeFailureKind>;
