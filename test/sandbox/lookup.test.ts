import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import {
  auth,
  charge,
  lookupWith,
  ManualClock,
  post,
  START_KST_DATE,
  startSandbox,
  tokens,
} from './helpers.ts';

const MINUTE = 60 * 1000;

describe('result lookup', () => {
  let sandbox: RunningPaypleSandbox;
  let clock: ManualClock;

  beforeAll(async () => {
    ({ sandbox, clock } = await startSandbox({ lookupLimit: { max: 5, windowMs: 10 * MINUTE } }));
  });
  beforeEach(() => {
    sandbox.admin.reset();
    clock.set();
  });
  afterAll(async () => {
    await sandbox.stop();
  });

  it('finds a paid charge by OID, KST date and pay type (PCHK0000, lookup time format)', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, oid: 'look-1', total: '9900' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    const { json } = await lookupWith(token, 'look-1');

    expect(json).toMatchObject({
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: 'PCHK0000',
      PCD_PAY_OID: 'look-1',
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: payerId,
      PCD_PAY_TOTAL: '9900',
      PCD_PAY_CARDNUM: '9410-****-****-0001',
      PCD_PAY_TIME: '2025-01-15 10:00:00',
    });
  });

  it('tells the truth about unknown outcomes: SPCD1001 that charged is paid', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'cardCompanyNoAnswer' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, oid: 'look-unknown' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    expect((await lookupWith(token, 'look-unknown')).json['PCD_PAY_CODE']).toBe('PCHK0000');
  });

  it('answers PCHK0012 for an attempt that took no money', async () => {
    const payerId = sandbox.admin.createBillingKey({ account: 'closed' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, payType: 'transfer', oid: 'look-declined' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    const { json } = await lookupWith(token, 'look-declined', START_KST_DATE, 'transfer');

    expect(json).toMatchObject({
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: 'PCHK0012',
      PCD_PAY_OID: 'look-declined',
    });
    expect(json['PCD_PAY_MSG']).toContain('1003');
  });

  it('answers PCHK0011 for an unknown OID, another date or another pay type', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, oid: 'look-2' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    expect((await lookupWith(token, 'nope')).json['PCD_PAY_CODE']).toBe('PCHK0011');
    expect((await lookupWith(token, 'look-2', '20250116')).json['PCD_PAY_CODE']).toBe('PCHK0011');
    expect((await lookupWith(token, 'look-2', START_KST_DATE, 'transfer')).json['PCD_PAY_CODE']).toBe(
      'PCHK0011',
    );
  });

  it('uses the KST date: a charge at 00:00 KST belongs to the next day', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    clock.advance(14 * 60 * MINUTE); // 2025-01-16 00:00 KST
    await charge(sandbox, { payerId, oid: 'look-midnight' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    expect((await lookupWith(token, 'look-midnight', START_KST_DATE)).json['PCD_PAY_CODE']).toBe('PCHK0011');
    expect((await lookupWith(token, 'look-midnight', '20250116')).json['PCD_PAY_CODE']).toBe('PCHK0000');
  });

  it('reuses one token for many sequential lookups within 30 minutes, then refuses it', async () => {
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    const early = await lookupWith(token, 'a');
    clock.advance(29 * MINUTE);
    const late = await lookupWith(token, 'b');
    clock.advance(MINUTE);
    const expired = await lookupWith(token, 'c');

    expect(early.json['PCD_PAY_CODE']).toBe('PCHK0011');
    expect(late.json['PCD_PAY_CODE']).toBe('PCHK0011');
    expect(expired.json['PCD_PAY_CODE']).toBe('PCHK0004');
  });

  it('refuses a charge token and validates its fields', async () => {
    const chargeToken = await auth(sandbox, { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });
    const url = `${sandbox.url}/php/PayChkAct.php`;

    const wrongToken = await post(url, {
      ...tokens(chargeToken),
      PCD_PAYCHK_FLAG: 'Y',
      PCD_PAY_TYPE: 'card',
      PCD_PAY_OID: 'x',
      PCD_PAY_DATE: START_KST_DATE,
    });
    const badDate = await lookupWith(token, 'x', '2025-01-15');
    const noFlag = await post(url, {
      ...tokens(token),
      PCD_PAY_TYPE: 'card',
      PCD_PAY_OID: 'x',
      PCD_PAY_DATE: START_KST_DATE,
    });

    expect(wrongToken.json['PCD_PAY_CODE']).toBe('PCHK0004');
    expect(badDate.json['PCD_PAY_CODE']).toBe('PCHK0003');
    expect(noFlag.json['PCD_PAY_CODE']).toBe('PCHK0002');
  });

  it('refuses lookups over the partner budget with PCHK9997, until the window moves on', async () => {
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });
    for (let i = 0; i < 5; i += 1) {
      expect((await lookupWith(token, `o-${i}`)).json['PCD_PAY_CODE']).toBe('PCHK0011');
      clock.advance(MINUTE);
    }

    const refused = await lookupWith(token, 'o-5');
    expect(sandbox.admin.lookupUsage()).toMatchObject({ count: 5, max: 5 });
    clock.advance(5 * MINUTE); // the first lookup is now 10 minutes old
    const allowed = await lookupWith(await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' }), 'o-6');

    expect(refused.json).toEqual({
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: 'PCHK9997',
      PCD_PAY_MSG: '결제결과 조회는 10분에 1,000건을 초과한 요청은 거부됩니다.',
    });
    expect(allowed.json['PCD_PAY_CODE']).toBe('PCHK0011');
  });

  it('counts the budget for the whole partner, across tokens', async () => {
    for (let i = 0; i < 5; i += 1) await lookupWith(await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' }), `t-${i}`);

    const { json } = await lookupWith(await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' }), 't-5');

    expect(json['PCD_PAY_CODE']).toBe('PCHK9997');
  });
});

describe('result lookup at the default budget', () => {
  it('answers the 1,001st lookup within 10 minutes with PCHK9997, and allows again in a new window', async () => {
    const { sandbox, clock } = await startSandbox();
    try {
      const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });
      const codes = new Set<string>();
      for (let i = 0; i < 1_000; i += 1) codes.add((await lookupWith(token, `n-${i}`)).json['PCD_PAY_CODE']!);
      clock.advance(9 * MINUTE + 59_000);

      const thousandFirst = await lookupWith(token, 'n-1000');
      clock.advance(1_000);
      const nextWindow = await lookupWith(await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' }), 'n-1001');

      expect([...codes]).toEqual(['PCHK0011']);
      expect(thousandFirst.json['PCD_PAY_CODE']).toBe('PCHK9997');
      expect(nextWindow.json['PCD_PAY_CODE']).toBe('PCHK0011');
    } finally {
      await sandbox.stop();
    }
  });
});
