import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  testAccounts,
  testCards,
  type RunningPaypleSandbox,
  type TestInstrument,
} from '../../local/payple-sandbox/index.ts';
import { auth, charge, ManualClock, post, START_KST_DATE, startSandbox, tokens } from './helpers.ts';

let sandbox: RunningPaypleSandbox;
let clock: ManualClock;

beforeAll(async () => {
  ({ sandbox, clock } = await startSandbox({ slowDelayMs: 50 }));
});
beforeEach(() => {
  sandbox.admin.reset();
  clock.set();
});
afterAll(async () => {
  await sandbox.stop();
});

function cardKey(card: keyof typeof testCards = 'success'): string {
  return sandbox.admin.createBillingKey({ card, payerName: '홍길동' }).PCD_PAYER_ID;
}

function accountKey(account: keyof typeof testAccounts = 'success'): string {
  return sandbox.admin.createBillingKey({ account }).PCD_PAYER_ID;
}

describe('billing-key charge', () => {
  it('charges a card: success, SPCD0000, echoed OID and total, KST time, masked card', async () => {
    const payerId = cardKey();

    const { json } = await charge(sandbox, { payerId, oid: 'sub_1-202501-1', total: '9900' });

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'SPCD0000',
      PCD_PAY_MSG: '카드결제완료',
      PCD_PAY_OID: 'sub_1-202501-1',
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_TOTAL: '9900',
      PCD_PAY_TIME: '20250115100000',
      PCD_PAY_CARDNAME: 'BC카드',
      PCD_PAY_CARDNUM: '9410-****-****-0001',
      PCD_SIMPLE_FLAG: 'Y',
    });
    expect(json['PCD_PAY_CARDTRADENUM']).toMatch(/^20250115100000\d{10}$/);
    expect(json['PCD_PAY_CARDAUTHNO']).toMatch(/^\d{8}$/);
    expect(sandbox.admin.ledgerEntry('sub_1-202501-1')).toMatchObject({
      status: 'charged',
      amount: 9900,
      chargedAmount: 9900,
      payDate: START_KST_DATE,
      answerCode: 'SPCD0000',
      answerDelivered: true,
    });
  });

  it('charges an account: bank fields, masked number', async () => {
    const payerId = accountKey();

    const { json } = await charge(sandbox, { payerId, payType: 'transfer', oid: 'tr-1', total: 1000 });

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'SPCD0000',
      PCD_PAY_TYPE: 'transfer',
      PCD_PAY_TOTAL: '1000',
      PCD_PAY_BANK: '020',
      PCD_PAY_BANKNAME: '우리은행',
      PCD_PAY_BANKNUM: '100-*******-001',
    });
  });

  it('invents an OID when none (or an empty one) is sent', async () => {
    const payerId = cardKey();

    const { json } = await charge(sandbox, { payerId, oid: '' });

    expect(json['PCD_PAY_RST']).toBe('success');
    expect(json['PCD_PAY_OID']).toMatch(/^test20250115100000\d+$/);
    expect(sandbox.admin.ledgerEntry(json['PCD_PAY_OID']!)?.status).toBe('charged');
  });

  it.each([
    ['insufficientFunds', 'card', 'SPCD0099', '3133'],
    ['limitExceeded', 'card', 'SPCD0099', '3112'],
    ['expired', 'card', 'SPCD0099', '3100'],
    ['terminated', 'card', 'SPCD0099', '3146'],
    ['lostOrStolen', 'card', 'SPCD0099', '3122'],
    ['insufficientFunds', 'transfer', 'SPAY0099', '1000'],
    ['closed', 'transfer', 'SPAY0099', '1003'],
    ['maintenance', 'transfer', 'SPAY0099', '00209998'],
  ] as const)('declines %s (%s) with the issuer code in the message', async (name, payType, code, issuer) => {
    const table: Record<string, TestInstrument> = payType === 'card' ? testCards : testAccounts;
    const expected = table[name]!;
    const payerId = sandbox.admin.createBillingKey(
      payType === 'card' ? { card: name } : { account: name },
    ).PCD_PAYER_ID;

    const { json } = await charge(sandbox, { payerId, payType, oid: `decline-${name}-${payType}` });

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: code, PCD_PAY_MSG: expected.message });
    expect(json['PCD_PAY_MSG']).toContain(`] ${issuer} - `);
    expect(sandbox.admin.ledgerEntry(`decline-${name}-${payType}`)).toMatchObject({
      status: 'declined',
      chargedAmount: 0,
    });
  });

  it('uses the RPCD/RPAY family on the monthly-guarded route', async () => {
    const card = cardKey('insufficientFunds');
    const account = accountKey('closed');

    const onCard = await charge(sandbox, { payerId: card, regular: { year: '2025', month: '01' } });
    const onAccount = await charge(sandbox, {
      payerId: account,
      payType: 'transfer',
      regular: { year: '2025', month: '1' },
    });

    expect(onCard.json).toMatchObject({
      PCD_PAY_CODE: 'RPCD0099',
      PCD_PAY_MSG: '[test] [RPCD0099] 3133 - 잔액부족',
    });
    expect(onAccount.json).toMatchObject({
      PCD_PAY_CODE: 'RPAY0099',
      PCD_PAY_MSG: '[test] [RPAY0099] 1003 - 해지된 계좌',
    });
  });

  it('answers SPCD1001 for cardCompanyNoAnswer while the ledger records the charge', async () => {
    const payerId = cardKey('cardCompanyNoAnswer');

    const { json } = await charge(sandbox, { payerId, oid: 'no-answer-1' });

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD1001' });
    expect(sandbox.admin.ledgerEntry('no-answer-1')).toMatchObject({
      status: 'charged',
      chargedAmount: 9900,
      answerCode: 'SPCD1001',
    });
  });

  it('answers CPAY0018 for resultNotReceived while the money left the account', async () => {
    const payerId = accountKey('resultNotReceived');

    const { json } = await charge(sandbox, { payerId, payType: 'transfer', oid: 'not-received-1' });

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'CPAY0018' });
    expect(sandbox.admin.ledgerEntry('not-received-1')?.status).toBe('charged');
  });

  it('answers the slow card after its delay, charged', async () => {
    const payerId = cardKey('slow');

    const { json } = await charge(sandbox, { payerId, oid: 'slow-1' });

    expect(json['PCD_PAY_RST']).toBe('success');
    expect(sandbox.admin.ledgerEntry('slow-1')?.status).toBe('charged');
  });

  it('charges even when the client gives up waiting, and records the answer as not delivered', async () => {
    sandbox.admin.setSlowDelay(400);
    try {
      const payerId = cardKey('slow');

      const request = charge(sandbox, { payerId, oid: 'slow-abandoned', signal: AbortSignal.timeout(100) });

      await expect(request).rejects.toThrow();
      expect(sandbox.admin.ledgerEntry('slow-abandoned')?.status).toBe('processing');
      await expect.poll(() => sandbox.admin.ledgerEntry('slow-abandoned')?.answerDelivered).toBe(false);
      expect(sandbox.admin.ledgerEntry('slow-abandoned')?.status).toBe('charged');
    } finally {
      sandbox.admin.setSlowDelay(50);
    }
  });
});

