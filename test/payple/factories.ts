/** Factories for Payple answers and inputs used across the Payple client tests. */
import type { ChargeInput } from '../../functions/payple/index.ts';

export type Answer = Record<string, unknown>;

/** A billing-key charge that Payple approved, echoing what was sent. */
export function chargeSuccess(overrides: Answer = {}): Answer {
  return {
    PCD_PAY_RST: 'success',
    PCD_PAY_CODE: 'SPCD0000',
    PCD_PAY_MSG: '카드결제완료',
    PCD_PAY_OID: 'sub_1-202501-1',
    PCD_PAY_TYPE: 'card',
    PCD_PAYER_ID: 'BILLINGKEY-SECRET-0001',
    PCD_PAYER_HP: '01012345678',
    PCD_PAYER_EMAIL: 'customer@example.com',
    PCD_PAY_GOODS: 'Monthly plan',
    PCD_PAY_TOTAL: '9900',
    PCD_PAY_TIME: '20250105093000',
    PCD_PAY_CARDNAME: 'BC카드',
    PCD_PAY_CARDNUM: '9410-****-****-0001',
    PCD_PAY_CARDTRADENUM: '202501050930001234567890',
    PCD_PAY_CARDAUTHNO: '12345678',
    ...overrides,
  };
}

/** A failure answer in Payple's shape. */
export function failure(code: string, message = `[${code}] 실패`, overrides: Answer = {}): Answer {
  return { PCD_PAY_RST: 'error', PCD_PAY_CODE: code, PCD_PAY_MSG: message, ...overrides };
}

/** A decline carrying the issuer's code the way Payple's messages do. */
export function issuerDecline(paypleCode: string, issuerCode: string, text = '거절'): Answer {
  return failure(paypleCode, `[${paypleCode}] ${issuerCode} - ${text}`);
}

export const secrets = {
  custKey: 'PARTNER-CUSTKEY-abcdef123456',
  refundKey: 'REFUND-KEY-a41ce010ede9fcbfb3be86b2',
  billingKey: 'BILLINGKEY-SECRET-0001',
  phone: '01012345678',
  email: 'customer@example.com',
} as const;

/** A valid card charge; override what a test is about. */
export function chargeInput(overrides: Partial<ChargeInput> = {}): ChargeInput {
  return {
    payType: 'card',
    billingKey: secrets.billingKey,
    oid: 'sub_1-202501-1',
    amount: 9900,
    goods: 'Monthly plan',
    payerPhone: secrets.phone,
    payerEmail: secrets.email,
    ...overrides,
  };
}
