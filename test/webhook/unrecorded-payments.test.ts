/**
 * A PAY window's payment that no subscription records: Payple's webhook reports it, the browser
 * never brings the result back to PCD_RST_URL. The webhook keeps the report; the reconciler drops it
 * once the return records the payment, and reports it outstanding (its alarm's metric) once the
 * checkout could no longer come back.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UNRECORDED_PAYMENT_GRACE_MS } from '../../functions/reconciler/reconciler.ts';
import { testCards } from '../../local/payple-sandbox/index.ts';
import { checkout, payInWindow, postReturn, startEdgeStack, type EdgeStack } from '../edge/support.ts';

describe('a paid PAY window reported by the webhook before, or instead of, the browser’s return', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: '2027-04-06T15:00:00+09:00', deliverWebhooks: true });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  const reportedOids = async () => (await edge.stack.billing.unrecordedPayments.list()).map((r) => r.oid);

  test('reports arriving at once, the first ones included, are all kept; a copy keeps the first', async () => {
    const reports = edge.stack.billing.unrecordedPayments;
    const oids = Array.from({ length: 8 }, (_, i) => `sub${String(i).repeat(32)}-20270406-1`);

    await Promise.all(oids.map((oid, i) => reports.record({ oid, reportedAt: 1_000 + i })));
    await reports.record({ oid: oids[0]!, reportedAt: 5_000, amount: 1 });

    expect(await reports.list()).toEqual(oids.map((oid, i) => ({ oid, reportedAt: 1_000 + i })));
    await Promise.all(oids.map((oid) => reports.remove(oid)));
    expect(await reports.list()).toEqual([]);
  });

  test('the webhook outran the browser: the return records the payment and the next run drops the report', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const oid = params['PCD_PAY_OID']!;
    const result = await payInWindow(params, { number: testCards.success.number });
    await edge.stack.sandbox.admin.webhooksIdle();
    expect(await reportedOids()).toEqual([oid]);

    await postReturn(result.action, result.fields);
    const run = await edge.stack.billing.reconcile();

    expect(await edge.stack.billing.store.getPayment(oid)).toMatchObject({ state: 'paid' });
    expect(run.unrecordedPayments).toEqual({ recorded: 1, outstanding: [] });
    expect(await reportedOids()).toEqual([]);
  });

  test('the browser never came back: outstanding on every run after the grace period until an operator removes it', async () => {
    const params = await checkout(edge, { planId: 'pro-monthly', payType: 'card' });
    const oid = params['PCD_PAY_OID']!;
    await payInWindow(params, { number: testCards.success.number });
    await edge.stack.sandbox.admin.webhooksIdle();
    const reportedAt = edge.stack.clock.now();
    expect(await edge.stack.billing.unrecordedPayments.list()).toEqual([
      { oid, reportedAt, amount: 29_000, payType: 'card' },
    ]);

    const early = await edge.stack.billing.reconcile();
    await edge.stack.clock.set(reportedAt + UNRECORDED_PAYMENT_GRACE_MS);
    const late = await edge.stack.billing.reconcile();
    const again = await edge.stack.billing.reconcile();

    expect(early.unrecordedPayments).toEqual({ recorded: 0, outstanding: [] });
    expect(late.unrecordedPayments).toEqual({ recorded: 0, outstanding: [oid] });
    expect(again.unrecordedPayments).toEqual({ recorded: 0, outstanding: [oid] });
    expect(await edge.stack.billing.store.getPayment(oid)).toBeUndefined();

    await edge.stack.billing.unrecordedPayments.remove(oid);
    expect((await edge.stack.billing.reconcile()).unrecordedPayments).toEqual({
      recorded: 0,
      outstanding: [],
    });
  });
});
