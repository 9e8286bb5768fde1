import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import {
  auth,
  charge,
  ManualClock,
  post,
  REFUND_KEY,
  START_KST_DATE,
  startSandbox,
  tokens,
  type AuthAnswer,
} from './helpers.ts';

let sandbox: RunningPaypleSandbox;
let clock: ManualClock;

beforeAll(async () => {
  ({ sandbox, clock } = await startSandbox());
});
beforeEach(() => {
  sandbox.admin.reset();
  clock.set();
});
afterAll(async () => {
  await sandbox.stop();
});

function userCall(token: AuthAnswer, payerId: string): Promise<{ json: Record<string, string> }> {
  return post(token.return_url, { ...tokens(token), PCD_PAYER_ID: payerId });
}

describe('PUSERINFO', () => {
  it('answers 0000 with masked card fields', async () => {
    const payerId = sandbox.admin.createBillingKey({
      card: 'success',
      payerName: '홍길동',
      payerHp: '01012345678',
    }).PCD_PAYER_ID;

    const { json } = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' }), payerId);

    expect(json).toEqual({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: '0000',
      PCD_PAY_MSG: '회원조회 성공',
      PCD_PAY_WORK: 'PUSERINFO',
      PCD_PAY_TYPE: 'card',
      PCD_PAY_BANKACCTYPE: '개인',
      PCD_PAYER_ID: payerId,
      PCD_PAYER_NAME: '홍길동',
      PCD_PAYER_HP: '010-****-5678',
      PCD_PAY_CARD: '0200',
      PCD_PAY_CARDNAME: 'BC카드',
      PCD_PAY_CARDNUM: '9410-****-****-0001',
      PCD_PAY_ISTAX: 'Y',
    });
  });

  it('answers masked bank fields for an account', async () => {
    const payerId = sandbox.admin.createBillingKey({ account: 'success' }).PCD_PAYER_ID;

    const { json } = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' }), payerId);

    expect(json).toMatchObject({
      PCD_PAY_TYPE: 'transfer',
      PCD_PAY_BANK: '020',
      PCD_PAY_BANKNAME: '우리은행',
      PCD_PAY_BANKNUM: '100-*******-001',
    });
    expect(JSON.stringify(json)).not.toContain('1002000000001');
  });

  it('serves many lookups with one token for 30 minutes', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const token = await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' });

    const first = await userCall(token, payerId);
    clock.advance(29 * 60 * 1000);
    const second = await userCall(token, payerId);
    clock.advance(60 * 1000);
    const expired = await userCall(token, payerId);

    expect(first.json['PCD_PAY_CODE']).toBe('0000');
    expect(second.json['PCD_PAY_CODE']).toBe('0000');
    expect(expired.json['PCD_PAY_CODE']).toBe('PUER0004');
  });

  it('answers PUER0011 for a key it never issued', async () => {
    const { json } = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' }), 'nope');

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'PUER0011' });
  });
});

describe('PUSERDEL', () => {
  it('deletes the key (PUER0000): charges and PUSERINFO then refuse it, no webhook', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;

    const deleted = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERDEL' }), payerId);
    const charged = await charge(sandbox, { payerId });
    const info = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' }), payerId);
    const again = await userCall(await auth(sandbox, { PCD_PAY_WORK: 'PUSERDEL' }), payerId);

    expect(deleted.json).toEqual({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PUER0000',
      PCD_PAY_MSG: '빌링키 해지 완료',
      PCD_PAY_WORK: 'PUSERDEL',
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
    });
    expect(charged.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0012' });
    expect(info.json['PCD_PAY_CODE']).toBe('PUER0012');
    expect(again.json['PCD_PAY_CODE']).toBe('PUER0012');
    expect(sandbox.admin.billingKeys()[0]).toMatchObject({ status: 'deleted', deletedBy: 'PUSERDEL' });
    expect(sandbox.admin.webhooks()).toEqual([]);
  });

  it('serves one deletion per token', async () => {
    const first = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const second = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const token = await auth(sandbox, { PCD_PAY_WORK: 'PUSERDEL' });

    await userCall(token, first);

    expect((await userCall(token, second)).json['PCD_PAY_CODE']).toBe('PUER0004');
  });

  it('refuses a PUSERINFO token', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const token = await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' });

    const { json } = await post(`${sandbox.url}/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERDEL`, {
      ...tokens(token),
      PCD_PAYER_ID: payerId,
    });

    expect(json['PCD_PAY_CODE']).toBe('PUER0004');
    expect(sandbox.admin.billingKeys()[0]?.status).toBe('active');
  });
});

