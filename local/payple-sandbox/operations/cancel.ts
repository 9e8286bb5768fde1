/**
 * Cancel / refund (`PCD_PAYCANCEL_FLAG=Y`): by OID and the original payment's KST date, with the
 * partner's refund key. A smaller total is a partial refund; all refunds together never exceed
 * what was paid.
 */
import { cancelCodes } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { jsonReply } from '../http.ts';
import { refundedTotal } from '../ledger.ts';
import {
  answering,
  edgeFields,
  Refusal,
  requireFlag,
  useToken,
  type OperationResult,
  type ServerCall,
} from './common.ts';

export function cancel(core: SandboxCore, call: ServerCall): Promise<OperationResult> {
  return answering(cancelCodes, async () => {
    await core.pause(call.delayMs);
    const fields = edgeFields(core, call, cancelCodes);
    const token = useToken(core, fields, ['cancel'], cancelCodes.token);
    requireFlag(fields, 'PCD_PAYCANCEL_FLAG');
    const refundKey = fields.required('PCD_REFUND_KEY');
    const oid = fields.required('PCD_PAY_OID');
    const date = fields.requiredDigits('PCD_PAY_DATE', 8);
    const amount = fields.amount('PCD_REFUND_TOTAL');
    const taxTotal = fields.optionalDigits('PCD_REFUND_TAXTOTAL', 9) ?? '';
    if (amount < 1) throw new Refusal(cancelCodes.invalid, '환불 요청금액은 1원 이상이어야 합니다.');
    if (core.partners.get(token.cstId)?.refundKey !== refundKey) {
      throw new Refusal(cancelCodes.refundKey, '환불서비스 키(PCD_REFUND_KEY)가 일치하지 않습니다.');
    }
    const record = core.ledger.charge(token.cstId, oid);
    if (record?.state !== 'settled' || !record.charged || record.payDate !== date) {
      throw new Refusal(cancelCodes.notFound, '취소할 결제내역이 없습니다.', { PCD_PAY_OID: oid });
    }
    const remaining = record.amount - refundedTotal(record);
    if (amount > remaining) {
      throw new Refusal(cancelCodes.exceeds, `환불 가능 금액(${remaining}원)을 초과했습니다.`, {
        PCD_PAY_OID: oid,
        PCD_REFUND_TOTAL: String(amount),
      });
    }
    const refund = core.ledger.refund(record, amount, core.clock.now());
    const body = {
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: cancelCodes.success,
      PCD_PAY_MSG: amount === remaining ? '승인취소 완료' : '부분취소 완료',
      PCD_PAY_OID: record.oid,
      PCD_PAY_TYPE: record.payType,
      PCD_PAYER_NO: record.payer.payerNo,
      PCD_PAYER_ID: record.payerId,
      PCD_PAY_GOODS: record.goods,
      PCD_PAY_TOTAL: String(record.amount),
      PCD_REFUND_TOTAL: String(amount),
      PCD_REFUND_TAXTOTAL: taxTotal,
      PCD_REFUND_TIME: refund.refundTime,
    } as const;
    core.webhooks.emit({
      operation: 'cancel',
      payType: record.payType,
      oid: record.oid,
      payerId: record.payerId,
      body: { PCD_CST_ID: record.cstId, PCD_PAYCANCEL_FLAG: 'Y', ...body },
    });
    return { reply: jsonReply(body) };
  });
}
