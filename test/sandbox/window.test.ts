import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testCards, type RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { auth, ManualClock, post, REFERER, resultForm, startReceiver, startSandbox } from './helpers.ts';

let sandbox: RunningPaypleSandbox;
let clock: ManualClock;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const RST_URL = 'http://localhost:8080/return/session-1';

beforeAll(async () => {
  receiver = await startReceiver();
  ({ sandbox, clock } = await startSandbox({ webhookUrl: receiver.url }));
});
beforeEach(() => {
  sandbox.admin.reset();
  clock.set();
  receiver.received.length = 0;
});
afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

interface WindowPage {
  readonly status: number;
  readonly html: string;
}

/** Opens the window the way a merchant page navigates to it: GET return_url with the parameters. */
async function openWindow(
  params: Record<string, string>,
  init: { authKey?: string } = {},
): Promise<WindowPage & { url: string }> {
  const token = await auth(sandbox);
  const url = new URL(token.return_url);
  const all = {
    PCD_AUTH_KEY: init.authKey ?? token.AuthKey,
    PCD_PAY_URL: token.return_url,
    PCD_RST_URL: RST_URL,
    ...params,
  };
  for (const [name, value] of Object.entries(all)) url.searchParams.set(name, value);
  const response = await fetch(url, { headers: { referer: REFERER } });
  return { status: response.status, html: await response.text(), url: url.href };
}

/** Submits the window's form like the browser would: its action, its hidden fields, the button. */
async function submit(html: string, values: Record<string, string>): Promise<WindowPage> {
  const action = /<form id="payple-window" method="post" action="([^"]+)"/.exec(html)?.[1];
  const session = /name="session" value="([^"]+)"/.exec(html)?.[1];
  expect(action).toBeDefined();
  expect(session).toBeDefined();
  const response = await fetch(new URL(action!, sandbox.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ session: session!, ...values }).toString(),
  });
  return { status: response.status, html: await response.text() };
}

const card = { PCD_PAY_TYPE: 'card', PCD_CARD_VER: '01' };
const paying = {
  PCD_PAY_GOODS: '정기구독',
  PCD_PAY_TOTAL: '9900',
  PCD_PAYER_NAME: '홍길동',
  PCD_PAYER_NO: '1234',
};

