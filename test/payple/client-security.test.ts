import { afterEach, describe, expect, it } from 'vitest';
import {
  PaypleClient,
  PaypleConfigurationError,
  PaypleHostNotAllowedError,
  REDACTED,
  isAllowedTarget,
  paypleHosts,
  redact,
  scrub,
  type CertConfirmInput,
} from '../../functions/payple/index.ts';
import { chargeInput, chargeSuccess, failure, secrets } from './factories.ts';
import { captureLogs, hang, json, startFakePayple, type FakePayple } from './fake-payple.ts';

const servers: FakePayple[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const confirmInput = (confirmUrl: string): CertConfirmInput => ({
  confirmUrl,
  authKey: 'WINDOW-AUTHKEY-0001',
  requestKey: 'REQKEY-0001',
  billingKey: secrets.billingKey,
  payType: 'card',
  expectedOid: 'checkout_1',
  expectedAmount: 1000,
});

function recordingFetch(answer: Record<string, unknown>) {
  const calls: { url: string; body: Record<string, unknown> }[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    calls.push({ url, body: JSON.parse(init?.body as string) as Record<string, unknown> });
    return Promise.resolve(new Response(JSON.stringify(answer), { status: 200 }));
  };
  return { fetch, calls };
}

describe('CERT confirm host allow-list', () => {
  it.each([
    'https://evil.example.com/php/PayCardConfirmAct.php?ACT_=PAYM',
    'http://democpay.payple.kr/php/PayCardConfirmAct.php?ACT_=PAYM',
    'https://democpay.payple.kr.evil.com/php/PayCardConfirmAct.php',
    'https://payple.kr.evil.com/',
    'https://evilpayple.kr/',
    'https://democpay.payple.kr@evil.com/',
    'https://user:pw@democpay.payple.kr/',
    'https://democpay.payple.kr:8443/',
    'javascript:alert(1)',
    'not a url',
  ])('refuses %s before sending anything', async (confirmUrl) => {
    const { fetch, calls } = recordingFetch({});
    const client = new PaypleClient({
      host: paypleHosts.test,
      cstId: 'test',
      custKey: secrets.custKey,
      referer: 'https://shop.example.com',
      fetch,
      logger: captureLogs().logger,
    });

    await expect(client.confirmCertPayment(confirmInput(confirmUrl))).rejects.toBeInstanceOf(
      PaypleHostNotAllowedError,
    );
    expect(calls).toHaveLength(0);
  });

  it.each([
    'https://democpay.payple.kr/php/PayCardConfirmAct.php?ACT_=PAYM',
    'https://cpay.payple.kr/php/PayCardConfirmAct.php?ACT_=PAYM',
  ])("posts to Payple's own host %s with the partner's credentials", async (confirmUrl) => {
    const { fetch, calls } = recordingFetch(
      chargeSuccess({ PCD_PAY_CODE: 'PCCF0000', PCD_PAY_OID: 'checkout_1', PCD_PAY_TOTAL: '1000' }),
    );
    const client = new PaypleClient({
      host: paypleHosts.live,
      cstId: 'partner',
      custKey: secrets.custKey,
      referer: 'https://shop.example.com',
      fetch,
      logger: captureLogs().logger,
    });

    const outcome = await client.confirmCertPayment(confirmInput(confirmUrl));

    expect(outcome).toMatchObject({
      kind: 'success',
      code: 'PCCF0000',
      value: { oid: 'checkout_1', amount: 1000 },
    });
    expect(calls).toEqual([
      {
        url: confirmUrl,
        body: {
          PCD_CST_ID: 'partner',
          PCD_CUST_KEY: secrets.custKey,
          PCD_AUTH_KEY: 'WINDOW-AUTHKEY-0001',
          PCD_PAY_REQKEY: 'REQKEY-0001',
          PCD_PAYER_ID: secrets.billingKey,
        },
      },
    ]);
  });

  it('allows the configured sandbox host and nothing beside it', () => {
    expect(isAllowedTarget('http://127.0.0.1:4010/php/PayCardConfirmAct.php', 'http://127.0.0.1:4010')).toBe(
      true,
    );
    expect(isAllowedTarget('http://127.0.0.1:4011/php/PayCardConfirmAct.php', 'http://127.0.0.1:4010')).toBe(
      false,
    );
  });
});

describe('configuration', () => {
  it.each([
    ['a host that is not a URL', { host: 'democpay.payple.kr' }],
    ['an ftp host', { host: 'ftp://democpay.payple.kr' }],
    ['no custKey', { custKey: '' }],
    ['no Referer', { referer: ' ' }],
    ['a zero timeout', { timeouts: { chargeMs: 0 } }],
  ])('refuses %s', (_name, overrides) => {
    const build = () =>
      new PaypleClient({
        host: paypleHosts.test,
        cstId: 'test',
        custKey: secrets.custKey,
        referer: 'https://shop.example.com',
        ...overrides,
      });

    expect(build).toThrow(PaypleConfigurationError);
    expect(build).not.toThrow(new RegExp(secrets.custKey));
  });
});

describe('redaction', () => {
  it('replaces every sensitive field at any depth and keeps the rest', () => {
    const body = {
      PCD_PAY_OID: 'o1',
      PCD_PAYER_ID: secrets.billingKey,
      nested: [{ custKey: secrets.custKey, AuthKey: 'A', pcd_payer_hp: secrets.phone, PCD_PAY_TOTAL: '100' }],
      PCD_PAYER_EMAIL: secrets.email,
      PCD_REFUND_KEY: secrets.refundKey,
    };

    expect(redact(body)).toEqual({
      PCD_PAY_OID: 'o1',
      PCD_PAYER_ID: REDACTED,
      nested: [{ custKey: REDACTED, AuthKey: REDACTED, pcd_payer_hp: REDACTED, PCD_PAY_TOTAL: '100' }],
      PCD_PAYER_EMAIL: REDACTED,
      PCD_REFUND_KEY: REDACTED,
    });
  });

  it('survives cycles', () => {
    const cyclic: Record<string, unknown> = { PCD_PAYER_ID: 'x' };
    cyclic['self'] = cyclic;

    expect(redact(cyclic)).toEqual({ PCD_PAYER_ID: REDACTED, self: '[Circular]' });
  });

  it('scrubs known secret values out of free text', () => {
    expect(
      scrub(`key ${secrets.billingKey} not found for ${secrets.phone}`, [secrets.billingKey, secrets.phone]),
    ).toBe(`key ${REDACTED} not found for ${REDACTED}`);
  });
});

describe('no secret or personal data in logs, errors or outcome messages', () => {
  it('keeps custKey, tokens, AuthKeys, refund key, billing key, phone and e-mail out of a whole scenario', async () => {
    const logs = captureLogs();
    let step = 0;
    const server = await startFakePayple({
      operation: (request, response) => {
        step += 1;
        const echo = `[SPCD0099] 3133 - 잔액부족 ${secrets.billingKey} ${secrets.phone} ${secrets.email} ${String(request.body['PCD_CUST_KEY'])}`;
        if (step === 1) json(response, chargeSuccess());
        else if (step === 2) json(response, failure('SPCD0099', echo));
        else if (step === 3) hang(request, response);
        else if (step === 4)
          json(response, {
            PCD_PAY_RST: 'error',
            PCD_PAY_CODE: 'PAYC0005',
            PCD_PAY_MSG: `${secrets.refundKey} 불일치`,
          });
        else response.writeHead(500).end(JSON.stringify(request.body));
      },
    });
    servers.push(server);
    const client = new PaypleClient({
      host: server.url,
      cstId: 'partner',
      custKey: secrets.custKey,
      referer: 'https://shop.example.com',
      refundKey: secrets.refundKey,
      timeouts: { chargeMs: 300, lookupMs: 300 },
      logger: logs.logger,
    });
    const outcomes: unknown[] = [];
    const errors: string[] = [];

    outcomes.push(await client.chargeBillingKey(chargeInput()));
    outcomes.push(await client.chargeBillingKey(chargeInput({ oid: 'sub_1-202501-2' })));
    outcomes.push(await client.chargeBillingKey(chargeInput({ oid: 'sub_1-202501-3' })));
    outcomes.push(await client.refund({ oid: 'sub_1-202501-1', payDate: '20250105', amount: 9900 }));
    await client.getBillingKeyInfo({ billingKey: secrets.billingKey }).catch((error: unknown) => {
      errors.push(String(error), JSON.stringify(error), String((error as Error).stack));
    });

    const tokens = server.requests.flatMap((request) =>
      ['PCD_CST_ID', 'PCD_CUST_KEY', 'PCD_AUTH_KEY'].map((field) => request.body[field]),
    );
    const forbidden = [
      secrets.custKey,
      secrets.refundKey,
      secrets.billingKey,
      secrets.phone,
      secrets.email,
      ...tokens.filter((token): token is string => typeof token === 'string'),
    ];
    const everything = [
      logs.text(),
      ...errors,
      JSON.stringify(outcomes.map((outcome) => redactCause(outcome))),
    ].join('\n');
    expect(logs.lines.length).toBeGreaterThanOrEqual(5);
    expect(errors.length).toBeGreaterThan(0);
    for (const value of forbidden) expect(everything).not.toContain(value);
  });

  it('logs operation, OID, outcome, codes and duration, and nothing else', async () => {
    const logs = captureLogs();
    const server = await startFakePayple({
      operation: (_r, response) => json(response, failure('SPCD0099', '[SPCD0099] 3100 - 유효기간 경과')),
    });
    servers.push(server);
    const client = new PaypleClient({
      host: server.url,
      cstId: 'partner',
      custKey: secrets.custKey,
      referer: 'https://shop.example.com',
      logger: logs.logger,
    });

    await client.chargeBillingKey(chargeInput());

    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]?.attributes).toEqual({
      operation: 'charge',
      oid: 'sub_1-202501-1',
      stage: 'operation',
      outcome: 'hard_decline',
      reason: 'issuer_code',
      code: 'SPCD0099',
      issuerCode: '3100',
      durationMs: expect.any(Number) as number,
    });
  });
});

/** Outcomes keep their cause for diagnostics; its message must be safe too. */
function redactCause(outcome: unknown): unknown {
  const cause = (outcome as { cause?: Error }).cause;
  return cause === undefined ? outcome : { ...(outcome as object), cause: `${cause.name}: ${cause.message}` };
}
