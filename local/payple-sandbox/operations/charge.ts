/**
 * Billing-key charges: `PCD_SIMPLE_FLAG=Y` and the monthly-guarded `PCD_REGULER_FLAG=Y`, card or
 * transfer. Order of checks: edge, token, fields, amount, billing key, OID, month guard; only an
 * attempt that passes them all claims its OID, so a refused request (an expired token, say) can be
 * resent with the same OID.
 */
import { chargeCodes, type ChargeRoute, type PayType } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { FieldError, jsonReply } from '../http.ts';
import type { PayerFields } from '../ledger.ts';
import {
  answering,
  edgeFields,
  Refusal,
  requireFlag,
  useToken,
  type OperationResult,
  type ServerCall,
} from './common.ts';
import { deliveryRecorder, emitChargeWebhook, executeCharge, paymentFields } from './payment.ts';

/** Payple's limits per transaction, in won. */
export const MIN_AMOUNT: Record<PayType, number> = { card: 100, transfer: 1_000 };
export const MAX_TRANSFER_AMOUNT = 2_000_000;

export function amountProblem(payType: PayType, amount: number): string | undefined {
  if (amount < MIN_AMOUNT[payType]) {
    return `최소 결제금액은 ${MIN_AMOUNT[payType].toLocaleString('ko-KR')}원 입니다.`;
  }
  if (payType === 'transfer' && amount > MAX_TRANSFER_AMOUNT) {
    return `계좌 1회 최대 결제금액(${MAX_TRANSFER_AMOUNT.toLocaleString('ko-KR')}원)을 초과했습니다.`;
  }
  return undefined;
}

export function payerFieldsFrom(fields: {
  optional(name: string, maxLength?: number): string | undefined;
  optionalDigits(name: string, maxLength?: number): string | undefined;
}): PayerFields {
  return {
    payerNo: fields.optionalDigits('PCD_PAYER_NO', 20) ?? '',
    payerName: fields.optional('PCD_PAYER_NAME', 80) ?? '',
    payerHp: fields.optionalDigits('PCD_PAYER_HP', 15) ?? '',
    payerEmail: fields.optional('PCD_PAYER_EMAIL', 100) ?? '',
  };
}

/** Payple's OIDs are `aN(255)`; real ones also carry `_` and `-`. */
export const OID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

export function charge(
  core: SandboxCore,
  call: ServerCall,
  route: ChargeRoute,
  pathPayType: PayType,
): Promise<OperationResult> {
  const codes = chargeCodes(route, pathPayType);
  return answering(codes, async () => {
    const fields = edgeFields(core, call, codes);
    const token = useToken(
      core,
      fields,
      [route === 'simple' ? 'simpleCharge' : 'regularCharge'],
      codes.token,
    );
    if (token.payType !== pathPayType)
      throw new Refusal(codes.token, '다른 결제수단으로 발급된 파트너 인증 토큰입니다.');
    requireFlag(fields, route === 'simple' ? 'PCD_SIMPLE_FLAG' : 'PCD_REGULER_FLAG');
    const payType = fields.oneOf('PCD_PAY_TYPE', ['card', 'transfer'] as const);
    if (payType !== pathPayType) throw new FieldError('invalid', 'PCD_PAY_TYPE');
    const payerId = fields.required('PCD_PAYER_ID');
    const goods = fields.required('PCD_PAY_GOODS');
    const amount = fields.amount('PCD_PAY_TOTAL');
    const requestedOid = fields.optional('PCD_PAY_OID');
    if (requestedOid !== undefined && !OID_PATTERN.test(requestedOid))
      throw new FieldError('invalid', 'PCD_PAY_OID');
    const payer = payerFieldsFrom(fields);
    const isTax = fields.optionalOneOf('PCD_PAY_ISTAX', ['Y', 'N'] as const) ?? 'Y';
    const taxTotal = fields.optionalDigits('PCD_PAY_TAXTOTAL', 9) ?? '0';
    fields.flag('PCD_TAXSAVE_FLAG');
    let guard: { year: number; month: number } | undefined;
    if (route === 'regular') {
      const year = Number(fields.requiredDigits('PCD_PAY_YEAR', 4));
      const monthText = fields.optionalDigits('PCD_PAY_MONTH', 2);
      if (monthText === undefined) throw new FieldError('missing', 'PCD_PAY_MONTH');
      const month = Number(monthText);
      if (month < 1 || month > 12) throw new FieldError('invalid', 'PCD_PAY_MONTH');
      guard = { year, month };
    }
    const problem = amountProblem(payType, amount);
    if (problem !== undefined) throw new Refusal(codes.invalid, problem);

    const key = core.ledger.billingKey(token.cstId, payerId);
    if (!key) throw new Refusal(codes.keyMissing, '등록된 빌링키(PCD_PAYER_ID)를 찾을 수 없습니다.');
    if (key.status === 'deleted') throw new Refusal(codes.keyDeleted, '해지된 빌링키(PCD_PAYER_ID)입니다.');
    if (key.instrument.payType !== payType) {
      throw new Refusal(
        codes.invalid,
        `빌링키의 결제수단(${key.instrument.payType})과 PCD_PAY_TYPE 이 다릅니다.`,
      );
    }

    const now = core.clock.now();
    const oid = requestedOid ?? core.ledger.inventOid(now);
    // The refusal carries nothing of the original attempt's result, as on Payple.
    const refusedEcho = {
      PCD_PAY_OID: oid,
      PCD_PAY_TYPE: payType,
      PCD_PAYER_ID: payerId,
      PCD_PAY_TOTAL: String(amount),
    };
    if (core.ledger.charge(token.cstId, oid)) {
      throw new Refusal(codes.duplicate, '이미 처리된 거래입니다. (주문번호 중복)', refusedEcho);
    }
    if (guard && core.ledger.monthTaken(payerId, guard.year, guard.month)) {
      throw new Refusal(
        codes.monthGuard,
        `${guard.year}년 ${guard.month}월 정기결제가 이미 처리되었습니다.`,
        refusedEcho,
      );
    }
    const record = core.ledger.begin(
      {
        oid,
        cstId: token.cstId,
        payerId,
        payType,
        amount,
        origin: route,
        goods,
        payer,
        isTax,
        taxTotal,
        guard,
      },
      now,
    );
    if (!record) throw new Refusal(codes.duplicate, '이미 처리된 거래입니다. (주문번호 중복)', refusedEcho);

    const result = await executeCharge(core, record, key, codes, {
      delayMs: call.delayMs,
      noAnswer: call.noAnswer,
    });
    const routeFields: Record<string, string> = guard
      ? { PCD_REGULER_FLAG: 'Y', PCD_PAY_YEAR: String(guard.year), PCD_PAY_MONTH: String(guard.month) }
      : { PCD_SIMPLE_FLAG: 'Y' };
    emitChargeWebhook(core, 'charge', record, key, result, routeFields);
    return {
      reply: jsonReply({ ...result.status, ...paymentFields(core, record, key), ...routeFields }),
      onDelivered: deliveryRecorder(record),
    };
  });
}