describe('payment window', () => {
  it('shows an accessible form with a labelled card number input', async () => {
    const { status, html } = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' });

    expect(status).toBe(200);
    expect(html).toContain('<label for="card-number">카드번호</label>');
    expect(html).toContain('<input id="card-number" name="number"');
    expect(html).toContain('id="submit"');
    expect(html).toContain('id="close"');
  });

  it('AUTH: registers the card and posts the result to PCD_RST_URL', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH', PCD_PAYER_NAME: '홍길동' });

    const result = await submit(page.html, { action: 'submit', number: '9410 0000 0000 3133' });
    const { action, fields } = resultForm(result.html);

    expect(result.html).toContain("document.getElementById('payple-result').submit()");
    expect(action).toBe(RST_URL);
    expect(fields).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: '0000',
      PCD_PAY_MSG: '카드등록완료',
      PCD_PAY_WORK: 'AUTH',
      PCD_PAY_TYPE: 'card',
      PCD_CARD_VER: '01',
      PCD_PAYER_NAME: '홍길동',
      PCD_PAY_CARDNAME: 'BC카드',
      PCD_PAY_CARDNUM: '9410-****-****-3133',
      PCD_PAY_TOTAL: '',
      PCD_RST_URL: RST_URL,
    });
    expect(fields['PCD_AUTH_KEY']).toBeTruthy();
    expect(sandbox.admin.billingKeys()).toMatchObject([
      { PCD_PAYER_ID: fields['PCD_PAYER_ID'], testName: 'insufficientFunds', status: 'active' },
    ]);
    await sandbox.admin.webhooksIdle();
    expect(receiver.received[0]?.body).toMatchObject({
      PCD_PAY_WORK: 'AUTH',
      PCD_PAYER_ID: fields['PCD_PAYER_ID'],
    });
  });

  it('AUTH for an account: a labelled account number input and bank fields', async () => {
    const page = await openWindow({ PCD_PAY_TYPE: 'transfer', PCD_PAY_WORK: 'AUTH' });
    expect(page.html).toContain('<label for="account-number">계좌번호</label>');

    const { fields } = resultForm(
      (await submit(page.html, { action: 'submit', number: '1002000001003' })).html,
    );

    expect(fields).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_MSG: '계좌등록완료',
      PCD_PAY_BANK: '020',
      PCD_PAY_BANKNUM: '100-*******-003',
    });
  });

  it('PAY: registers and charges at once', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'PAY', ...paying, PCD_PAY_OID: 'first-1' });

    const { fields } = resultForm(
      (await submit(page.html, { action: 'submit', number: testCards.success.number })).html,
    );

    expect(fields).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: '0000',
      PCD_PAY_WORK: 'PAY',
      PCD_PAY_OID: 'first-1',
      PCD_PAY_TOTAL: '9900',
      PCD_PAY_GOODS: '정기구독',
      PCD_PAY_TIME: '20250115100000',
      PCD_PAYER_NO: '1234',
    });
    expect(fields['PCD_PAY_CARDTRADENUM']).toMatch(/^\d{24}$/);
    expect(sandbox.admin.ledgerEntry('first-1')).toMatchObject({
      status: 'charged',
      origin: 'windowPay',
      payerId: fields['PCD_PAYER_ID'],
    });
  });

  it('PAY declined: an error result and no billing key', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'PAY', ...paying, PCD_PAY_OID: 'first-2' });

    const { fields } = resultForm(
      (await submit(page.html, { action: 'submit', number: testCards.expired.number })).html,
    );

    expect(fields).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0099', PCD_PAYER_ID: '' });
    expect(fields['PCD_PAY_MSG']).toContain('3100');
    expect(sandbox.admin.billingKeys()).toEqual([]);
    expect(sandbox.admin.ledgerEntry('first-2')?.status).toBe('declined');
  });

  it('PAY refuses an OID used before', async () => {
    const first = await openWindow({ ...card, PCD_PAY_WORK: 'PAY', ...paying, PCD_PAY_OID: 'first-3' });
    await submit(first.html, { action: 'submit', number: testCards.success.number });
    const second = await openWindow({ ...card, PCD_PAY_WORK: 'PAY', ...paying, PCD_PAY_OID: 'first-3' });

    const { fields } = resultForm(
      (await submit(second.html, { action: 'submit', number: testCards.success.number })).html,
    );

    expect(fields).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0014' });
    expect(sandbox.admin.ledger()).toHaveLength(1);
  });

  it('CERT: nothing is charged until the partner confirms at PCD_PAY_COFURL (PCCF0000)', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'CERT', ...paying, PCD_PAY_OID: 'cert-1' });
    const { fields } = resultForm(
      (await submit(page.html, { action: 'submit', number: testCards.success.number })).html,
    );

    expect(fields).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_WORK: 'CERT',
      PCD_PAY_OID: 'cert-1',
      PCD_PAY_TOTAL: '9900',
    });
    expect(fields['PCD_PAY_COFURL']).toBe(`${sandbox.url}/php/PayCardConfirmAct.php?ACT_=PAYM`);
    expect(fields['PCD_PAY_REQKEY']).toBeTruthy();
    expect(sandbox.admin.ledger()).toEqual([]);

    const confirm = {
      PCD_CST_ID: 'test',
      PCD_CUST_KEY: 'abcd1234567890',
      PCD_AUTH_KEY: fields['PCD_AUTH_KEY'],
      PCD_PAY_REQKEY: fields['PCD_PAY_REQKEY'],
      PCD_PAYER_ID: fields['PCD_PAYER_ID'],
    };
    const confirmed = await post(fields['PCD_PAY_COFURL']!, confirm);
    const again = await post(fields['PCD_PAY_COFURL']!, confirm);

    expect(confirmed.json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PCCF0000',
      PCD_PAY_MSG: '카드결제완료',
      PCD_PAY_OID: 'cert-1',
      PCD_PAY_TOTAL: '9900',
      PCD_PAY_REQKEY: fields['PCD_PAY_REQKEY'],
      PCD_PAYER_ID: fields['PCD_PAYER_ID'],
      PCD_PAY_CARDNUM: '9410-****-****-0001',
    });
    expect(again.json['PCD_PAY_CODE']).toBe('PCCF0014');
    expect(sandbox.admin.ledgerEntry('cert-1')).toMatchObject({
      status: 'charged',
      origin: 'certConfirm',
      amount: 9900,
    });
  });

  it('CERT confirm: declines carry PCCFD001 and the issuer code; late or mismatched confirms are refused', async () => {
    const open = async (number: string, oid: string): Promise<Record<string, string>> => {
      const page = await openWindow({ ...card, PCD_PAY_WORK: 'CERT', ...paying, PCD_PAY_OID: oid });
      return resultForm((await submit(page.html, { action: 'submit', number })).html).fields;
    };
    const confirmBody = (fields: Record<string, string>): Record<string, string> => ({
      PCD_CST_ID: 'test',
      PCD_CUST_KEY: 'abcd1234567890',
      PCD_AUTH_KEY: fields['PCD_AUTH_KEY']!,
      PCD_PAY_REQKEY: fields['PCD_PAY_REQKEY']!,
      PCD_PAYER_ID: fields['PCD_PAYER_ID']!,
    });
    const declined = await open(testCards.limitExceeded.number, 'cert-2');
    const late = await open(testCards.success.number, 'cert-3');
    const mismatched = await open(testCards.success.number, 'cert-4');

    const declinedAnswer = await post(declined['PCD_PAY_COFURL']!, confirmBody(declined));
    const wrongKey = await post(mismatched['PCD_PAY_COFURL']!, {
      ...confirmBody(mismatched),
      PCD_CUST_KEY: 'wrong',
    });
    const wrongReq = await post(mismatched['PCD_PAY_COFURL']!, {
      ...confirmBody(mismatched),
      PCD_PAY_REQKEY: 'nope',
    });
    clock.advance(10 * 60 * 1000 + 1);
    const lateAnswer = await post(late['PCD_PAY_COFURL']!, confirmBody(late));

    expect(declinedAnswer.json).toMatchObject({
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: 'PCCFD001',
      PCD_PAY_MSG: '[test] [PCCFD001] 3112 - 한도초과',
    });
    expect(wrongKey.json['PCD_PAY_CODE']).toBe('PCCF0003');
    expect(wrongReq.json['PCD_PAY_CODE']).toBe('PCCF0003');
    expect(lateAnswer.json['PCD_PAY_CODE']).toBe('PCCF0004');
    expect(sandbox.admin.ledgerEntry('cert-2')?.status).toBe('declined');
    expect(sandbox.admin.ledgerEntry('cert-3')).toBeUndefined();
  });

  it('close: posts PCD_PAY_RST=close and registers nothing', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'PAY', ...paying });

    const result = await submit(page.html, { action: 'close' });
    const { action, fields } = resultForm(result.html);

    expect(action).toBe(RST_URL);
    expect(fields).toMatchObject({ PCD_PAY_RST: 'close', PCD_PAY_WORK: 'PAY', PCD_PAYER_ID: '' });
    expect(sandbox.admin.billingKeys()).toEqual([]);
    expect((await submit(page.html, { action: 'submit', number: testCards.success.number })).status).toBe(
      400,
    );
  });

  it('re-shows the form with an alert for a malformed number', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' });

    const again = await submit(page.html, { action: 'submit', number: '1234' });

    expect(again.html).toContain('role="alert"');
    expect(again.html).toContain('id="payple-window"');
    expect((await submit(again.html, { action: 'submit', number: testCards.success.number })).html).toContain(
      'payple-result',
    );
  });

  it('uses up the window AuthKey: a second window with it posts AUTH0005', async () => {
    const token = await auth(sandbox);
    await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' }, { authKey: token.AuthKey });

    const second = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' }, { authKey: token.AuthKey });

    expect(resultForm(second.html).fields).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'AUTH0005' });
  });

  it('keeps the AuthKey when the window is refused for its parameters', async () => {
    const token = await auth(sandbox);
    const refused = await openWindow({ ...card }, { authKey: token.AuthKey });

    const retried = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' }, { authKey: token.AuthKey });

    expect(resultForm(refused.html).fields['PCD_PAY_CODE']).toBe('CPAY0003');
    expect(retried.html).toContain('id="payple-window"');
  });

  it('refuses a charge token or an expired one as the window AuthKey', async () => {
    const chargeToken = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    const windowToken = await auth(sandbox);
    const wrongPurpose = await openWindow(
      { ...card, PCD_PAY_WORK: 'AUTH' },
      { authKey: chargeToken.AuthKey },
    );
    clock.advance(30 * 60 * 1000);
    const expired = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH' }, { authKey: windowToken.AuthKey });

    expect(resultForm(wrongPurpose.html).fields['PCD_PAY_CODE']).toBe('AUTH0005');
    expect(resultForm(expired.html).fields['PCD_PAY_MSG']).toContain('30분');
  });

  it.each([
    ['a missing PCD_PAY_WORK', { ...card }],
    ['a missing PCD_CARD_VER', { PCD_PAY_TYPE: 'card', PCD_PAY_WORK: 'AUTH' }],
    ['PAY without an amount', { ...card, PCD_PAY_WORK: 'PAY', PCD_PAY_GOODS: 'g' }],
    [
      'a card amount under 100 won',
      { ...card, PCD_PAY_WORK: 'PAY', PCD_PAY_GOODS: 'g', PCD_PAY_TOTAL: '99' },
    ],
  ])('posts an error result for %s', async (_name, params) => {
    const { fields } = resultForm((await openWindow(params)).html);

    expect(fields).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'CPAY0003' });
  });

  it('answers 400 without a usable PCD_RST_URL', async () => {
    expect((await openWindow({ ...card, PCD_PAY_WORK: 'AUTH', PCD_RST_URL: '' })).status).toBe(400);
    expect(
      (await openWindow({ ...card, PCD_PAY_WORK: 'AUTH', PCD_RST_URL: 'javascript:alert(1)' })).status,
    ).toBe(400);
  });

  it('resolves a relative PCD_RST_URL against the merchant page (popup mode)', async () => {
    const page = await openWindow({ ...card, PCD_PAY_WORK: 'AUTH', PCD_RST_URL: '/order_result' });

    const { action } = resultForm(
      (await submit(page.html, { action: 'submit', number: testCards.success.number })).html,
    );

    expect(action).toBe('http://localhost:8080/order_result');
  });

  it('opens from a form POST (what PaypleCpayAuthCheck does) and serves that script', async () => {
    const token = await auth(sandbox);
    const response = await fetch(token.return_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', referer: REFERER },
      body: new URLSearchParams({
        ...card,
        PCD_PAY_WORK: 'AUTH',
        PCD_AUTH_KEY: token.AuthKey,
        PCD_RST_URL: RST_URL,
      }).toString(),
    });
    const script = await fetch(`${sandbox.url}/js/cpay.payple.1.0.1.js`);

    expect(await response.text()).toContain('id="payple-window"');
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('PaypleCpayAuthCheck');
  });

  it('escapes what it echoes into HTML', async () => {
    const page = await openWindow({
      ...card,
      PCD_PAY_WORK: 'PAY',
      PCD_PAY_TOTAL: '1000',
      PCD_PAY_GOODS: '"><script>alert(1)</script>',
    });

    expect(page.html).not.toContain('<script>alert(1)</script>');
    const { fields } = resultForm(
      (await submit(page.html, { action: 'submit', number: testCards.success.number })).html,
    );
    expect(fields['PCD_PAY_GOODS']).toBe('"><script>alert(1)</script>');
  });
});
