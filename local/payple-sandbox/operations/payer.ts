/**
 * Billing-key status (PUSERINFO) and deletion (PUSERDEL). A deleted key stays deleted: charges on
 * it are refused with the route's "key deleted" code. Deleting through the API sends no webhook
 * (Payple only notifies keys ended in its own admin).
 */
import { payerCodes } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { jsonReply } from '../http.ts';
import { instrumentFields, maskPhone } from '../instruments.ts';
import type { BillingKey } from '../ledger.ts';
import type { Fields } from '../http.ts';
import type { Token } from '../tokens.ts';
import { answering, edgeFields, Refusal, useToken, type OperationResult, type ServerCall } from './common.ts';

function activeKey(core: SandboxCore, token: Token, fields: Fields): BillingKey {
  const payerId = fields.required('PCD_PAYER_ID');
  const key = core.ledger.billingKey(token.cstId, payerId);
  if (!key) throw new Refusal(payerCodes.notFound, '등록된 빌링키(PCD_PAYER_ID)를 찾을 수 없습니다.');
  if (key.status === 'deleted') throw new Refusal(payerCodes.deleted, '해지된 빌링키(PCD_PAYER_ID)입니다.');
  return key;
}

const edgeCodes = { missing: payerCodes.missing, invalid: payerCodes.invalid };

export function userInfo(core: SandboxCore, call: ServerCall): Promise<OperationResult> {
  return answering(edgeCodes, async () => {
    await core.pause(call.delayMs);
    const fields = edgeFields(core, call, edgeCodes);
    const token = useToken(core, fields, ['userInfo'], payerCodes.token);
    const key = activeKey(core, token, fields);
    return {
      reply: jsonReply({
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: payerCodes.infoSuccess,
        PCD_PAY_MSG: '회원조회 성공',
        PCD_PAY_WORK: 'PUSERINFO',
        PCD_PAY_TYPE: key.instrument.payType,
        PCD_PAY_BANKACCTYPE: '개인',
        PCD_PAYER_ID: key.payerId,
        PCD_PAYER_NAME: key.payer.payerName,
        PCD_PAYER_HP: maskPhone(key.payer.payerHp),
        ...instrumentFields(key.instrument),
        PCD_PAY_ISTAX: 'Y',
      }),
    };
  });
}

export function userDel(core: SandboxCore, call: ServerCall): Promise<OperationResult> {
  return answering(edgeCodes, async () => {
    await core.pause(call.delayMs);
    const fields = edgeFields(core, call, edgeCodes);
    const token = useToken(core, fields, ['userDel'], payerCodes.token);
    const key = activeKey(core, token, fields);
    core.ledger.deleteBillingKey(key, 'PUSERDEL', core.clock.now());
    return {
      reply: jsonReply({
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: payerCodes.deleteSuccess,
        PCD_PAY_MSG: '빌링키 해지 완료',
        PCD_PAY_WORK: 'PUSERDEL',
        PCD_PAY_TYPE: key.instrument.payType,
        PCD_PAYER_ID: key.payerId,
      }),
    };
  });
}
