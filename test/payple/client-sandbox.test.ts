/**
 * The Payple client against the project's Payple sandbox (local/payple-sandbox): every operation,
 * every outcome class, and the faults that make an outcome unknown.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PaypleHostNotAllowedError,
  PaypleTimeoutError,
  kstDate,
  type ChargeInput,
  type PayType,
} from '../../functions/payple/index.ts';
import {
  defaultPartner,
  testAccounts,
  testCards,
  type FaultSpec,
  type TestInstrument,
} from '../../local/payple-sandbox/index.ts';
import {
  REFERER,
  certWindow,
  expectSuccess,
  recordingFetch,
  startWorld,
  type SandboxWorld,
} from './sandbox-support.ts';

let world: SandboxWorld;

beforeEach(async () => {
  world = await startWorld();
});

afterEach(async () => {
  await world.sandbox.stop();
});

const PHONE = '01098765432';
const EMAIL = 'subscriber@example.com';

function registerCard(card: string): string {
  return world.sandbox.admin.createBillingKey({ card, payerHp: PHONE, payerEmail: EMAIL }).PCD_PAYER_ID;
}

function registerAccount(account: string): string {
  return world.sandbox.admin.createBillingKey({ account }).PCD_PAYER_ID;
}

let oids = 0;
function charge(billingKey: string, overrides: Partial<ChargeInput> = {}): ChargeInput {
  oids += 1;
  return {
    payType: 'card',
    billingKey,
    oid: `sub_${oids}-202501-1`,
    amount: 9_900,
    goods: 'Monthly plan',
    payerPhone: PHONE,
    payerEmail: EMAIL,
    ...overrides,
  };
}

const chargeRequests = () =>
  world.recorder.exchanges.filter((exchange) => /Pay(Card)?Act\.php$/.test(exchange.path));

describe('billing-key charges', () => {
  it('charges a card: paid, with card fields and the KST pay time, once in the ledger', async () => {
    const input = charge(registerCard('success'));

    const outcome = await world.client.chargeBillingKey(input);

    expect(expectSuccess(outcome).value).toEqual({
      oid: input.oid,
      payType: 'card',
      amount: 9_900,
      paidAt: '2025-01-06T10:00:00+09:00',
      method: expect.objectContaining({
        type: 'card',
        cardName: 'BC카드',
        maskedCardNumber: '9410-****-****-0001',
      }) as unknown,
    });
    expect(world.sandbox.admin.ledger()).toMatchObject([
      { oid: input.oid, status: 'charged', chargedAmount: 9_900 },
    ]);
  });

  it('charges a bank account: paid, with bank fields', async () => {
    const input = charge(registerAccount('success'), { payType: 'transfer', amount: 50_000 });

    const outcome = await world.client.chargeBillingKey(input);

    expect(expectSuccess(outcome).value).toMatchObject({
      amount: 50_000,
      method: {
        type: 'transfer',
        bankCode: '020',
        bankName: '우리은행',
        maskedAccountNumber: '100-*******-001',
      },
    });
  });

  const declines = [
    ...Object.entries(testCards).map(([name, card]) => ['card', name, card] as const),
    ...Object.entries(testAccounts).map(([name, account]) => ['transfer', name, account] as const),
  ].filter(([, , instrument]) => instrument.outcome === 'declined');
  const kindOf = { soft: 'soft_decline', hard: 'hard_decline' } as const;

  it.each(declines)(
    'classifies the %s %s decline as the sandbox documents, with nothing charged',
    async (payType, name, instrument: TestInstrument) => {
      const key = payType === 'card' ? registerCard(name) : registerAccount(name);
      const input = charge(key, { payType, amount: 10_000 });

      const outcome = await world.client.chargeBillingKey(input);

      expect(outcome).toMatchObject({
        kind: kindOf[instrument.classification as 'soft' | 'hard'],
        stage: 'operation',
        reason: 'issuer_code',
        issuerCode: instrument.issuerCode,
      });
      expect(world.sandbox.admin.ledgerEntry(input.oid)).toMatchObject({
        status: 'declined',
        chargedAmount: 0,
      });
    },
  );

  it('reports "card company did not answer" as unknown although the sandbox charged, and a lookup finds it paid', async () => {
    const input = charge(registerCard('cardCompanyNoAnswer'));

    const outcome = await world.client.chargeBillingKey(input);
    const lookup = await world.client.lookupPayment({
      oid: input.oid,
      payType: 'card',
      date: world.today(),
      expectedAmount: input.amount,
    });

    expect(outcome).toMatchObject({ kind: 'unknown', code: 'SPCD1001', reason: 'payple_code' });
    expect(world.sandbox.admin.ledgerEntry(input.oid)).toMatchObject({ status: 'charged' });
    expect(expectSuccess(lookup).value).toMatchObject({ oid: input.oid, amount: input.amount });
  });

  it('reports a transfer whose result was not received as unknown', async () => {
    const input = charge(registerAccount('resultNotReceived'), { payType: 'transfer', amount: 10_000 });

    const outcome = await world.client.chargeBillingKey(input);

    expect(outcome).toMatchObject({ kind: 'unknown', code: 'CPAY0018' });
    expect(world.sandbox.admin.ledgerEntry(input.oid)).toMatchObject({ status: 'charged' });
  });

  it('reports a repeated OID as duplicate_oid and charges nothing more', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);

    const again = await world.client.chargeBillingKey(input);

    expect(again).toMatchObject({ kind: 'duplicate_oid', code: 'SPCD0014' });
    expect(world.sandbox.admin.ledger()).toHaveLength(1);
  });

  it('lets the month guard refuse a second charge on the key in the same month', async () => {
    const key = registerCard('success');
    const january = { year: 2025, month: 1 };

    const first = await world.client.chargeBillingKey(charge(key, { monthGuard: january }));
    const second = await world.client.chargeBillingKey(charge(key, { monthGuard: january }));
    const february = await world.client.chargeBillingKey(
      charge(key, { monthGuard: { year: 2025, month: 2 } }),
    );

    expect(first.kind).toBe('success');
    expect(second).toMatchObject({ kind: 'duplicate_oid', code: 'RPAY0008' });
    expect(february.kind).toBe('success');
    expect(world.sandbox.admin.ledger().map((entry) => [entry.monthGuard?.month, entry.status])).toEqual([
      [1, 'charged'],
      [2, 'charged'],
    ]);
    expect(world.recorder.to('/php/RePayCardAct.php')).toHaveLength(3);
  });

  it('reports a key that was deleted or never existed as a hard decline', async () => {
    const key = registerCard('success');
    await world.client.deleteBillingKey({ billingKey: key });

    const deleted = await world.client.chargeBillingKey(charge(key));
    const missing = await world.client.chargeBillingKey(charge('NO-SUCH-KEY'));

    expect(deleted).toMatchObject({ kind: 'hard_decline', code: 'SPCD0012' });
    expect(missing).toMatchObject({ kind: 'hard_decline', code: 'SPCD0011' });
  });

  it('reports a charge token refused as expired, and the same OID goes through with a fresh auth', async () => {
    const key = registerCard('success');
    const input = charge(key);
    // The charge reaches Payple 31 minutes after its auth (a paused Lambda, say).
    const late = world.clientWith({
      fetch: async (url, init) => {
        const response = await world.recorder.fetch(url, init);
        if (response.url.endsWith('/php/auth.php')) world.clock.advance(31 * 60 * 1000);
        return response;
      },
    });

    const refused = await late.chargeBillingKey(input);
    const resent = await world.client.chargeBillingKey(input);

    expect(refused).toMatchObject({ kind: 'token_expired', code: 'SPCD0004', stage: 'operation' });
    expect(resent.kind).toBe('success');
    expect(world.sandbox.admin.ledger()).toHaveLength(1);
  });

  it('authenticates afresh for every charge: never two charges on one token', async () => {
    const key = registerCard('success');

    await world.client.chargeBillingKey(charge(key));
    await world.client.chargeBillingKey(charge(key));

    const authKeys = chargeRequests().map((exchange) => exchange.body['PCD_AUTH_KEY']);
    expect(authKeys).toHaveLength(2);
    expect(new Set(authKeys).size).toBe(2);
  });
});

describe('partner configuration', () => {
  it('always sends the Referer, JSON content type and no-cache', async () => {
    await world.client.chargeBillingKey(charge(registerCard('success')));

    expect(world.recorder.exchanges.length).toBeGreaterThan(0);
    for (const exchange of world.recorder.exchanges) {
      expect(exchange.headers.get('referer')).toBe(REFERER);
      expect(exchange.headers.get('content-type')).toBe('application/json');
      expect(exchange.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('is refused with AUTH0004 when the Referer does not reach Payple: config_error, nothing charged', async () => {
    const stripped = recordingFetch((url, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('Referer');
      return fetch(url, { ...init, headers });
    });
    const client = world.clientWith({ fetch: stripped.fetch });

    const outcome = await client.chargeBillingKey(charge(registerCard('success')));

    expect(outcome).toMatchObject({ kind: 'config_error', stage: 'auth', code: 'AUTH0004' });
    expect(world.sandbox.admin.ledger()).toHaveLength(0);
  });

  it.each([
    ['an unregistered Referer', { referer: 'https://not-registered.example.com' }, 'AUTH0004'],
    ['a wrong custKey', { custKey: 'wrong-key-000' }, 'AUTH0002'],
    ['an unknown partner', { cstId: 'nobody' }, 'AUTH0001'],
  ])('reports %s as config_error at auth', async (_name, overrides, code) => {
    const outcome = await world.clientWith(overrides).chargeBillingKey(charge(registerCard('success')));

    expect(outcome).toMatchObject({ kind: 'config_error', stage: 'auth', code });
    expect(world.sandbox.admin.ledger()).toHaveLength(0);
  });
});

describe('faults: never a decline, never sent twice', () => {
  it.each<[string, FaultSpec]>([
    ['no answer at all (after charging)', { kind: 'noAnswer', execute: true, operation: 'charge' }],
    ['no answer at all (before charging)', { kind: 'noAnswer', operation: 'charge' }],
    ['an HTTP 500 after charging', { kind: 'httpError', status: 500, execute: true, operation: 'charge' }],
    ['an HTTP 503', { kind: 'httpError', status: 503, operation: 'charge' }],
    ['a PHP fatal error page', { kind: 'garbage', operation: 'charge' }],
    ['a connection reset after charging', { kind: 'answerLost', via: 'reset', operation: 'charge' }],
    ['a 502 after charging', { kind: 'answerLost', via: 'badGateway', operation: 'charge' }],
    ['an answer slower than the timeout', { kind: 'latency', ms: 1_000, operation: 'charge' }],
    [
      '"card company did not answer" without a charge',
      { kind: 'cardCompanyNoAnswer', charged: false, operation: 'charge' },
    ],
  ])('is unknown after %s, with exactly one charge request', async (_name, fault) => {
    world.sandbox.admin.addFault(fault);
    const input = charge(registerCard('success'));

    const outcome = await world.client.chargeBillingKey(input);

    expect(outcome.kind).toBe('unknown');
    expect(outcome.kind !== 'success' && outcome.stage).toBe('operation');
    expect(chargeRequests()).toHaveLength(1);
    expect(
      world.sandbox.admin.ledger().filter((entry) => entry.oid === input.oid).length,
    ).toBeLessThanOrEqual(1);
  });

  it('reports the slow card beyond the timeout as unknown; the ledger holds one charge, which a lookup later finds paid', async () => {
    const input = charge(registerCard('slow'));

    const outcome = await world.client.chargeBillingKey(input);
    await vi.waitFor(() => expect(world.sandbox.admin.ledgerEntry(input.oid)?.status).toBe('charged'), {
      timeout: 5_000,
    });
    const lookup = await world.client.lookupPayment({
      oid: input.oid,
      payType: 'card',
      date: world.today(),
      expectedAmount: input.amount,
    });

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    expect(outcome.kind !== 'success' && outcome.cause).toBeInstanceOf(PaypleTimeoutError);
    expect(world.sandbox.admin.ledger()).toHaveLength(1);
    expect(chargeRequests()).toHaveLength(1);
    expect(lookup.kind).toBe('success');
  });

  it('keeps a decline answer that arrives before the timeout a decline', async () => {
    world.sandbox.admin.addFault({ kind: 'latency', ms: 100, operation: 'charge' });

    const outcome = await world.client.chargeBillingKey(charge(registerCard('expired')));

    expect(outcome.kind).toBe('hard_decline');
  });
});

describe('result lookup', () => {
  const lookup = (oid: string, amount = 9_900, payType: PayType = 'card', date = world.today()) =>
    world.client.lookupPayment({ oid, payType, date, expectedAmount: amount });

  it('finds a paid charge with its time in the lookup format', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);

    const outcome = await lookup(input.oid);

    expect(expectSuccess(outcome)).toMatchObject({
      code: 'PCHK0000',
      value: { oid: input.oid, amount: 9_900, paidAt: '2025-01-06T10:00:00+09:00' },
    });
  });

  it.each([
    ['insufficientFunds', 'soft_decline'],
    ['expired', 'hard_decline'],
  ])('reports an attempt on the %s card that took no money as %s', async (card, kind) => {
    const input = charge(registerCard(card));
    await world.client.chargeBillingKey(input);

    expect(await lookup(input.oid)).toMatchObject({ kind, code: 'PCHK0012' });
  });

  it('reports a payment it cannot find (unknown OID, other date, other pay type) as unknown, never a decline', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);

    const outcomes = [
      await lookup('never-sent'),
      await lookup(input.oid, 9_900, 'card', kstDate(world.clock.now() + 86_400_000)),
      await lookup(input.oid, 9_900, 'transfer'),
    ];

    for (const outcome of outcomes) expect(outcome).toMatchObject({ kind: 'unknown', code: 'PCHK0011' });
  });

  it('reports a paid answer for another amount as unknown', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);

    expect(await lookup(input.oid, 10_000)).toMatchObject({ kind: 'unknown', reason: 'amount_mismatch' });
  });

  it('reuses one lookup token within 25 minutes, keeps PUSERINFO apart, and re-authenticates after', async () => {
    const key = registerCard('success');
    const input = charge(key);
    await world.client.chargeBillingKey(input);
    const authFlags = () =>
      world.recorder
        .to('/php/auth.php')
        .map((exchange) => exchange.body['PCD_PAYCHK_FLAG'] ?? exchange.body['PCD_PAY_WORK'] ?? 'charge');

    await lookup(input.oid);
    await world.client.getBillingKeyInfo({ billingKey: key });
    world.clock.advance(24 * 60 * 1000);
    await lookup(input.oid);
    await world.client.getBillingKeyInfo({ billingKey: key });
    const beforeExpiry = authFlags();
    world.clock.advance(60 * 1000);
    await lookup(input.oid);

    expect(beforeExpiry).toEqual(['charge', 'Y', 'PUSERINFO']);
    expect(authFlags()).toEqual(['charge', 'Y', 'PUSERINFO', 'Y']);
  });

  it('drops a cached token Payple no longer honours and recovers on the next lookup', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);
    // The client's clock stands still while Payple's runs 31 minutes on: the cached token is
    // young to the client, expired to Payple.
    const frozenAt = world.clock.now();
    const client = world.clientWith({ clock: { now: () => frozenAt } });
    const date = world.today();
    await client.lookupPayment({ oid: input.oid, payType: 'card', date, expectedAmount: 9_900 });
    world.clock.advance(31 * 60 * 1000);

    const refused = await client.lookupPayment({
      oid: input.oid,
      payType: 'card',
      date,
      expectedAmount: 9_900,
    });
    const recovered = await client.lookupPayment({
      oid: input.oid,
      payType: 'card',
      date,
      expectedAmount: 9_900,
    });

    expect(refused).toMatchObject({ kind: 'token_expired', code: 'PCHK0004' });
    expect(recovered.kind).toBe('success');
  });

  it('answers the 1,001st lookup in 10 minutes as lookup_limited, on one token, and recovers after the window', async () => {
    const input = charge(registerCard('success'));
    await world.client.chargeBillingKey(input);
    const kinds = new Map<string, number>();

    for (let i = 0; i < 1_000; i++) {
      const { kind } = await lookup(input.oid);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const limited = await lookup(input.oid);
    world.clock.advance(10 * 60 * 1000);
    const later = await lookup(input.oid);

    expect(Object.fromEntries(kinds)).toEqual({ success: 1_000 });
    expect(limited).toMatchObject({ kind: 'lookup_limited', code: 'PCHK9997' });
    expect(later.kind).toBe('success');
    expect(
      world.recorder.to('/php/auth.php').filter((exchange) => exchange.body['PCD_PAYCHK_FLAG'] === 'Y'),
    ).toHaveLength(1);
  });
});

describe('billing keys', () => {
  it('reads a card key with PUSERINFO (masked number and phone)', async () => {
    const key = registerCard('success');

    const outcome = await world.client.getBillingKeyInfo({ billingKey: key });

    expect(expectSuccess(outcome).value).toMatchObject({
      payType: 'card',
      maskedPhone: '010-****-5432',
      method: { type: 'card', cardCode: '0200', cardName: 'BC카드', maskedCardNumber: '9410-****-****-0001' },
    });
  });

  it('reads an account key with PUSERINFO', async () => {
    const key = registerAccount('success');

    const outcome = await world.client.getBillingKeyInfo({ billingKey: key });

    expect(expectSuccess(outcome).value).toMatchObject({
      payType: 'transfer',
      method: { type: 'transfer', bankName: '우리은행' },
    });
  });

  it('deletes a key with PUSERDEL; afterwards PUSERINFO and a second delete report it gone', async () => {
    const key = registerCard('success');

    const deleted = await world.client.deleteBillingKey({ billingKey: key });
    const info = await world.client.getBillingKeyInfo({ billingKey: key });
    const again = await world.client.deleteBillingKey({ billingKey: key });

    expect(deleted).toMatchObject({ kind: 'success', code: 'PUER0000', value: { deleted: true } });
    expect(world.sandbox.admin.billingKeys()).toMatchObject([{ status: 'deleted', deletedBy: 'PUSERDEL' }]);
    expect(info).toMatchObject({ kind: 'hard_decline', code: 'PUER0012' });
    expect(again).toMatchObject({ kind: 'hard_decline', code: 'PUER0012' });
  });

  it('reports an unknown key as a hard decline', async () => {
    expect(await world.client.getBillingKeyInfo({ billingKey: 'NO-SUCH-KEY' })).toMatchObject({
      kind: 'hard_decline',
      code: 'PUER0011',
    });
  });
});

describe('refunds', () => {
  async function paid(amount = 9_900) {
    const input = charge(registerCard('success'), { amount });
    await world.client.chargeBillingKey(input);
    return { oid: input.oid, payDate: world.today() };
  }

  it('refunds a payment in full', async () => {
    const payment = await paid();

    const outcome = await world.client.refund({ ...payment, amount: 9_900 });

    expect(expectSuccess(outcome)).toMatchObject({
      code: 'PAYC0000',
      value: { oid: payment.oid, refundedAmount: 9_900, refundedAt: '2025-01-06T10:00:00+09:00' },
    });
    expect(world.sandbox.admin.ledgerEntry(payment.oid)).toMatchObject({
      status: 'refunded',
      chargedAmount: 0,
    });
  });

  it('refunds in parts and refuses more than is left', async () => {
    const payment = await paid(10_000);

    const first = await world.client.refund({ ...payment, amount: 3_000 });
    const entryAfterFirst = world.sandbox.admin.ledgerEntry(payment.oid);
    const second = await world.client.refund({ ...payment, amount: 7_000 });
    const third = await world.client.refund({ ...payment, amount: 1 });

    expect(first.kind).toBe('success');
    expect(entryAfterFirst).toMatchObject({ status: 'partiallyRefunded', chargedAmount: 7_000 });
    expect(second.kind).toBe('success');
    expect(third).toMatchObject({ kind: 'hard_decline', code: 'PAYC0012' });
    expect(world.sandbox.admin.ledgerEntry(payment.oid)).toMatchObject({
      status: 'refunded',
      refundedAmount: 10_000,
    });
  });

  it('reports a refund with a wrong original date as a hard decline', async () => {
    const payment = await paid();

    const outcome = await world.client.refund({ oid: payment.oid, payDate: '20250105', amount: 9_900 });

    expect(outcome).toMatchObject({ kind: 'hard_decline', code: 'PAYC0011' });
  });

  it('reports a wrong refund key as a config error', async () => {
    const payment = await paid();

    const outcome = await world
      .clientWith({ refundKey: 'not-the-refund-key' })
      .refund({ ...payment, amount: 9_900 });

    expect(outcome).toMatchObject({ kind: 'config_error', code: 'PAYC0005' });
    expect(world.sandbox.admin.ledgerEntry(payment.oid)).toMatchObject({ status: 'charged' });
  });

  it('reports a refund without an answer as unknown, sent once', async () => {
    const payment = await paid();
    world.sandbox.admin.addFault({ kind: 'noAnswer', execute: true, operation: 'cancel' });

    const outcome = await world.client.refund({ ...payment, amount: 9_900 });

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    expect(world.recorder.to('/php/account/api/cPayCAct.php')).toHaveLength(1);
  });
});

describe('window auth and CERT confirm', () => {
  it('confirms a CERT payment at PCD_PAY_COFURL: paid once; a second confirm is a duplicate', async () => {
    const result = await certWindow(world, {
      oid: 'checkout-1',
      amount: 15_000,
      cardNumber: testCards.success.number,
    });
    const input = {
      confirmUrl: result['PCD_PAY_COFURL'] ?? '',
      authKey: result['PCD_AUTH_KEY'] ?? '',
      requestKey: result['PCD_PAY_REQKEY'] ?? '',
      billingKey: result['PCD_PAYER_ID'] ?? '',
      payType: 'card' as const,
      expectedOid: 'checkout-1',
      expectedAmount: 15_000,
    };

    const confirmed = await world.client.confirmCertPayment(input);
    const again = await world.client.confirmCertPayment(input);

    expect(expectSuccess(confirmed)).toMatchObject({
      code: 'PCCF0000',
      value: { oid: 'checkout-1', amount: 15_000 },
    });
    expect(again).toMatchObject({ kind: 'duplicate_oid', code: 'PCCF0014' });
    expect(world.sandbox.admin.ledger()).toMatchObject([
      { oid: 'checkout-1', status: 'charged', origin: 'certConfirm' },
    ]);
  });

  it('classifies a card declined at confirm by its issuer code', async () => {
    const result = await certWindow(world, {
      oid: 'checkout-2',
      amount: 15_000,
      cardNumber: testCards.expired.number,
    });

    const outcome = await world.client.confirmCertPayment({
      confirmUrl: result['PCD_PAY_COFURL'] ?? '',
      authKey: result['PCD_AUTH_KEY'] ?? '',
      requestKey: result['PCD_PAY_REQKEY'] ?? '',
      billingKey: result['PCD_PAYER_ID'] ?? '',
      payType: 'card',
      expectedOid: 'checkout-2',
      expectedAmount: 15_000,
    });

    expect(outcome).toMatchObject({ kind: 'hard_decline', code: 'PCCFD001', issuerCode: '3100' });
  });

  it('refuses a PCD_PAY_COFURL on another host before sending the custKey', async () => {
    const result = await certWindow(world, {
      oid: 'checkout-3',
      amount: 15_000,
      cardNumber: testCards.success.number,
    });
    const elsewhere = new URL(result['PCD_PAY_COFURL'] ?? '');
    elsewhere.port = String(Number(elsewhere.port) + 1);
    const sentBefore = world.recorder.exchanges.length;

    const attempt = world.client.confirmCertPayment({
      confirmUrl: elsewhere.href,
      authKey: result['PCD_AUTH_KEY'] ?? '',
      requestKey: result['PCD_PAY_REQKEY'] ?? '',
      billingKey: result['PCD_PAYER_ID'] ?? '',
      payType: 'card',
      expectedOid: 'checkout-3',
      expectedAmount: 15_000,
    });

    await expect(attempt).rejects.toBeInstanceOf(PaypleHostNotAllowedError);
    expect(world.recorder.exchanges).toHaveLength(sentBefore);
    expect(world.sandbox.admin.ledger()).toHaveLength(0);
  });

  it('hands the browser a fresh AuthKey and the window URL on every window auth', async () => {
    const first = expectSuccess(await world.client.createWindowAuth());
    const second = expectSuccess(await world.client.createWindowAuth());

    expect(new URL(first.value.payUrl).origin).toBe(world.sandbox.url);
    expect(first.value.authKey).not.toBe(second.value.authKey);
  });
});

describe('secrets and personal data', () => {
  it('never appear in any log line, error message or failure outcome across a whole scenario', async () => {
    const key = registerCard('success');
    const expiredKey = registerCard('expired');
    const outcomes: unknown[] = [];
    const errors: string[] = [];
    const keep = (outcome: unknown) => outcomes.push(outcome);

    const paidInput = charge(key);
    keep(await world.client.chargeBillingKey(paidInput));
    keep(await world.client.chargeBillingKey(charge(expiredKey)));
    keep(await world.client.chargeBillingKey(charge('NO-SUCH-KEY')));
    world.sandbox.admin.addFault({ kind: 'garbage', operation: 'charge', times: 1 });
    keep(await world.client.chargeBillingKey(charge(key)));
    keep(await world.clientWith({ custKey: 'wrong-key-000' }).chargeBillingKey(charge(key)));
    keep(
      await world.client.lookupPayment({
        oid: paidInput.oid,
        payType: 'card',
        date: world.today(),
        expectedAmount: 9_900,
      }),
    );
    keep(await world.client.getBillingKeyInfo({ billingKey: key }));
    keep(await world.client.refund({ oid: paidInput.oid, payDate: world.today(), amount: 100 }));
    keep(
      await world
        .clientWith({ refundKey: 'not-the-refund-key' })
        .refund({ oid: paidInput.oid, payDate: world.today(), amount: 100 }),
    );
    const cert = await certWindow(world, {
      oid: 'checkout-9',
      amount: 1_000,
      cardNumber: testCards.success.number,
    });
    keep(
      await world.client.confirmCertPayment({
        confirmUrl: cert['PCD_PAY_COFURL'] ?? '',
        authKey: cert['PCD_AUTH_KEY'] ?? '',
        requestKey: cert['PCD_PAY_REQKEY'] ?? '',
        billingKey: cert['PCD_PAYER_ID'] ?? '',
        payType: 'card',
        expectedOid: 'checkout-9',
        expectedAmount: 1_000,
      }),
    );
    keep(await world.client.deleteBillingKey({ billingKey: key }));
    world.sandbox.admin.addFault({ kind: 'httpError', operation: 'userInfo' });
    await world.client.getBillingKeyInfo({ billingKey: expiredKey }).catch((error: unknown) => {
      errors.push(String(error), String((error as Error).stack), JSON.stringify(error));
    });

    const sent = world.recorder.exchanges.flatMap((exchange) =>
      ['PCD_CST_ID', 'PCD_CUST_KEY', 'PCD_AUTH_KEY', 'PCD_PAY_REQKEY', 'PCD_PAYER_ID', 'PCD_REFUND_KEY'].map(
        (field) => exchange.body[field],
      ),
    );
    const forbidden = new Set(
      [defaultPartner.custKey, defaultPartner.refundKey, key, expiredKey, PHONE, EMAIL, ...sent].filter(
        (value): value is string => typeof value === 'string' && value.length >= 8,
      ),
    );
    const failures = outcomes.filter((outcome) => (outcome as { kind: string }).kind !== 'success');
    const everything = [world.logs.text(), ...errors, JSON.stringify(failures, causeAsText)].join('\n');
    expect(world.logs.lines.length).toBeGreaterThanOrEqual(outcomes.length);
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(errors.length).toBeGreaterThan(0);
    expect(forbidden.size).toBeGreaterThan(10);
    for (const value of forbidden) expect(everything).not.toContain(value);
  });
});

function causeAsText(key: string, value: unknown): unknown {
  return key === 'cause' && value instanceof Error ? `${value.name}: ${value.message}` : value;
}
