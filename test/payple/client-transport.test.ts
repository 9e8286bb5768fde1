import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PaypleClient,
  PaypleHttpStatusError,
  PaypleInvalidAnswerError,
  PaypleTimeoutError,
  type PaypleClientConfig,
} from '../../functions/payple/index.ts';
import { chargeInput, chargeSuccess, secrets } from './factories.ts';
import { captureLogs, hang, json, startFakePayple, type FakePayple, type Responder } from './fake-payple.ts';

const servers: FakePayple[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function fake(options: Parameters<typeof startFakePayple>[0]): Promise<FakePayple> {
  const server = await startFakePayple(options);
  servers.push(server);
  return server;
}

function clientFor(server: FakePayple, overrides: Partial<PaypleClientConfig> = {}): PaypleClient {
  return new PaypleClient({
    host: server.url,
    cstId: 'partner',
    custKey: secrets.custKey,
    referer: 'https://shop.example.com',
    refundKey: secrets.refundKey,
    timeouts: { authMs: 300, chargeMs: 300, lookupMs: 300 },
    logger: captureLogs().logger,
    ...overrides,
  });
}

const raw =
  (status: number, body: string, headers: Record<string, string> = {}): Responder =>
  (_request, response) => {
    response.writeHead(status, headers).end(body);
  };

const truncated: Responder = (_request, response: ServerResponse) => {
  response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '500' });
  response.write('{"PCD_PAY_RST":"succ');
  setTimeout(() => response.socket?.destroy(), 20);
};

describe('a charge without a definite answer', () => {
  it.each<[string, Responder, string]>([
    ['no answer before the timeout', hang, 'timeout'],
    ['the connection reset', (request, response) => void response.socket?.destroy(), 'connection_error'],
    ['HTTP 500', raw(500, 'Internal Server Error'), 'http_status'],
    ['HTTP 502 with a success body', (_r, response) => json(response, chargeSuccess(), 502), 'http_status'],
    ['a redirect', raw(307, '', { Location: '/php/elsewhere.php' }), 'http_status'],
    ['an HTML body', raw(200, '<html>점검중</html>'), 'invalid_answer'],
    ['an empty body', raw(200, ''), 'invalid_answer'],
    ['a JSON array', raw(200, '[]'), 'invalid_answer'],
    ['a body cut off mid-way', truncated, 'connection_error'],
    [
      'a success with a fractional amount',
      (_r, response) => json(response, chargeSuccess({ PCD_PAY_TOTAL: '9900.5' })),
      'invalid_answer',
    ],
    [
      'a success for another OID',
      (_r, response) => json(response, chargeSuccess({ PCD_PAY_OID: 'other' })),
      'oid_mismatch',
    ],
    [
      'a success for another amount',
      (_r, response) => json(response, chargeSuccess({ PCD_PAY_TOTAL: '99000' })),
      'amount_mismatch',
    ],
    [
      'a success with an impossible pay time',
      (_r, response) => json(response, chargeSuccess({ PCD_PAY_TIME: '20251341250000' })),
      'invalid_answer',
    ],
    [
      'a success for the other pay type',
      (_r, response) => json(response, chargeSuccess({ PCD_PAY_TYPE: 'transfer' })),
      'invalid_answer',
    ],
  ])('is unknown after %s, and was sent exactly once', async (_name, responder, reason) => {
    const server = await fake({ operation: responder });
    const client = clientFor(server);

    const outcome = await client.chargeBillingKey(chargeInput());

    expect(outcome).toMatchObject({ kind: 'unknown', stage: 'operation', reason });
    expect(server.operationRequests()).toHaveLength(1);
    expect(server.requests.filter((request) => request.path.includes('elsewhere'))).toHaveLength(0);
  });

  it('is unknown when the answer comes only after the timeout', async () => {
    const server = await fake({
      operation: (_request, response) => setTimeout(() => json(response, chargeSuccess()), 600),
    });

    const outcome = await clientFor(server).chargeBillingKey(chargeInput());

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    expect(outcome.kind !== 'success' && outcome.cause).toBeInstanceOf(PaypleTimeoutError);
    expect(server.operationRequests()).toHaveLength(1);
  });
});

