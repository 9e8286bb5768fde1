import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { auth, charge, lookupWith, post, startSandbox } from './helpers.ts';

let sandbox: RunningPaypleSandbox;

beforeAll(async () => {
  ({ sandbox } = await startSandbox());
});
beforeEach(() => {
  sandbox.admin.reset();
});
afterAll(async () => {
  await sandbox.stop();
});

function cardKey(): string {
  return sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
}

describe('request faults', () => {
  it('latency: the answer comes late but right, the OID is held meanwhile', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'latency', ms: 150, operation: 'charge', times: 1 });

    const pending = charge(sandbox, { payerId, oid: 'lat-1' });
    await expect.poll(() => sandbox.admin.ledgerEntry('lat-1')?.status).toBe('processing');

    expect((await pending).json['PCD_PAY_RST']).toBe('success');
    expect(sandbox.admin.ledgerEntry('lat-1')?.status).toBe('charged');
  });

  it('noAnswer: the socket is held until the client gives up; nothing is charged', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'noAnswer', operation: 'charge', times: 1 });

    await expect(
      charge(sandbox, { payerId, oid: 'hold-1', signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();

    expect(sandbox.admin.ledgerEntry('hold-1')).toBeUndefined();
    expect((await charge(sandbox, { payerId, oid: 'hold-1' })).json['PCD_PAY_RST']).toBe('success');
  });

  it('noAnswer with execute: the charge is made and its answer never delivered', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'noAnswer', execute: true, oid: 'hold-2' });

    await expect(
      charge(sandbox, { payerId, oid: 'hold-2', signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();

    expect(sandbox.admin.ledgerEntry('hold-2')).toMatchObject({ status: 'charged', answerDelivered: false });
  });

  it('httpError: a 5xx page, nothing charged unless execute', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'httpError', operation: 'charge', times: 1 });
    sandbox.admin.addFault({ kind: 'httpError', status: 504, execute: true, operation: 'charge', times: 1 });

    const plain = await charge(sandbox, { payerId, oid: 'http-1' });
    const executed = await charge(sandbox, { payerId, oid: 'http-2' });

    expect(plain.status).toBe(500);
    expect(plain.json).toEqual({});
    expect(sandbox.admin.ledgerEntry('http-1')).toBeUndefined();
    expect(executed.status).toBe(504);
    expect(sandbox.admin.ledgerEntry('http-2')).toMatchObject({ status: 'charged', answerDelivered: false });
  });

  it('garbage: 200 with an unparseable body, and the charge made', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'garbage', operation: 'charge', times: 1 });

    const { status, text } = await charge(sandbox, { payerId, oid: 'junk-1' });

    expect(status).toBe(200);
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(sandbox.admin.ledgerEntry('junk-1')).toMatchObject({ status: 'charged', answerDelivered: false });
  });

  it('garbage without execute: nothing charged', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'garbage', execute: false, operation: 'charge', times: 1 });

    const { text } = await charge(sandbox, { payerId, oid: 'junk-2' });

    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(sandbox.admin.ledgerEntry('junk-2')).toBeUndefined();
  });

  it('answerLost: charged, then the connection is reset', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'answerLost', operation: 'charge', times: 1 });

    await expect(charge(sandbox, { payerId, oid: 'lost-1' })).rejects.toThrow();

    expect(sandbox.admin.ledgerEntry('lost-1')).toMatchObject({ status: 'charged', answerDelivered: false });
  });

  it('answerLost via badGateway: charged, then a 502', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'answerLost', via: 'badGateway', operation: 'charge', times: 1 });

    const { status } = await charge(sandbox, { payerId, oid: 'lost-2' });

    expect(status).toBe(502);
    expect(sandbox.admin.ledgerEntry('lost-2')?.status).toBe('charged');
  });

  it.each([
    [true, 'charged'],
    [false, 'declined'],
  ] as const)('cardCompanyNoAnswer charged=%s: SPCD1001 and a %s ledger entry', async (charged, status) => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'cardCompanyNoAnswer', charged, times: 1 });

    const { json } = await charge(sandbox, { payerId, oid: `cc-${charged}` });

    expect(json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD1001' });
    expect(sandbox.admin.ledgerEntry(`cc-${charged}`)?.status).toBe(status);
  });

  it('cardCompanyNoAnswer answers RPCD1001 on the monthly route and CPAY0018 for transfers', async () => {
    sandbox.admin.addFault({ kind: 'cardCompanyNoAnswer', charged: true, times: 2 });

    const card = await charge(sandbox, { payerId: cardKey(), regular: { year: '2025', month: '01' } });
    const account = sandbox.admin.createBillingKey({ account: 'success' }).PCD_PAYER_ID;
    const transfer = await charge(sandbox, { payerId: account, payType: 'transfer' });

    expect(card.json['PCD_PAY_CODE']).toBe('RPCD1001');
    expect(transfer.json['PCD_PAY_CODE']).toBe('CPAY0018');
  });

  it('applies to the next N matching requests only', async () => {
    const payerId = cardKey();
    sandbox.admin.addFault({ kind: 'httpError', status: 503, operation: 'charge', times: 2 });

    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await charge(sandbox, { payerId, oid: `n-${i}` })).status);

    expect(statuses).toEqual([503, 503, 200]);
    expect(sandbox.admin.faults()).toEqual([]);
  });

  it('applies as a standing rule to matching OIDs or billing keys until removed', async () => {
    const payerId = cardKey();
    const other = cardKey();
    const fault = sandbox.admin.addFault({ kind: 'httpError', payerId });

    const first = await charge(sandbox, { payerId, oid: 'rule-1' });
    const second = await charge(sandbox, { payerId, oid: 'rule-2' });
    const otherKey = await charge(sandbox, { payerId: other, oid: 'rule-3' });
    expect(sandbox.admin.removeFault(fault.id)).toBe(true);
    const after = await charge(sandbox, { payerId, oid: 'rule-4' });

    expect([first.status, second.status, otherKey.status, after.status]).toEqual([500, 500, 200, 200]);
    expect(sandbox.admin.faults()).toEqual([]);
  });

  it('matches auth requests by operation, and charge-only faults skip them', async () => {
    sandbox.admin.addFault({ kind: 'cardCompanyNoAnswer', charged: true, times: 1 });
    sandbox.admin.addFault({ kind: 'httpError', status: 502, operation: 'auth', times: 1 });

    const refusedAuth = await post(`${sandbox.url}/php/auth.php`, {
      cst_id: 'test',
      custKey: 'abcd1234567890',
    });
    const chargeAnswer = await charge(sandbox, { payerId: cardKey() });

    expect(refusedAuth.status).toBe(502);
    expect(chargeAnswer.json['PCD_PAY_CODE']).toBe('SPCD1001');
  });

  it('applies to lookups too', async () => {
    sandbox.admin.addFault({ kind: 'garbage', operation: 'lookup', times: 1 });
    const token = await auth(sandbox, { PCD_PAYCHK_FLAG: 'Y' });

    const { text } = await lookupWith(token, 'x');

    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('refuses an invalid fault spec', () => {
    expect(() => sandbox.admin.addFault({ kind: 'latency' } as never)).toThrow(/ms/);
    expect(() => sandbox.admin.addFault({ kind: 'explode' } as never)).toThrow();
  });
});

describe('stop()', () => {
  it('closes held requests and pending slow work, and does not hang', async () => {
    const { sandbox: own } = await startSandbox({ slowDelayMs: 60_000 });
    const held = own.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const slow = own.admin.createBillingKey({ card: 'slow' }).PCD_PAYER_ID;
    own.admin.addFault({ kind: 'noAnswer', payerId: held });
    own.admin.setWebhookUrl('http://127.0.0.1:9/unreachable');
    own.admin.addFault({ kind: 'webhookDelay', ms: 60_000 });
    own.admin.terminateBillingKey(own.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID);

    const outcome = (request: Promise<unknown>): Promise<string> =>
      request.then(
        () => 'answered',
        () => 'closed',
      );
    const heldRequest = outcome(charge(own, { payerId: held }));
    const slowRequest = outcome(charge(own, { payerId: slow, oid: 'slow-at-stop' }));
    await expect.poll(() => own.admin.ledgerEntry('slow-at-stop')?.status).toBe('processing');
    await own.stop();

    expect(await heldRequest).toBe('closed');
    expect(await slowRequest).toBe('closed');
    expect(own.admin.webhooks().map((delivery) => delivery.status)).toEqual(['cancelled']);
    await own.stop(); // idempotent
  });
});
