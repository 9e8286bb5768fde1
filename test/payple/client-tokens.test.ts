import { afterEach, describe, expect, it } from 'vitest';
import {
  InMemoryLookupTokenCache,
  LOOKUP_TOKEN_MAX_AGE_MS,
  PaypleClient,
  type LookupToken,
} from '../../functions/payple/index.ts';
import { chargeSuccess, failure, secrets } from './factories.ts';
import {
  captureLogs,
  json,
  manualClock,
  startFakePayple,
  type FakePayple,
  type Responder,
} from './fake-payple.ts';

const servers: FakePayple[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Answers lookups as paid and PUSERINFO as a live card, unless the test says otherwise. */
const payple: Responder = (request, response) => {
  if (request.body['PCD_PAYCHK_FLAG'] === 'Y') {
    json(response, chargeSuccess({ PCD_PAY_CODE: 'PCHK0000', PCD_PAY_OID: request.body['PCD_PAY_OID'] }));
  } else {
    json(response, { PCD_PAY_RST: 'success', PCD_PAY_CODE: '0000', PCD_PAY_TYPE: 'card' });
  }
};

async function setUp(operation: Responder = payple) {
  const server = await startFakePayple({ operation });
  servers.push(server);
  const clock = manualClock();
  const client = new PaypleClient({
    host: server.url,
    cstId: 'partner',
    custKey: secrets.custKey,
    referer: 'https://shop.example.com',
    clock,
    lookupTokenCache: new InMemoryLookupTokenCache({ clock }),
    logger: captureLogs().logger,
  });
  const lookup = (oid: string) =>
    client.lookupPayment({ oid, payType: 'card', date: '20250105', expectedAmount: 9900 });
  const authKeysUsed = () => server.operationRequests().map((request) => request.body['PCD_AUTH_KEY']);
  return { server, clock, client, lookup, authKeysUsed };
}

describe('lookup token reuse', () => {
  it('serves sequential lookups within 25 minutes with one auth', async () => {
    const { server, clock, lookup, authKeysUsed } = await setUp();

    await lookup('o1');
    clock.advance(LOOKUP_TOKEN_MAX_AGE_MS - 1);
    await lookup('o2');

    expect(server.authRequests()).toHaveLength(1);
    expect(authKeysUsed()).toEqual(['AUTHKEY-TOKEN-1', 'AUTHKEY-TOKEN-1']);
  });

  it('authenticates again once the token is 25 minutes old', async () => {
    const { server, clock, lookup, authKeysUsed } = await setUp();

    await lookup('o1');
    clock.advance(LOOKUP_TOKEN_MAX_AGE_MS);
    await lookup('o2');

    expect(server.authRequests()).toHaveLength(2);
    expect(authKeysUsed()).toEqual(['AUTHKEY-TOKEN-1', 'AUTHKEY-TOKEN-2']);
  });

  it('keeps PUSERINFO and result-lookup tokens apart', async () => {
    const { server, client, lookup, authKeysUsed } = await setUp();

    await lookup('o1');
    await client.getBillingKeyInfo({ billingKey: secrets.billingKey });
    await lookup('o2');
    await client.getBillingKeyInfo({ billingKey: secrets.billingKey });

    expect(server.authRequests().map((request) => request.body)).toEqual([
      { cst_id: 'partner', custKey: secrets.custKey, PCD_PAYCHK_FLAG: 'Y' },
      { cst_id: 'partner', custKey: secrets.custKey, PCD_PAY_WORK: 'PUSERINFO' },
    ]);
    expect(authKeysUsed()).toEqual([
      'AUTHKEY-TOKEN-1',
      'AUTHKEY-TOKEN-2',
      'AUTHKEY-TOKEN-1',
      'AUTHKEY-TOKEN-2',
    ]);
  });

  it('drops a cached token Payple refuses, reports token_expired, and the next lookup authenticates afresh', async () => {
    let refuse = true;
    const { server, lookup, authKeysUsed } = await setUp((request, response) => {
      if (refuse) {
        refuse = false;
        json(response, failure('PCHK0004', '[PCHK0004] 토큰 만료'));
      } else payple(request, response);
    });

    const refused = await lookup('o1');
    const retried = await lookup('o1');

    expect(refused).toMatchObject({ kind: 'token_expired', stage: 'operation', code: 'PCHK0004' });
    expect(retried.kind).toBe('success');
    expect(server.authRequests()).toHaveLength(2);
    expect(authKeysUsed()).toEqual(['AUTHKEY-TOKEN-1', 'AUTHKEY-TOKEN-2']);
  });

  it('never retries by itself: one refused lookup is one request', async () => {
    const { server, lookup } = await setUp((_request, response) => json(response, failure('PCHK0004')));

    await lookup('o1');

    expect(server.operationRequests()).toHaveLength(1);
  });

  it('uses a shared cache through the interface', async () => {
    const { server } = await setUp();
    const stored = new Map<string, LookupToken>();
    const shared = {
      get: (purpose: string) => Promise.resolve(stored.get(purpose)),
      put: (purpose: string, token: LookupToken) => Promise.resolve(void stored.set(purpose, token)),
      drop: (purpose: string) => Promise.resolve(void stored.delete(purpose)),
    };
    const options = {
      host: server.url,
      cstId: 'partner',
      custKey: secrets.custKey,
      referer: 'https://shop.example.com',
      lookupTokenCache: shared,
      logger: captureLogs().logger,
    };
    const lookup = (client: PaypleClient) =>
      client.lookupPayment({ oid: 'o1', payType: 'card', date: '20250105', expectedAmount: 9900 });

    await lookup(new PaypleClient(options));
    await lookup(new PaypleClient(options));

    expect(server.authRequests()).toHaveLength(1);
  });
});

describe('InMemoryLookupTokenCache', () => {
  const token = (authKey: string, expiresAt: number): LookupToken => ({
    cstId: 'c',
    custKey: 'k',
    authKey,
    returnUrl: 'https://democpay.payple.kr/php/PayChkAct.php',
    expiresAt,
  });

  it('forgets a token at its expiry', async () => {
    const clock = manualClock(0);
    const cache = new InMemoryLookupTokenCache({ clock });
    await cache.put('payment_lookup', token('a', 1_000));

    clock.advance(999);
    const before = await cache.get('payment_lookup');
    clock.advance(1);
    const after = await cache.get('payment_lookup');

    expect(before?.authKey).toBe('a');
    expect(after).toBeUndefined();
  });

  it('drops only the token that was refused, not a newer one', async () => {
    const cache = new InMemoryLookupTokenCache({ clock: manualClock(0) });
    await cache.put('payment_lookup', token('newer', 1_000));

    await cache.drop('payment_lookup', 'older');

    expect((await cache.get('payment_lookup'))?.authKey).toBe('newer');
  });
});
