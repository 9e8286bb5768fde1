import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import {
  auth,
  charge,
  post,
  REFUND_KEY,
  START_KST_DATE,
  startReceiver,
  startSandbox,
  tokens,
} from './helpers.ts';

let sandbox: RunningPaypleSandbox;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  ({ sandbox } = await startSandbox({ webhookUrl: receiver.url }));
});
beforeEach(() => {
  sandbox.admin.reset();
  sandbox.admin.setWebhookUrl(receiver.url);
  receiver.received.length = 0;
  receiver.status.value = 200;
});
afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

async function settle(): Promise<void> {
  await sandbox.admin.webhooksIdle();
}

describe('webhooks', () => {
  it('POSTs each charge result as JSON with the partner id, OID and amount', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;

    await charge(sandbox, { payerId, oid: 'wh-1', total: '9900' });
    await settle();

    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({
      method: 'POST',
      contentType: 'application/json; charset=utf-8',
      body: {
        PCD_CST_ID: 'test',
        PCD_PAY_RST: 'success',
        PCD_PAY_CODE: 'SPCD0000',
        PCD_PAY_OID: 'wh-1',
        PCD_PAY_TYPE: 'card',
        PCD_PAYER_ID: payerId,
        PCD_PAY_TOTAL: '9900',
        PCD_PAY_TIME: '20250115100000',
        PCD_SIMPLE_FLAG: 'Y',
      },
    });
    expect(sandbox.admin.webhooks()).toMatchObject([
      { operation: 'charge', oid: 'wh-1', status: 'delivered', httpStatus: 200, copy: 1 },
    ]);
  });

  it('reports declines, and the truth of unknown outcomes', async () => {
    const declined = sandbox.admin.createBillingKey({ card: 'insufficientFunds' }).PCD_PAYER_ID;
    const noAnswer = sandbox.admin.createBillingKey({ card: 'cardCompanyNoAnswer' }).PCD_PAYER_ID;

    await charge(sandbox, { payerId: declined, oid: 'wh-declined' });
    const answer = await charge(sandbox, { payerId: noAnswer, oid: 'wh-unknown' });
    await settle();

    expect(answer.json['PCD_PAY_CODE']).toBe('SPCD1001');
    const byOid = new Map(receiver.received.map((hook) => [hook.body['PCD_PAY_OID'], hook.body]));
    expect(byOid.get('wh-declined')).toMatchObject({ PCD_PAY_RST: 'error', PCD_PAY_CODE: 'SPCD0099' });
    expect(byOid.get('wh-unknown')).toMatchObject({ PCD_PAY_RST: 'success', PCD_PAY_CODE: 'SPCD0000' });
  });

  it('duplicates: the same body arrives twice (or N times)', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.addFault({ kind: 'webhookDuplicate', oid: 'wh-dup', times: 1 });
    sandbox.admin.addFault({ kind: 'webhookDuplicate', copies: 3, oid: 'wh-triple', times: 1 });

    await charge(sandbox, { payerId, oid: 'wh-dup' });
    await charge(sandbox, { payerId, oid: 'wh-triple' });
    await settle();

    const oids = receiver.received.map((hook) => hook.body['PCD_PAY_OID']);
    expect(oids.filter((oid) => oid === 'wh-dup')).toHaveLength(2);
    expect(oids.filter((oid) => oid === 'wh-triple')).toHaveLength(3);
    expect(receiver.received[0]?.body).toEqual(receiver.received[1]?.body);
  });

  it('drops: nothing arrives, the delivery is recorded as dropped', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.addFault({ kind: 'webhookDrop', operation: 'charge', times: 1 });

    await charge(sandbox, { payerId, oid: 'wh-drop' });
    await settle();

    expect(receiver.received).toEqual([]);
    expect(sandbox.admin.webhooks()).toMatchObject([{ oid: 'wh-drop', status: 'dropped' }]);
  });

  it('delays: held until released, then delivered', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.addFault({ kind: 'webhookDelay', ms: 60_000, times: 1 });

    await charge(sandbox, { payerId, oid: 'wh-late' });
    const before = sandbox.admin.webhooks();
    const receivedBefore = receiver.received.length;
    sandbox.admin.releaseWebhooks();
    await settle();

    expect(before).toMatchObject([{ oid: 'wh-late', status: 'delayed' }]);
    expect(receivedBefore).toBe(0);
    expect(receiver.received.map((hook) => hook.body['PCD_PAY_OID'])).toEqual(['wh-late']);
    expect(sandbox.admin.webhooks()[0]?.status).toBe('delivered');
  });

  it('delays by time when not released', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.addFault({ kind: 'webhookDelay', ms: 100, times: 1 });

    await charge(sandbox, { payerId, oid: 'wh-timed' });
    await settle();

    expect(receiver.received.map((hook) => hook.body['PCD_PAY_OID'])).toEqual(['wh-timed']);
  });

  it('records a receiver that answers non-2xx as failed, without retrying', async () => {
    receiver.status.value = 500;
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;

    await charge(sandbox, { payerId, oid: 'wh-500' });
    await settle();

    expect(receiver.received).toHaveLength(1);
    expect(sandbox.admin.webhooks()).toMatchObject([{ status: 'failed', httpStatus: 500 }]);
  });

  it('records events without a URL as noUrl, and uses a URL set later', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    sandbox.admin.setWebhookUrl(undefined);

    await charge(sandbox, { payerId, oid: 'wh-none' });
    sandbox.admin.setWebhookUrl(receiver.url);
    await charge(sandbox, { payerId, oid: 'wh-set' });
    await settle();

    expect(sandbox.admin.webhooks().map((hook) => [hook.oid, hook.status])).toEqual([
      ['wh-none', 'noUrl'],
      ['wh-set', 'delivered'],
    ]);
  });

  it('sends a PUSERDEL webhook when a key is ended in Payple admin; the key stops working', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success', payerNo: '42' }).PCD_PAYER_ID;

    const ended = sandbox.admin.terminateBillingKey(payerId);
    await settle();
    const refused = await charge(sandbox, { payerId });

    expect(ended).toMatchObject({ status: 'deleted', deletedBy: 'admin' });
    expect(receiver.received[0]?.body).toMatchObject({
      PCD_CST_ID: 'test',
      PCD_PAY_WORK: 'PUSERDEL',
      PCD_PAYER_ID: payerId,
      PCD_PAY_TYPE: 'card',
      PCD_PAYER_NO: '42',
    });
    expect(refused.json['PCD_PAY_CODE']).toBe('SPCD0012');
  });

  it('sends cancellations with PCD_PAYCANCEL_FLAG, PCD_REFUND_TOTAL and PCD_REFUND_TIME', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, oid: 'wh-refund', total: '5000' });
    const token = await auth(sandbox, { PCD_PAYCANCEL_FLAG: 'Y' });

    await post(token.return_url, {
      ...tokens(token),
      PCD_REFUND_KEY: REFUND_KEY,
      PCD_PAYCANCEL_FLAG: 'Y',
      PCD_PAY_OID: 'wh-refund',
      PCD_PAY_DATE: START_KST_DATE,
      PCD_REFUND_TOTAL: '2000',
    });
    await settle();

    expect(receiver.received.at(-1)?.body).toMatchObject({
      PCD_CST_ID: 'test',
      PCD_PAYCANCEL_FLAG: 'Y',
      PCD_PAY_OID: 'wh-refund',
      PCD_REFUND_TOTAL: '2000',
      PCD_REFUND_TIME: '20250115100000',
    });
  });
});