describe('charge tokens', () => {
  it('serve exactly one charge', async () => {
    const payerId = cardKey();
    const token = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    const body = {
      ...tokens(token),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
    };

    const first = await post(token.return_url, { ...body, PCD_PAY_OID: 'once-1' });
    const second = await post(token.return_url, { ...body, PCD_PAY_OID: 'once-2' });

    expect(first.json['PCD_PAY_RST']).toBe('success');
    expect(second.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0004' });
    expect(sandbox.admin.ledgerEntry('once-2')).toBeUndefined();
  });

  it('expire after 30 minutes (SPCD0004), and the same OID goes through after a fresh auth', async () => {
    const payerId = cardKey();
    const token = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    clock.advance(30 * 60 * 1000);

    const expired = await post(token.return_url, {
      ...tokens(token),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
      PCD_PAY_OID: 'after-expiry',
    });
    const retried = await charge(sandbox, { payerId, oid: 'after-expiry' });

    expect(expired.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0004' });
    expect(retried.json['PCD_PAY_RST']).toBe('success');
  });

  it('expire with RPCD0006 on the monthly-guarded route', async () => {
    const payerId = cardKey();
    const token = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_REGULER_FLAG: 'Y' });
    clock.advance(31 * 60 * 1000);

    const { json } = await post(token.return_url, {
      ...tokens(token),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_REGULER_FLAG: 'Y',
      PCD_PAY_YEAR: '2025',
      PCD_PAY_MONTH: '01',
    });

    expect(json['PCD_PAY_CODE']).toBe('RPCD0006');
  });

  it('minted for another purpose or pay type are refused', async () => {
    const payerId = cardKey();
    const lookupToken = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });
    const transferToken = await auth(sandbox, { PCD_PAY_TYPE: 'transfer', PCD_SIMPLE_FLAG: 'Y' });
    const body = {
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
    };
    const cardUrl = `${sandbox.url}/php/SimplePayCardAct.php?ACT_=PAYM`;

    const withLookupToken = await post(cardUrl, { ...tokens(lookupToken), ...body });
    const withTransferToken = await post(cardUrl, { ...tokens(transferToken), ...body });

    expect(withLookupToken.json['PCD_PAY_CODE']).toBe('SPCD0004');
    expect(withTransferToken.json['PCD_PAY_CODE']).toBe('SPCD0004');
  });

  it('must come with the cst_id and custKey tokens of the same auth', async () => {
    const payerId = cardKey();
    const first = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    const second = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });

    const { json } = await post(first.return_url, {
      PCD_CST_ID: second.cst_id,
      PCD_CUST_KEY: first.custKey,
      PCD_AUTH_KEY: first.AuthKey,
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
    });

    expect(json['PCD_PAY_CODE']).toBe('SPCD0004');
  });
});

