/**
 * The request samples printed in Payple's pages (shared/payple-docs) and Payple's sample
 * repositories, sent as printed: the sandbox must accept them and answer the documented fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { auth, ManualClock, post, REFUND_KEY, resultForm, startSandbox, tokens } from './helpers.ts';

let sandbox: RunningPaypleSandbox;
let clock: ManualClock;
// Payple's samples send this Referer to the operations.
const SAMPLE_REFERER = 'http://localhost:8080';

beforeAll(async () => {
  ({ sandbox, clock } = await startSandbox());
});
afterAll(async () => {
  await sandbox.stop();
});

const documentedAuthAnswerFields = [
  'server_name',
  'result',
  'result_msg',
  'cst_id',
  'custKey',
  'AuthKey',
  'PCD_PAY_HOST',
  'PCD_PAY_URL',
  'return_url',
];

describe('documented request samples', () => {
  it.each([
    ['3-2 registration window', { cst_id: 'test', custKey: 'abcd1234567890' }],
    [
      '4-2 re-charge',
      { cst_id: 'test', custKey: 'abcd1234567890', PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' },
    ],
    ['등록조회', { cst_id: 'test', custKey: 'abcd1234567890', PCD_PAY_WORK: 'PUSERINFO' }],
    ['결제결과 조회', { cst_id: 'test', custKey: 'abcd1234567890', PCD_PAYCHK_FLAG: 'Y' }],
  ])('partner auth sample (%s) answers the documented fields', async (_name, body) => {
    const { json } = await post(`${sandbox.url}/php/auth.php`, body, { referer: 'https://localhost' });

    expect(Object.keys(json).sort()).toEqual([...documentedAuthAnswerFields].sort());
    expect(json['result']).toBe('success');
  });

  it('4-3 re-charge sample is charged and answers the documented fields', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const token = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });

    const { json } = await post(
      token.return_url,
      {
        ...tokens(token),
        PCD_PAY_TYPE: 'card',
        PCD_PAYER_ID: payerId,
        PCD_PAY_GOODS: '테스트 상품명',
        PCD_PAY_TOTAL: '1000',
        PCD_SIMPLE_FLAG: 'Y',
      },
      { referer: SAMPLE_REFERER },
    );

    // The response sample of 4-3, minus its typo PCD_PAY_CARDNANE (the sandbox answers PCD_PAY_CARDNAME).
    for (const field of [
      'PCD_PAY_RST',
      'PCD_PAY_CODE',
      'PCD_PAY_MSG',
      'PCD_PAY_OID',
      'PCD_PAY_TYPE',
      'PCD_PAYER_NO',
      'PCD_PAYER_ID',
      'PCD_PAYER_NAME',
      'PCD_PAYER_HP',
      'PCD_PAYER_EMAIL',
      'PCD_PAY_GOODS',
      'PCD_PAY_TOTAL',
      'PCD_PAY_TAXTOTAL',
      'PCD_PAY_ISTAX',
      'PCD_PAY_TIME',
      'PCD_PAY_CARDNAME',
      'PCD_PAY_CARDNUM',
      'PCD_PAY_CARDTRADENUM',
      'PCD_PAY_CARDAUTHNO',
      'PCD_PAY_CARDRECEIPT',
      'PCD_SIMPLE_FLAG',
    ]) {
      expect(json, field).toHaveProperty(field);
    }
    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'SPCD0000',
      PCD_PAY_TOTAL: '1000',
      PCD_PAY_GOODS: '테스트 상품명',
    });
    expect(Object.values(json).every((value) => typeof value === 'string')).toBe(true);
  });

  it('등록조회 sample answers the documented card fields', async () => {
    const payerId = sandbox.admin.createBillingKey({
      card: 'success',
      payerName: '홍길동',
      payerHp: '01012345678',
    }).PCD_PAYER_ID;
    const token = await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' });

    const { json } = await post(
      token.return_url,
      { ...tokens(token), PCD_PAYER_ID: payerId },
      { referer: SAMPLE_REFERER },
    );

    for (const field of [
      'PCD_PAY_RST',
      'PCD_PAY_CODE',
      'PCD_PAY_MSG',
      'PCD_PAY_TYPE',
      'PCD_PAY_BANKACCTYPE',
      'PCD_PAYER_ID',
      'PCD_PAYER_NAME',
      'PCD_PAYER_HP',
      'PCD_PAY_CARD',
      'PCD_PAY_CARDNAME',
      'PCD_PAY_CARDNUM',
      'PCD_PAY_ISTAX',
    ]) {
      expect(json, field).toHaveProperty(field);
    }
    expect(json['PCD_PAY_CODE']).toBe('0000');
  });

  it('결제결과 조회 sample (OID test201804000001 of 2020-03-20) finds the payment', async () => {
    clock.set(Date.UTC(2020, 2, 20, 10, 50, 0)); // 2020-03-20 19:50:00 KST, as in the sample
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const chargeToken = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    await post(chargeToken.return_url, {
      ...tokens(chargeToken),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: '상품1',
      PCD_PAY_TOTAL: '100',
      PCD_SIMPLE_FLAG: 'Y',
      PCD_PAY_OID: 'test201804000001',
    });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    const { json } = await post(
      token.return_url,
      {
        ...tokens(token),
        PCD_PAYCHK_FLAG: 'Y',
        PCD_PAY_TYPE: 'card',
        PCD_PAY_OID: 'test201804000001',
        PCD_PAY_DATE: '20200320',
      },
      { referer: SAMPLE_REFERER },
    );

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PCHK0000',
      PCD_PAY_OID: 'test201804000001',
      PCD_PAY_TOTAL: '100',
      PCD_PAY_TIME: '2020-03-20 19:50:00',
    });
  });

  it('3-7 CERT confirm sample (partner cst_id / custKey as printed) is confirmed', async () => {
    const token = await auth(sandbox);
    const open = new URL(token.return_url);
    for (const [name, value] of Object.entries({
      PCD_PAY_TYPE: 'card',
      PCD_PAY_WORK: 'CERT',
      PCD_CARD_VER: '01',
      PCD_PAY_GOODS: '테스트 상품명',
      PCD_PAY_TOTAL: '1000',
      PCD_RST_URL: 'https://paytest.com',
      PCD_AUTH_KEY: token.AuthKey,
      PCD_PAY_URL: token.return_url,
      PCD_PAY_OID: 'ORDER_17027809',
      PCD_PAYER_NO: '1234',
      PCD_PAYER_NAME: '홍길동',
      PCD_PAYER_HP: '01012345678',
      PCD_PAYER_EMAIL: 'test@payple.kr',
      PCD_PAY_ISTAX: 'Y',
      PCD_PAY_TAXTOTAL: '10',
    }))
      open.searchParams.set(name, value);
    const page = await (await fetch(open)).text();
    const session = /name="session" value="([^"]+)"/.exec(page)![1]!;
    const submitted = await fetch(`${sandbox.url}/window/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session, action: 'submit', number: '9410000000000001' }).toString(),
    });
    const { fields } = resultForm(await submitted.text());

    const { json } = await post(
      fields['PCD_PAY_COFURL']!,
      {
        PCD_CST_ID: 'test',
        PCD_CUST_KEY: 'abcd1234567890',
        PCD_AUTH_KEY: fields['PCD_AUTH_KEY'],
        PCD_PAY_REQKEY: fields['PCD_PAY_REQKEY'],
        PCD_PAYER_ID: fields['PCD_PAYER_ID'],
      },
      { referer: SAMPLE_REFERER },
    );

    // The CERT response sample's fields.
    for (const field of [
      'PCD_PAY_RST',
      'PCD_PAY_CODE',
      'PCD_PAY_MSG',
      'PCD_PAY_REQKEY',
      'PCD_PAY_OID',
      'PCD_PAY_TYPE',
      'PCD_PAYER_ID',
      'PCD_PAYER_NO',
      'PCD_PAYER_NAME',
      'PCD_PAYER_HP',
      'PCD_PAYER_EMAIL',
      'PCD_PAY_GOODS',
      'PCD_PAY_AMOUNT',
      'PCD_PAY_AMOUNT_REAL',
      'PCD_PAY_TOTAL',
      'PCD_PAY_TAXTOTAL',
      'PCD_PAY_ISTAX',
      'PCD_PAY_CARDNAME',
      'PCD_PAY_CARDNUM',
      'PCD_PAY_CARDTRADENUM',
      'PCD_PAY_CARDAUTHNO',
      'PCD_PAY_CARDRECEIPT',
      'PCD_PAY_TIME',
      'PCD_SIMPLE_FLAG',
    ]) {
      expect(json, field).toHaveProperty(field);
    }
    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PCCF0000',
      PCD_PAY_OID: 'ORDER_17027809',
      PCD_PAY_TAXTOTAL: '10',
    });
  });

  it("Payple's Node sample bodies (every optional field sent empty, a numeric PCD_PAYER_NO) are accepted", async () => {
    clock.set();
    const account = sandbox.admin.createBillingKey({ account: 'success' }).PCD_PAYER_ID;
    // routes/index.js of PAYPLECORP/sample_nodejs authenticates a transfer charge with PCD_SIMPLE_FLAG alone.
    const token = await auth(sandbox, { PCD_SIMPLE_FLAG: 'Y' });

    const { json } = await post(token.return_url, {
      ...tokens(token),
      PCD_PAY_TYPE: 'transfer',
      PCD_PAYER_ID: account,
      PCD_PAY_GOODS: '휴대폰',
      PCD_SIMPLE_FLAG: 'Y',
      PCD_PAY_TOTAL: '1000',
      PCD_PAY_OID: '',
      PCD_PAYER_NO: 2335,
      PCD_PAYER_NAME: '',
      PCD_PAYER_HP: '',
      PCD_PAYER_EMAIL: 'test@payple.kr',
      PCD_PAY_ISTAX: 'Y',
      PCD_PAY_TAXTOTAL: '',
      PCD_TAXSAVE_FLAG: '',
      PCD_TAXSAVE_TRADE: '',
      PCD_TAXSAVE_IDNUM: '',
    });

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAYER_NO: '2335',
      PCD_PAY_BANKNAME: '우리은행',
    });
    expect(json['PCD_PAY_OID']).not.toBe('');
  });

  it("Payple's PHP refund sample body (empty REGULER/YEAR/MONTH fields) is accepted", async () => {
    clock.set();
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const chargeToken = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    await post(chargeToken.return_url, {
      ...tokens(chargeToken),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
      PCD_PAY_OID: 'php-refund',
    });
    const token = await auth(sandbox, { PCD_PAYCANCEL_FLAG: 'Y' });

    const { json } = await post(token.return_url, {
      ...tokens(token),
      PCD_PAYER_EMAIL: '',
      PCD_PAY_OID: 'php-refund',
      PCD_PAY_DATE: '20250115',
      PCD_REGULER_FLAG: '',
      PCD_PAY_YEAR: '',
      PCD_PAY_MONTH: '',
      PCD_REFUND_TOTAL: '1000',
      PCD_REFUND_TAXTOTAL: '',
      PCD_PAYCANCEL_FLAG: 'Y',
      PCD_REFUND_KEY: REFUND_KEY,
    });

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PAYC0000',
      PCD_REFUND_TOTAL: '1000',
    });
  });
});
