/**
 * Payment result lookup (`PCD_PAYCHK_FLAG=Y`): by OID, the KST request date and the pay type, under
 * the partner-wide budget of 1,000 lookups per 10 minutes.
 *
 * Answers: `success`/PCHK0000 with the payment's fields when money was taken (also for SPCD1001
 * or CPAY0018 answers and lost answers: the lookup tells the truth); `error`/PCHK0012 when the
 * attempt took nothing; `error`/PCHK0011 when there is no finished attempt (also while one is
 * still processing: "not found" is not "not charged"); `error`/PCHK9997 over the budget.
 */
import { lookupCodes } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { jsonReply } from '../http.ts';
import {
  answering,
  edgeFields,
  Refusal,
  requireFlag,
  useToken,
  type OperationResult,
  type ServerCall,
} from './common.ts';
import { paymentFields } from './payment.ts';

export function lookup(core: SandboxCore, call: ServerCall): Promise<OperationResult> {
  return answering(lookupCodes, async () => {
    await core.pause(call.delayMs);
    const fields = edgeFields(core, call, lookupCodes);
    const token = useToken(core, fields, ['payCheck'], lookupCodes.token);
    requireFlag(fields, 'PCD_PAYCHK_FLAG');
    const payType = fields.oneOf('PCD_PAY_TYPE', ['card', 'transfer'] as const);
    const oid = fields.required('PCD_PAY_OID');
    const date = fields.requiredDigits('PCD_PAY_DATE', 8);
    if (!core.lookups.take(token.cstId, core.clock.now())) {
      return {
        reply: jsonReply({
          PCD_PAY_RST: 'error',
          PCD_PAY_CODE: lookupCodes.limit,
          PCD_PAY_MSG: lookupCodes.limitMessage,
        }),
      };
    }
    const record = core.ledger.charge(token.cstId, oid);
    if (record?.state !== 'settled' || record.payDate !== date || record.payType !== payType) {
      throw new Refusal(lookupCodes.notFound, '조회된 결제내역이 없습니다.', {
        PCD_PAY_OID: oid,
        PCD_PAY_TYPE: payType,
      });
    }
    const key = core.ledger.billingKey(token.cstId, record.payerId);
    const fieldsOut = paymentFields(core, record, key, 'display');
    if (!record.charged) {
      return {
        reply: jsonReply({
          PCD_PAY_RST: 'error',
          PCD_PAY_CODE: lookupCodes.notCharged,
          PCD_PAY_MSG: `결제실패 - ${record.answer?.PCD_PAY_MSG ?? ''}`,
          ...fieldsOut,
        }),
      };
    }
    return {
      reply: jsonReply({
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: lookupCodes.success,
        PCD_PAY_MSG: '결제완료',
        ...fieldsOut,
      }),
    };
  });
}
