/**
 * The response codes and messages the sandbox answers, in one place.
 *
 * Codes that PAYPLE.md or Payple's pages name are used as named there (SPCD0000, SPCD0004,
 * SPCD0014, RPCD0006, RPCD0015, RPAY0008, SPCD1001, CPAY0018, PCHK0000, PCHK9997, PUER0000,
 * PAYC0000, PCCF0000, AUTH0004 ...). Where Payple publishes no code for a situation the sandbox
 * must still answer, it uses the same family prefix and a number chosen here; every such choice is
 * marked "sandbox" and listed in the README, so nobody mistakes it for a Payple fact.
 */

export type PayType = 'card' | 'transfer';

/** The billing-key charge routes: `PCD_SIMPLE_FLAG=Y` and the monthly-guarded `PCD_REGULER_FLAG=Y`. */
export type ChargeRoute = 'simple' | 'regular';

/** Every answer the partner's server or browser receives carries these three fields. */
export interface PaypleStatus {
  readonly PCD_PAY_RST: 'success' | 'error' | 'close';
  readonly PCD_PAY_CODE: string;
  readonly PCD_PAY_MSG: string;
}

/** Partner-auth failures, answered as `{result: 'error', result_msg: '[CODE] text'}`. */
export const authCodes = {
  /** sandbox: cst_id missing or unknown. */
  unknownPartner: { code: 'AUTH0001', text: '존재하지 않는 파트너 아이디입니다.' },
  /** sandbox: custKey does not match the cst_id. */
  wrongKey: { code: 'AUTH0002', text: '파트너 인증키가 일치하지 않습니다.' },
  /** sandbox: the request itself is unusable (not JSON, not an object, conflicting purpose flags). */
  badRequest: { code: 'AUTH0003', text: '요청 파라미터가 올바르지 않습니다.' },
  /** Live Payple's answer to a missing or unregistered Referer (the test host says AUTH0007). */
  referer: { code: 'AUTH0004', text: '등록되지 않은 도메인(Referer)에서의 요청입니다.' },
  /** sandbox: window opened with an AuthKey that is unknown, used, expired or of another purpose. */
  windowToken: {
    code: 'AUTH0005',
    text: '파트너 인증 토큰이 유효하지 않습니다. 파트너 인증을 다시 진행해주세요.',
  },
} as const;

/** Codes of one billing-key charge route and pay type. */
export interface ChargeCodes {
  readonly success: string;
  readonly missing: string;
  readonly invalid: string;
  readonly token: string;
  readonly keyMissing: string;
  readonly keyDeleted: string;
  readonly duplicate: string;
  readonly monthGuard: string;
  readonly declined: string;
  readonly noAnswer: string;
}

const noAnswerCode: Record<PayType, string> = { card: 'SPCD1001', transfer: 'CPAY0018' };

/**
 * Success is `SPCD0000` on both routes (the only documented success code of a billing-key charge);
 * failures carry the route's family: SPCD on `PCD_SIMPLE_FLAG`, RPCD on `PCD_REGULER_FLAG`, and
 * SPAY/RPAY for a bank's decline. Numbers 0002/0003/0011/0012/0099 are sandbox choices.
 */
export function chargeCodes(route: ChargeRoute, payType: PayType): ChargeCodes {
  const family = route === 'simple' ? 'SPCD' : 'RPCD';
  const declineFamily = payType === 'card' ? family : route === 'simple' ? 'SPAY' : 'RPAY';
  return {
    success: 'SPCD0000',
    missing: `${family}0002`,
    invalid: `${family}0003`,
    token: route === 'simple' ? 'SPCD0004' : 'RPCD0006',
    keyMissing: `${family}0011`,
    keyDeleted: `${family}0012`,
    duplicate: route === 'simple' ? 'SPCD0014' : 'RPCD0015',
    monthGuard: 'RPAY0008',
    declined: `${declineFamily}0099`,
    noAnswer: payType === 'card' && route === 'regular' ? 'RPCD1001' : noAnswerCode[payType],
  };
}

/** Codes of the CERT confirm call (`PCD_PAY_COFURL`). */
export const confirmCodes = {
  success: 'PCCF0000',
  /** sandbox */
  missing: 'PCCF0002',
  /** sandbox: credentials, AuthKey, REQKEY or billing key do not match the pending payment. */
  invalid: 'PCCF0003',
  /** sandbox: confirm later than 10 minutes after the window (one integrator reports the limit). */
  expired: 'PCCF0004',
  /** sandbox: the payment was already confirmed. */
  duplicate: 'PCCF0014',
  /** Card company decline at confirm; live messages read `[PCCFD001] 1062 - 할부거래 사용불가 카드`. */
  declined: 'PCCFD001',
  noAnswer: noAnswerCode,
} as const;

/** Codes of the payment-result lookup (`PCD_PAYCHK_FLAG=Y`). */
export const lookupCodes = {
  success: 'PCHK0000',
  /** sandbox */
  missing: 'PCHK0002',
  /** sandbox */
  invalid: 'PCHK0003',
  /** sandbox */
  token: 'PCHK0004',
  /** sandbox: no finished payment with this OID, date and pay type (also while one is processing). */
  notFound: 'PCHK0011',
  /** sandbox: the attempt exists and took no money (declined, or no answer and not charged). */
  notCharged: 'PCHK0012',
  /** Documented: more than 1,000 lookups within 10 minutes. */
  limit: 'PCHK9997',
  limitMessage: '결제결과 조회는 10분에 1,000건을 초과한 요청은 거부됩니다.',
} as const;

/** Codes of PUSERINFO / PUSERDEL. */
export const payerCodes = {
  /** Documented PUSERINFO success code (the page shows "0000"). */
  infoSuccess: '0000',
  /** Seen in production code for PUSERDEL. */
  deleteSuccess: 'PUER0000',
  /** sandbox */
  missing: 'PUER0002',
  /** sandbox */
  invalid: 'PUER0003',
  /** sandbox */
  token: 'PUER0004',
  /** sandbox: no such billing key for this partner. */
  notFound: 'PUER0011',
  /** sandbox: the key was deleted (by PUSERDEL or in Payple's admin). */
  deleted: 'PUER0012',
} as const;

/** Codes of the cancel / refund call (`PCD_PAYCANCEL_FLAG=Y`). */
export const cancelCodes = {
  success: 'PAYC0000',
  /** sandbox */
  missing: 'PAYC0002',
  /** sandbox */
  invalid: 'PAYC0003',
  /** sandbox */
  token: 'PAYC0004',
  /** sandbox: PCD_REFUND_KEY does not match the partner's refund key. */
  refundKey: 'PAYC0005',
  /** sandbox: no charged payment with this OID and original payment date. */
  notFound: 'PAYC0011',
  /** sandbox: the refund would exceed what is left of the payment. */
  exceeds: 'PAYC0012',
} as const;

/** Codes of the payment window's own results. */
export const windowCodes = {
  /** The window pages document "0000" for a successful registration or payment. */
  success: '0000',
  /** sandbox: a window parameter is missing or invalid. */
  invalid: 'CPAY0003',
} as const;

/** Builds an error status; the message keeps Payple's `[CODE] text` habit. */
export function errorStatus(code: string, text: string): PaypleStatus {
  return { PCD_PAY_RST: 'error', PCD_PAY_CODE: code, PCD_PAY_MSG: `[${code}] ${text}` };
}