describe('a charge whose auth fails', () => {
  it('is unknown at the auth stage after an auth timeout, and the charge is never sent', async () => {
    const server = await fake({ auth: hang, operation: (_r, response) => json(response, chargeSuccess()) });

    const outcome = await clientFor(server).chargeBillingKey(chargeInput());

    expect(outcome).toMatchObject({ kind: 'unknown', stage: 'auth', reason: 'timeout' });
    expect(server.operationRequests()).toHaveLength(0);
  });

  it('is a config error when auth refuses the Referer, and the charge is never sent', async () => {
    const server = await fake({
      auth: (_r, response) =>
        json(response, { result: 'error', result_msg: '[AUTH0004] 등록되지 않은 도메인' }),
    });

    const outcome = await clientFor(server).chargeBillingKey(chargeInput());

    expect(outcome).toMatchObject({ kind: 'config_error', stage: 'auth', code: 'AUTH0004' });
    expect(server.operationRequests()).toHaveLength(0);
  });

  it('refuses a return_url on a foreign host: config error, and the foreign host receives nothing', async () => {
    const foreign = await fake({ operation: (_r, response) => json(response, chargeSuccess()) });
    const server = await fake({ returnOrigin: foreign.url });

    const outcome = await clientFor(server).chargeBillingKey(chargeInput());

    expect(outcome).toMatchObject({ kind: 'config_error', stage: 'auth', reason: 'return_url_not_allowed' });
    expect(foreign.requests).toHaveLength(0);
  });
});

describe('what a charge sends', () => {
  it('sends the Referer, JSON content type and no-cache on auth and on the charge', async () => {
    const server = await fake({ operation: (_r, response) => json(response, chargeSuccess()) });

    await clientFor(server).chargeBillingKey(chargeInput());

    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.headers).toMatchObject({
        referer: 'https://shop.example.com',
        'content-type': 'application/json',
        'cache-control': 'no-cache',
      });
    }
  });

  it('authenticates for a billing charge, then posts to the return_url with the returned tokens', async () => {
    const server = await fake({
      operationPath: '/moved/Somewhere.php?ACT_=NEW',
      operation: (_r, response) => json(response, chargeSuccess()),
    });

    await clientFor(server).chargeBillingKey(chargeInput({ payerNo: '42' }));

    const [auth, charge] = server.requests;
    expect(auth?.body).toEqual({
      cst_id: 'partner',
      custKey: secrets.custKey,
      PCD_PAY_TYPE: 'card',
      PCD_SIMPLE_FLAG: 'Y',
    });
    expect(charge?.path).toBe('/moved/Somewhere.php?ACT_=NEW');
    expect(charge?.body).toEqual({
      PCD_CST_ID: 'CST-TOKEN-1',
      PCD_CUST_KEY: 'CUSTKEY-TOKEN-1',
      PCD_AUTH_KEY: 'AUTHKEY-TOKEN-1',
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_ID: secrets.billingKey,
      PCD_PAY_GOODS: 'Monthly plan',
      PCD_PAY_TOTAL: '9900',
      PCD_PAY_OID: 'sub_1-202501-1',
      PCD_SIMPLE_FLAG: 'Y',
      PCD_PAYER_NO: '42',
      PCD_PAYER_HP: secrets.phone,
      PCD_PAYER_EMAIL: secrets.email,
    });
  });

  it('uses the REGULER auth and sends the month guard when one is given', async () => {
    const server = await fake({ operation: (_r, response) => json(response, chargeSuccess()) });

    await clientFor(server).chargeBillingKey(chargeInput({ monthGuard: { year: 2025, month: 1 } }));

    const [auth, charge] = server.requests;
    expect(auth?.body).toEqual({
      cst_id: 'partner',
      custKey: secrets.custKey,
      PCD_PAY_TYPE: 'card',
      PCD_REGULER_FLAG: 'Y',
    });
    expect(charge?.body).toMatchObject({ PCD_REGULER_FLAG: 'Y', PCD_PAY_YEAR: '2025', PCD_PAY_MONTH: '01' });
  });

  it('authenticates afresh for every charge and never reuses a charge token', async () => {
    const server = await fake({
      operation: (request, response) =>
        json(response, chargeSuccess({ PCD_PAY_OID: request.body['PCD_PAY_OID'] })),
    });
    const client = clientFor(server);

    await client.chargeBillingKey(chargeInput({ oid: 'sub_1-202501-1' }));
    await client.chargeBillingKey(chargeInput({ oid: 'sub_1-202502-1' }));

    expect(server.authRequests()).toHaveLength(2);
    expect(server.operationRequests().map((request) => request.body['PCD_AUTH_KEY'])).toEqual([
      'AUTHKEY-TOKEN-1',
      'AUTHKEY-TOKEN-2',
    ]);
  });

  it('returns a typed receipt with whole-won amount, KST pay time and card fields', async () => {
    const server = await fake({ operation: (_r, response) => json(response, chargeSuccess()) });

    const outcome = await clientFor(server).chargeBillingKey(chargeInput());

    expect(outcome).toEqual({
      kind: 'success',
      code: 'SPCD0000',
      value: {
        oid: 'sub_1-202501-1',
        payType: 'card',
        amount: 9900,
        paidAt: '2025-01-05T09:30:00+09:00',
        method: {
          type: 'card',
          cardCode: undefined,
          cardName: 'BC카드',
          maskedCardNumber: '9410-****-****-0001',
          tradeNumber: '202501050930001234567890',
          approvalNumber: '12345678',
          receiptUrl: undefined,
        },
      },
    });
  });
});