describe('duplicate OIDs', () => {
  it('are refused after the first settled, without the original result', async () => {
    const payerId = cardKey();
    await charge(sandbox, { payerId, oid: 'dup-1' });

    const { json } = await charge(sandbox, { payerId, oid: 'dup-1' });

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0014', PCD_PAY_OID: 'dup-1' });
    expect(json['PCD_PAY_CARDTRADENUM']).toBeUndefined();
    expect(json['PCD_PAY_TIME']).toBeUndefined();
    expect(sandbox.admin.ledger().filter((entry) => entry.oid === 'dup-1')).toHaveLength(1);
  });

  it('are refused after a decline too', async () => {
    const payerId = cardKey('insufficientFunds');
    await charge(sandbox, { payerId, oid: 'dup-declined' });

    const { json } = await charge(sandbox, { payerId, oid: 'dup-declined' });

    expect(json['PCD_PAY_CODE']).toBe('SPCD0014');
  });

  it('are refused while the first request is still processing', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'latency', ms: 300, operation: 'charge', oid: 'dup-inflight', times: 1 });

    const first = charge(sandbox, { payerId, oid: 'dup-inflight' });
    await expect.poll(() => sandbox.admin.ledgerEntry('dup-inflight')?.status).toBe('processing');
    const second = await charge(sandbox, { payerId, oid: 'dup-inflight' });

    expect(second.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0014' });
    expect((await first).json['PCD_PAY_RST']).toBe('success');
    expect(sandbox.admin.ledgerEntry('dup-inflight')).toMatchObject({ status: 'charged', amount: 9900 });
  });

  it('use RPCD0015 on the monthly-guarded route', async () => {
    const payerId = cardKey();
    await charge(sandbox, { payerId, oid: 'dup-regular', regular: { year: '2025', month: '01' } });

    const { json } = await charge(sandbox, {
      payerId,
      oid: 'dup-regular',
      regular: { year: '2025', month: '02' },
    });

    expect(json['PCD_PAY_CODE']).toBe('RPCD0015');
  });

  it('are per partner key space: another OID on the same key is fine', async () => {
    const payerId = cardKey();
    await charge(sandbox, { payerId, oid: 'a-1' });

    expect((await charge(sandbox, { payerId, oid: 'a-2' })).json['PCD_PAY_RST']).toBe('success');
  });
});

