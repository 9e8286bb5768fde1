/**
 * CERT confirm: after a CERT window, the partner's server posts `{PCD_CST_ID, PCD_CUST_KEY,
 * PCD_AUTH_KEY, PCD_PAY_REQKEY, PCD_PAYER_ID}` to PCD_PAY_COFURL and only then is the customer
 * charged. Per Payple's page and samples, PCD_CST_ID / PCD_CUST_KEY here are the partner's own
 * credentials, not auth tokens; PCD_AUTH_KEY is the one the window result carried.
 */
import { confirmCodes, type PayType } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { jsonReply } from '../http.ts';
import { answering, edgeFields, Refusal, type OperationResult, type ServerCall } from './common.ts';
import { deliveryRecorder, emitChargeWebhook, executeCharge, paymentFields } from './payment.ts';

/** One integrator reports the confirm must follow the window within 10 minutes (unconfirmed). */
export const CERT_CONFIRM_WINDOW_MS = 10 * 60 * 1000;

export function confirm(core: SandboxCore, call: ServerCall, pathPayType: PayType): Promise<OperationResult> {
  return answering(confirmCodes, async () => {
    const fields = edgeFields(core, call, confirmCodes);
    const cstId = fields.required('PCD_CST_ID');
    const custKey = fields.required('PCD_CUST_KEY');
    const authKey = fields.required('PCD_AUTH_KEY');
    const reqKey = fields.required('PCD_PAY_REQKEY');
    const payerId = fields.required('PCD_PAYER_ID');
    const partner = core.partners.get(cstId);
    if (partner?.custKey !== custKey)
      throw new Refusal(confirmCodes.invalid, '파트너 아이디 또는 인증키가 일치하지 않습니다.');
    const pending = core.certs.get(reqKey);
    if (pending?.cstId !== cstId || pending.authKey !== authKey || pending.payerId !== payerId) {
      throw new Refusal(
        confirmCodes.invalid,
        '결제요청 정보(PCD_AUTH_KEY, PCD_PAY_REQKEY, PCD_PAYER_ID)가 일치하지 않습니다.',
      );
    }
    if (pending.session.payType !== pathPayType)
      throw new Refusal(confirmCodes.invalid, '결제수단이 일치하지 않습니다.');
    if (pending.confirmed)
      throw new Refusal(confirmCodes.duplicate, '이미 승인 요청된 결제입니다.', { PCD_PAY_OID: pending.oid });
    const now = core.clock.now();
    if (now - pending.createdAt > CERT_CONFIRM_WINDOW_MS) {
      throw new Refusal(confirmCodes.expired, '결제창 인증 후 10분이 지나 승인할 수 없습니다.', {
        PCD_PAY_OID: pending.oid,
      });
    }
    const key = core.ledger.billingKey(cstId, payerId);
    if (key?.status !== 'active')
      throw new Refusal(confirmCodes.invalid, '해지되었거나 존재하지 않는 빌링키입니다.');
    const { session } = pending;
    const record = core.ledger.begin(
      {
        oid: pending.oid,
        cstId,
        payerId,
        payType: session.payType,
        amount: session.total ?? 0,
        origin: 'certConfirm',
        goods: session.goods,
        payer: session.payer,
        isTax: session.isTax,
        taxTotal: session.taxTotal,
        guard: undefined,
      },
      now,
    );
    if (!record)
      throw new Refusal(confirmCodes.duplicate, '이미 처리된 거래입니다. (주문번호 중복)', {
        PCD_PAY_OID: pending.oid,
      });
    pending.confirmed = true;
    const codes = {
      success: confirmCodes.success,
      declined: confirmCodes.declined,
      noAnswer: confirmCodes.noAnswer[session.payType],
    };
    const result = await executeCharge(core, record, key, codes, {
      delayMs: call.delayMs,
      noAnswer: call.noAnswer,
    });
    const amount = String(record.amount);
    const extra = {
      PCD_PAY_REQKEY: reqKey,
      PCD_PAY_AMOUNT: amount,
      PCD_PAY_AMOUNT_REAL: amount,
      PCD_PAY_DISCOUNT: '0',
      PCD_SIMPLE_FLAG: 'N',
    };
    emitChargeWebhook(core, 'certConfirm', record, key, result, { ...extra, PCD_PAY_WORK: 'CERT' });
    return {
      reply: jsonReply({ ...result.status, ...paymentFields(core, record, key), ...extra }),
      onDelivered: deliveryRecorder(record),
    };
  });
}