describe('each purpose has its own auth flag', () => {
  const operationAnswer: Responder = (request, response) => {
    if (request.body['PCD_PAYCANCEL_FLAG'] === 'Y') {
      json(response, {
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: 'PAYC0000',
        PCD_PAY_OID: request.body['PCD_PAY_OID'],
        PCD_REFUND_TOTAL: request.body['PCD_REFUND_TOTAL'],
      });
    } else {
      json(response, {
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: '0000',
        PCD_PAY_TYPE: 'card',
        PCD_PAY_OID: request.body['PCD_PAY_OID'],
        PCD_PAY_TOTAL: '100',
      });
    }
  };

  it.each<[string, (client: PaypleClient) => Promise<unknown>, Record<string, string>]>([
    ['the window', (client) => client.createWindowAuth(), {}],
    [
      'PUSERINFO',
      (client) => client.getBillingKeyInfo({ billingKey: secrets.billingKey }),
      { PCD_PAY_WORK: 'PUSERINFO' },
    ],
    [
      'PUSERDEL',
      (client) => client.deleteBillingKey({ billingKey: secrets.billingKey }),
      { PCD_PAY_WORK: 'PUSERDEL' },
    ],
    [
      'the result lookup',
      (client) => client.lookupPayment({ oid: 'o1', payType: 'card', date: '20250105', expectedAmount: 100 }),
      { PCD_PAYCHK_FLAG: 'Y' },
    ],
    [
      'a refund',
      (client) => client.refund({ oid: 'o1', payDate: '20250105', amount: 100 }),
      { PCD_PAYCANCEL_FLAG: 'Y' },
    ],
  ])('authenticates %s with exactly its flag', async (_name, act, flags) => {
    const server = await fake({ operation: operationAnswer });

    await act(clientFor(server));

    expect(server.authRequests()[0]?.body).toEqual({ cst_id: 'partner', custKey: secrets.custKey, ...flags });
  });
});