describe('cancel / refund', () => {
  async function refund(
    oid: string,
    total: string | number,
    extra: Record<string, unknown> = {},
  ): Promise<Record<string, string>> {
    const token = await auth(sandbox, { PCD_PAYCANCEL_FLAG: 'Y' });
    const { json } = await post(token.return_url, {
      ...tokens(token),
      PCD_REFUND_KEY: REFUND_KEY,
      PCD_PAYCANCEL_FLAG: 'Y',
      PCD_PAY_OID: oid,
      PCD_PAY_DATE: START_KST_DATE,
      PCD_REFUND_TOTAL: total,
      ...extra,
    });
    return json;
  }

  async function paid(oid: string, total = '10000'): Promise<void> {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    expect((await charge(sandbox, { payerId, oid, total })).json['PCD_PAY_RST']).toBe('success');
  }

  it('refunds partially, then the rest, and never more than paid in total', async () => {
    await paid('r-1');

    const first = await refund('r-1', '3000');
    const tooMuch = await refund('r-1', '7001');
    const rest = await refund('r-1', 7000);
    const beyond = await refund('r-1', '1');

    expect(first).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PAYC0000',
      PCD_PAY_MSG: '부분취소 완료',
      PCD_PAY_OID: 'r-1',
      PCD_REFUND_TOTAL: '3000',
      PCD_REFUND_TIME: '20250115100000',
    });
    expect(tooMuch).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'PAYC0012' });
    expect(rest).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_MSG: '승인취소 완료',
      PCD_REFUND_TOTAL: '7000',
    });
    expect(beyond['PCD_PAY_CODE']).toBe('PAYC0012');
    expect(sandbox.admin.ledgerEntry('r-1')).toMatchObject({
      status: 'refunded',
      chargedAmount: 0,
      refundedAmount: 10000,
      refunds: [expect.objectContaining({ amount: 3000 }), expect.objectContaining({ amount: 7000 })],
    });
  });

  it('shows a partial refund in the ledger', async () => {
    await paid('r-2');

    await refund('r-2', '2500');

    expect(sandbox.admin.ledgerEntry('r-2')).toMatchObject({
      status: 'partiallyRefunded',
      chargedAmount: 7500,
      refundedAmount: 2500,
    });
  });

  it('needs the refund key, the original KST date and a paid charge', async () => {
    await paid('r-3');
    const declinedKey = sandbox.admin.createBillingKey({ card: 'expired' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId: declinedKey, oid: 'r-declined' });

    expect((await refund('r-3', '100', { PCD_REFUND_KEY: 'wrong' }))['PCD_PAY_CODE']).toBe('PAYC0005');
    expect((await refund('r-3', '100', { PCD_REFUND_KEY: '' }))['PCD_PAY_CODE']).toBe('PAYC0002');
    expect((await refund('r-3', '100', { PCD_PAY_DATE: '20250116' }))['PCD_PAY_CODE']).toBe('PAYC0011');
    expect((await refund('unknown', '100'))['PCD_PAY_CODE']).toBe('PAYC0011');
    expect((await refund('r-declined', '100'))['PCD_PAY_CODE']).toBe('PAYC0011');
    expect((await refund('r-3', '0'))['PCD_PAY_CODE']).toBe('PAYC0003');
    expect((await refund('r-3', '-5'))['PCD_PAY_CODE']).toBe('PAYC0003');
    expect(sandbox.admin.ledgerEntry('r-3')?.refundedAmount).toBe(0);
  });

  it('serves one cancel per token', async () => {
    await paid('r-4');
    const token = await auth(sandbox, { PCD_PAYCANCEL_FLAG: 'Y' });
    const body = {
      ...tokens(token),
      PCD_REFUND_KEY: REFUND_KEY,
      PCD_PAYCANCEL_FLAG: 'Y',
      PCD_PAY_OID: 'r-4',
      PCD_PAY_DATE: START_KST_DATE,
      PCD_REFUND_TOTAL: '100',
    };

    await post(token.return_url, body);
    const second = await post(token.return_url, body);

    expect(second.json['PCD_PAY_CODE']).toBe('PAYC0004');
    expect(sandbox.admin.ledgerEntry('r-4')?.refundedAmount).toBe(100);
  });
});