describe('month guard (PCD_REGULER_FLAG)', () => {
  it('refuses a second charge on the same key in the same month with RPAY0008', async () => {
    const payerId = cardKey();
    const first = await charge(sandbox, { payerId, oid: 'm-1', regular: { year: '2025', month: '01' } });

    const second = await charge(sandbox, { payerId, oid: 'm-2', regular: { year: '2025', month: '1' } });
    const nextMonth = await charge(sandbox, { payerId, oid: 'm-3', regular: { year: '2025', month: '02' } });
    const otherKey = await charge(sandbox, {
      payerId: cardKey(),
      oid: 'm-4',
      regular: { year: '2025', month: '01' },
    });

    expect(first.json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_REGULER_FLAG: 'Y',
      PCD_PAY_YEAR: '2025',
      PCD_PAY_MONTH: '1',
    });
    expect(second.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'RPAY0008' });
    expect(nextMonth.json['PCD_PAY_RST']).toBe('success');
    expect(otherKey.json['PCD_PAY_RST']).toBe('success');
    // The refused request did not burn its OID.
    expect(sandbox.admin.ledgerEntry('m-2')).toBeUndefined();
  });

  it('lets a month be retried after a decline', async () => {
    const payerId = accountKey('insufficientFunds');
    await charge(sandbox, {
      payerId,
      payType: 'transfer',
      oid: 'md-1',
      regular: { year: '2025', month: '03' },
    });

    const retry = await charge(sandbox, {
      payerId,
      payType: 'transfer',
      oid: 'md-2',
      regular: { year: '2025', month: '03' },
    });

    expect(retry.json['PCD_PAY_CODE']).toBe('RPAY0099');
  });

  it('does not apply to simple charges', async () => {
    const payerId = cardKey();
    await charge(sandbox, { payerId, oid: 's-1' });

    expect((await charge(sandbox, { payerId, oid: 's-2' })).json['PCD_PAY_RST']).toBe('success');
  });

  it('requires PCD_PAY_YEAR and PCD_PAY_MONTH', async () => {
    const payerId = cardKey();

    const missing = await charge(sandbox, { payerId, regular: { year: '', month: '01' } });
    const invalid = await charge(sandbox, { payerId, regular: { year: '2025', month: '13' } });

    expect(missing.json['PCD_PAY_CODE']).toBe('RPCD0002');
    expect(invalid.json['PCD_PAY_CODE']).toBe('RPCD0003');
  });
});

describe('amounts and inputs', () => {
  it.each([
    ['card', '99', false],
    ['card', '100', true],
    ['transfer', '999', false],
    ['transfer', '1000', true],
    ['transfer', '2000000', true],
    ['transfer', '2000001', false],
  ] as const)('%s %s won: accepted %s', async (payType, total, accepted) => {
    const payerId = payType === 'card' ? cardKey() : accountKey();

    const { json } = await charge(sandbox, { payerId, payType, total });

    expect(json['PCD_PAY_RST']).toBe(accepted ? 'success' : 'error');
    if (!accepted) expect(json['PCD_PAY_CODE']).toBe('SPCD0003');
  });

  it('accepts amounts as JSON integers, like the digits strings', async () => {
    const { json } = await charge(sandbox, { payerId: cardKey(), total: 1500 });

    expect(json['PCD_PAY_TOTAL']).toBe('1500');
  });

  it.each([
    ['a fractional amount', { PCD_PAY_TOTAL: '100.5' }, 'SPCD0003'],
    ['a negative amount', { PCD_PAY_TOTAL: -1000 }, 'SPCD0003'],
    ['an amount with commas', { PCD_PAY_TOTAL: '1,000' }, 'SPCD0003'],
    ['an object amount', { PCD_PAY_TOTAL: { value: 1000 } }, 'SPCD0003'],
    ['an empty amount', { PCD_PAY_TOTAL: '' }, 'SPCD0002'],
    ['no goods', { PCD_PAY_GOODS: '' }, 'SPCD0002'],
    ['an OID with spaces', { PCD_PAY_OID: 'a b' }, 'SPCD0003'],
    ['a pay type that differs from the route', { PCD_PAY_TYPE: 'transfer' }, 'SPCD0003'],
    ['no PCD_SIMPLE_FLAG', { PCD_SIMPLE_FLAG: 'N' }, 'SPCD0002'],
    ['a billing key nobody issued', { PCD_PAYER_ID: 'nope' }, 'SPCD0011'],
    ['a boolean payer number', { PCD_PAYER_NO: true }, 'SPCD0003'],
  ])('refuses %s', async (_name, extra, code) => {
    const { status, json } = await charge(sandbox, { payerId: cardKey(), extra });

    expect(status).toBe(200);
    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: code });
  });

  it('refuses a card key charged as a transfer', async () => {
    const { json } = await charge(sandbox, { payerId: cardKey(), payType: 'transfer' });

    expect(json['PCD_PAY_CODE']).toBe('SPCD0003');
  });

  it('refuses a charge without a Referer with AUTH0004, and a form body', async () => {
    const payerId = cardKey();
    const token = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    const body = {
      ...tokens(token),
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_GOODS: 'g',
      PCD_PAY_TOTAL: '1000',
      PCD_SIMPLE_FLAG: 'Y',
    };

    const noReferer = await post(token.return_url, body, { referer: null });
    const form = await post(token.return_url, new URLSearchParams(body).toString(), {
      contentType: 'application/x-www-form-urlencoded',
    });

    expect(noReferer.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'AUTH0004' });
    expect(form.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0003' });
  });
});