describe('input refused before anything is sent', () => {
  it.each([
    ['a fractional amount', chargeInput({ amount: 99.5 })],
    ['a card amount under 100 won', chargeInput({ amount: 99 })],
    ['a transfer under 1,000 won', chargeInput({ payType: 'transfer', amount: 999 })],
    ['a transfer over 2,000,000 won', chargeInput({ payType: 'transfer', amount: 2_000_001 })],
    ['an unsafe integer', chargeInput({ amount: 2 ** 53 })],
    ['an OID with a space', chargeInput({ oid: 'sub 1' })],
    ['an empty billing key', chargeInput({ billingKey: '' })],
    ['month 13 in the guard', chargeInput({ monthGuard: { year: 2025, month: 13 } })],
  ])('refuses a charge with %s', async (_name, input) => {
    const server = await fake({});

    await expect(clientFor(server).chargeBillingKey(input)).rejects.toMatchObject({
      name: 'PaypleInvalidRequestError',
      retryable: false,
    });
    expect(server.requests).toHaveLength(0);
  });

  it('names the field but not the value in the error', async () => {
    const server = await fake({});

    const attempt = clientFor(server).chargeBillingKey(
      chargeInput({ billingKey: ' ', payerPhone: '010-1234' }),
    );

    await expect(attempt).rejects.toThrow(/billingKey.*payerPhone/);
    await expect(attempt).rejects.not.toThrow(/010-1234/);
  });

  it('refuses a lookup for a date that does not exist', async () => {
    const server = await fake({});

    await expect(
      clientFor(server).lookupPayment({ oid: 'o1', payType: 'card', date: '20250230', expectedAmount: 100 }),
    ).rejects.toMatchObject({ name: 'PaypleInvalidRequestError' });
  });

  it('refuses a refund when no refund key is configured', async () => {
    const server = await fake({});

    await expect(
      clientFor(server, { refundKey: undefined }).refund({ oid: 'o1', payDate: '20250105', amount: 100 }),
    ).rejects.toMatchObject({ name: 'PaypleConfigurationError' });
    expect(server.requests).toHaveLength(0);
  });
});

describe('calls that are safe to repeat', () => {
  it('throws a retryable timeout error when a lookup gets no answer', async () => {
    const server = await fake({ operation: hang });

    const attempt = clientFor(server).lookupPayment({
      oid: 'o1',
      payType: 'card',
      date: '20250105',
      expectedAmount: 100,
    });

    await expect(attempt).rejects.toBeInstanceOf(PaypleTimeoutError);
    await expect(attempt).rejects.toMatchObject({ retryable: true, operation: 'payment_lookup' });
  });

  it('throws a retryable HTTP error when PUSERINFO gets a 503', async () => {
    const server = await fake({ operation: raw(503, 'busy') });

    await expect(
      clientFor(server).getBillingKeyInfo({ billingKey: secrets.billingKey }),
    ).rejects.toBeInstanceOf(PaypleHttpStatusError);
  });

  it('throws an invalid-answer error when window auth answers garbage', async () => {
    const server = await fake({ auth: raw(200, 'not json') });

    await expect(clientFor(server).createWindowAuth()).rejects.toBeInstanceOf(PaypleInvalidAnswerError);
  });

  it('throws an invalid-answer error, not a typed outcome, when a lookup amount is not a whole number', async () => {
    const server = await fake({
      operation: (_r, response) =>
        json(response, chargeSuccess({ PCD_PAY_CODE: 'PCHK0000', PCD_PAY_OID: 'o1', PCD_PAY_TOTAL: 'abc' })),
    });

    await expect(
      clientFor(server).lookupPayment({ oid: 'o1', payType: 'card', date: '20250105', expectedAmount: 9900 }),
    ).rejects.toBeInstanceOf(PaypleInvalidAnswerError);
  });
});

describe('calls that move money besides the charge', () => {
  it('reports a refund without an answer as unknown, sent once', async () => {
    const server = await fake({ operation: hang });

    const outcome = await clientFor(server).refund({ oid: 'o1', payDate: '20250105', amount: 100 });

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    expect(server.operationRequests()).toHaveLength(1);
  });

  it('reports a refund success for another amount as unknown', async () => {
    const server = await fake({
      operation: (_r, response) =>
        json(response, {
          PCD_PAY_RST: 'success',
          PCD_PAY_CODE: 'PAYC0000',
          PCD_PAY_OID: 'o1',
          PCD_REFUND_TOTAL: '200',
        }),
    });

    const outcome = await clientFor(server).refund({ oid: 'o1', payDate: '20250105', amount: 100 });

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'amount_mismatch' });
  });

  it('reports a CERT confirm that gets a 500 as unknown, sent once', async () => {
    const server = await fake({ operation: raw(500, '') });

    const outcome = await clientFor(server).confirmCertPayment({
      confirmUrl: `${server.url}/php/PayCardConfirmAct.php?ACT_=PAYM`,
      authKey: 'WINDOW-AUTHKEY',
      requestKey: 'REQKEY',
      billingKey: secrets.billingKey,
      payType: 'card',
      expectedOid: 'o1',
      expectedAmount: 1000,
    });

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'http_status' });
    expect(server.operationRequests()).toHaveLength(1);
  });
});
