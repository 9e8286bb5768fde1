/**
 * The admin can put another test card behind an existing billing key (the key a subscription holds
 * starts to decline, as a real card does), in-process and over HTTP; and a snapshot of keys and
 * charges restored into a fresh sandbox answers as the first one would.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { auth, charge, lookupWith, post, startSandbox, tokens } from './helpers.ts';

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

async function putInstrument(payerId: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(
    `${sandbox.url}/__sandbox/billing-keys/${encodeURIComponent(payerId)}/instrument`,
    { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return { status: response.status, json: await response.json() };
}

describe('setBillingKeyInstrument', () => {
  it('makes a key that charged start declining, and back, under the same PCD_PAYER_ID', async () => {
    const { PCD_PAYER_ID: payerId } = sandbox.admin.createBillingKey({ card: 'success' });
    const before = await charge(sandbox, { payerId, oid: 'sub1-20250115-1' });

    const view = sandbox.admin.setBillingKeyInstrument(payerId, { card: 'insufficientFunds' });
    const declined = await charge(sandbox, { payerId, oid: 'sub1-20250215-1' });
    sandbox.admin.setBillingKeyInstrument(payerId, { card: '9410-0000-0000-0001' });
    const again = await charge(sandbox, { payerId, oid: 'sub1-20250215-2' });

    expect(before.json).toMatchObject({ PCD_PAY_RST: 'success' });
    expect(view).toMatchObject({
      PCD_PAYER_ID: payerId,
      testName: 'insufficientFunds',
      maskedNumber: '9410-****-****-3133',
      status: 'active',
    });
    expect(declined.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0099' });
    expect(declined.json['PCD_PAY_MSG']).toContain('3133');
    expect(again.json).toMatchObject({ PCD_PAY_RST: 'success' });
    expect(sandbox.admin.ledger().map((entry) => entry.status)).toEqual(['charged', 'declined', 'charged']);
  });

  it('shows the new card in PUSERINFO', async () => {
    const { PCD_PAYER_ID: payerId } = sandbox.admin.createBillingKey({ card: 'success' });

    sandbox.admin.setBillingKeyInstrument(payerId, { card: 'expired' });
    const token = await auth(sandbox, { PCD_PAY_WORK: 'PUSERINFO' });
    const info = await post(token.return_url, { ...tokens(token), PCD_PAYER_ID: payerId });

    expect(info.json).toMatchObject({ PCD_PAY_RST: 'success', PCD_PAY_CARDNUM: '9410-****-****-3100' });
  });

  it('is served over HTTP and refuses what it cannot do', async () => {
    const card = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    const account = sandbox.admin.createBillingKey({ account: 'success' }).PCD_PAYER_ID;
    const deleted = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.terminateBillingKey(deleted);

    expect(await putInstrument(card, { card: 'limitExceeded' })).toMatchObject({
      status: 200,
      json: { PCD_PAYER_ID: card, testName: 'limitExceeded' },
    });
    expect(await putInstrument(account, { account: 'closed' })).toMatchObject({
      status: 200,
      json: { payType: 'transfer', testName: 'closed' },
    });
    expect((await putInstrument(card, { account: 'closed' })).status).toBe(400);
    expect((await putInstrument(card, { card: 'nope' })).status).toBe(400);
    expect((await putInstrument(card, { card: 'success', account: 'success' })).status).toBe(400);
    expect((await putInstrument(deleted, { card: 'success' })).status).toBe(400);
    expect((await putInstrument('unknown', { card: 'success' })).status).toBe(404);
    expect(sandbox.admin.billingKeys().find((key) => key.PCD_PAYER_ID === card)).toMatchObject({
      testName: 'limitExceeded',
    });
  });
});

describe('snapshot and restore', () => {
  it('a fresh sandbox restored from a snapshot knows the keys and payments, and refuses used OIDs', async () => {
    const { PCD_PAYER_ID: payerId } = sandbox.admin.createBillingKey({
      card: 'success',
      payerName: '홍길동',
    });
    await charge(sandbox, { payerId, oid: 'sub1-20250115-1' });
    const declining = sandbox.admin.createBillingKey({ card: 'insufficientFunds' }).PCD_PAYER_ID;

    const snapshot = JSON.parse(JSON.stringify(sandbox.snapshot())) as ReturnType<typeof sandbox.snapshot>;
    const { sandbox: next } = await startSandbox();
    try {
      next.restore(snapshot);
      const lookup = await lookupWith(await auth(next, { PCD_PAYCHK_FLAG: 'Y' }), 'sub1-20250115-1');
      const duplicate = await charge(next, { payerId, oid: 'sub1-20250115-1' });
      const renewal = await charge(next, { payerId, oid: 'sub1-20250215-1' });
      const decline = await charge(next, { payerId: declining, oid: 'sub2-20250115-1' });
      const infoToken = await auth(next, { PCD_PAY_WORK: 'PUSERINFO' });
      const info = await post(infoToken.return_url, { ...tokens(infoToken), PCD_PAYER_ID: payerId });

      expect(next.admin.billingKeys()).toEqual(sandbox.admin.billingKeys());
      expect(lookup.json).toMatchObject({ PCD_PAY_RST: 'success', PCD_PAY_OID: 'sub1-20250115-1' });
      expect(duplicate.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0014' });
      expect(renewal.json).toMatchObject({ PCD_PAY_RST: 'success' });
      expect(info.json).toMatchObject({ PCD_PAY_RST: 'success', PCD_PAYER_NAME: '홍길동' });
      expect(decline.json).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0099' });
    } finally {
      await next.stop();
    }
  });
});
