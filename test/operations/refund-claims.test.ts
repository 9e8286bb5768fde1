/**
 * Refund claims: a refund is claimed on the payment before Payple is called, so concurrent
 * requests and requests made while an outcome is unknown send nothing; the claim is resolved by
 * Payple's webhook or by an operator (`resolvePendingRefund`). The caller's request id, carried by
 * the claim and kept on the refund, makes a retry of a refund that completed send nothing. Against
 * the emulators, the real webhook behind the local gateway and the Payple sandbox, whose ledger says
 * what was refunded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { formatKstInstant, type PendingRefund } from '../../functions/billing/index.ts';
import { PaypleTimeoutError } from '../../functions/payple/index.ts';
import {
  PENDING_REFUND_SETTLE_MS,
  refundPayment,
  resolvePendingRefund,
  type RefundPaymentResult,
} from '../../functions/use-cases/refund-payment.ts';
import {
  cancelBody,
  eventsOf,
  MINUTE,
  paidPayment,
  postWebhook,
  refundAtPayple,
  releaseWebhooks,
  snapshot,
  startWebhookHarness,
  type TestPayment,
  type WebhookHarness,
} from '../webhook/support.ts';
import { InterruptedStore, isoFromKstTime, RecordingRefundGateway, refundDeps } from './support.ts';

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(async () => {
  await harness.stop();
});
afterEach(async () => {
  harness.stack.sandbox.admin.setWebhookUrl(undefined);
  harness.stack.sandbox.admin.clearFaults();
  await releaseWebhooks(harness);
});

function ledgerRefunds(made: TestPayment) {
  const entry = harness.stack.sandbox.admin.ledgerEntry(made.oid);
  return (entry?.refunds ?? []).map((refund) => ({
    amount: refund.amount,
    refundedAt: isoFromKstTime(refund.refundTime),
  }));
}

function refundEvents(made: TestPayment) {
  return eventsOf(harness, made.subscription.id).filter((event) => event.type === 'payment.refunded');
}

/** Payple's cancellation webhooks for the payment are held until `releaseWebhooks`. */
function holdCancelWebhooks(made: TestPayment) {
  const { admin } = harness.stack.sandbox;
  admin.setWebhookUrl(harness.url);
  admin.addFault({ kind: 'webhookDelay', ms: 600_000, operation: 'cancel', oid: made.oid });
}

/** The next refund call of the payment: Payple refunds, the answer never arrives. */
function loseNextAnswer(made: TestPayment) {
  harness.stack.sandbox.admin.addFault({ kind: 'answerLost', operation: 'cancel', oid: made.oid, times: 1 });
}

/** The next refund call of the payment: a 500 before Payple refunded anything. */
function failNextBeforeRefunding(made: TestPayment) {
  harness.stack.sandbox.admin.addFault({
    kind: 'httpError',
    status: 500,
    execute: false,
    operation: 'cancel',
    oid: made.oid,
    times: 1,
  });
}

const pendingOf = async (made: TestPayment) =>
  (await harness.stack.billing.store.getPayment(made.oid))?.pendingRefund;

/** A claim old enough for an operator to resolve. */
const afterSettle = () => harness.stack.clock.set(harness.stack.clock.now() + PENDING_REFUND_SETTLE_MS);

/**
 * A gate in front of Payple: the first refund call waits at it until `open()`; `reached` resolves
 * when a call arrives. A second call passes straight through, so a test whose both requests reach
 * Payple does not hang: it fails on what was sent.
 */
function gatedGateway() {
  let open!: () => void;
  let arrived!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const gateway: RecordingRefundGateway = new RecordingRefundGateway(harness.payple, {
    before: () => {
      arrived();
      return gateway.inputs.length === 1 ? gate : Promise.resolve();
    },
  });
  return { gateway, reached, open };
}

describe('a refund is claimed before Payple is called: one refund of a payment at a time', () => {
  test('two refunds at once: exactly one reaches Payple, the other is refused refund_in_progress', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const { gateway, open } = gatedGateway();
    const deps = refundDeps(harness, { payple: gateway });

    const first = refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'R-1' });
    const second = refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'R-2' });
    // The request that claimed waits at Payple's door; the other one is answered meanwhile.
    const answeredFirst = await Promise.race([first, second]);
    open();
    const results = await Promise.all([first, second]);

    // Either request may claim first: the claim names the one that is refunded.
    const claim = {
      amount: 3_000,
      requestedAt: stack.clock.now(),
      requestId: expect.stringMatching(/^R-[12]$/) as string,
    };
    expect(answeredFirst).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'refund_in_progress',
      state: 'paid',
      pendingRefund: claim,
    });
    expect(results.map((result) => result.kind).sort()).toEqual(['refunded', 'refused']);
    expect(results.find((result) => result.kind === 'refunded')).toMatchObject({
      amount: 3_000,
      refundedTotal: 3_000,
      recorded: 'now',
    });
    expect(gateway.inputs).toHaveLength(1);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([3_000]);
    const payment = await stack.billing.store.getPayment(made.oid);
    expect(payment).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 3_000,
      refunds: ledgerRefunds(made),
    });
    expect(payment?.pendingRefund).toBeUndefined();
    expect(payment?.refunds?.[0]?.requestId).toBe(
      answeredFirst.kind === 'refused' ? answeredFirst.pendingRefund?.requestId : 'not refused',
    );
    expect(refundEvents(made)).toHaveLength(1);
  });

  test('both read the payment before either claimed: the later claim is a conflict, re-read and refused', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const { gateway, reached, open } = gatedGateway();
    let other: Promise<RefundPaymentResult> | undefined;
    // This request has read the payment; before its claim is written, the other one claims and
    // goes on to Payple.
    const store = new InterruptedStore(stack.billing.store, {
      beforeCommit: async () => {
        other = refundPayment(refundDeps(harness, { payple: gateway }), {
          oid: made.oid,
          amount: 2_000,
          requestId: 'R-3',
        });
        await reached;
      },
    });

    const result = await refundPayment(refundDeps(harness, { store, payple: gateway }), {
      oid: made.oid,
      amount: 5_000,
      requestId: 'R-4',
    });
    open();
    const otherResult = await other;

    expect(store.commits[0]).toEqual({ committed: false, reason: 'conflict' });
    expect(result).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'refund_in_progress',
      state: 'paid',
      pendingRefund: { amount: 2_000, requestedAt: stack.clock.now(), requestId: 'R-3' },
    });
    expect(otherResult).toMatchObject({ kind: 'refunded', amount: 2_000, refundedTotal: 2_000 });
    expect(gateway.inputs.map((input) => input.amount)).toEqual([2_000]);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([2_000]);
  });

  test('a retry after an unknown outcome is refused and nothing is sent, whatever its amount', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    loseNextAnswer(made);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const lost = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'R-5' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const before = await snapshot(harness);
    const retries = [
      // The same request again, then other ones.
      await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'R-5' }),
      await refundPayment(deps, { oid: made.oid, amount: 1_000, requestId: 'R-7' }),
      await refundPayment(deps, { oid: made.oid, requestId: 'R-8' }),
    ];

    const claim = { amount: 4_000, requestedAt: stack.clock.now() - MINUTE, requestId: 'R-5' };
    expect(lost).toMatchObject({ kind: 'outcome_unknown', amount: 4_000, pendingRefund: claim });
    for (const retry of retries) {
      expect(retry).toEqual({
        kind: 'refused',
        oid: made.oid,
        reason: 'refund_in_progress',
        state: 'paid',
        pendingRefund: claim,
      });
    }
    expect(gateway.inputs).toHaveLength(1);
    // Payple did refund the first one, once.
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([4_000]);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('a function that dies after its claim (a non-Payple error): thrown, the claim blocks refunds until resolved', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const dying = new RecordingRefundGateway(harness.payple, {
      before: () => Promise.reject(new Error('Runtime exited')),
    });
    const gateway = new RecordingRefundGateway(harness.payple);

    await expect(
      refundPayment(refundDeps(harness, { payple: dying }), { oid: made.oid, requestId: 'R-9' }),
    ).rejects.toThrow('Runtime exited');
    const blocked = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      requestId: 'R-10',
    });

    const claim = { amount: 9_900, requestedAt: stack.clock.now(), requestId: 'R-9' };
    expect(blocked).toMatchObject({ kind: 'refused', reason: 'refund_in_progress', pendingRefund: claim });
    expect(gateway.inputs).toEqual([]);
    expect(ledgerRefunds(made)).toEqual([]);
    expect(await pendingOf(made)).toEqual(claim);

    // Payple's admin shows no refund: the operator clears the claim and the same request, made
    // again, goes through.
    await afterSettle();
    const resolved = await resolvePendingRefund(refundDeps(harness), { oid: made.oid, refunded: false });
    const again = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      requestId: 'R-9',
    });

    expect(resolved).toMatchObject({ kind: 'claim_cleared', amount: 9_900, requestId: 'R-9' });
    expect(again).toMatchObject({ kind: 'refunded', amount: 9_900, fullyRefunded: true });
    expect(gateway.inputs).toHaveLength(1);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([9_900]);
  });

  test('a gateway that throws a transport error (the request may have reached Payple): thrown, the claim stays', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const lost = new RecordingRefundGateway(harness.payple, {
      before: () => Promise.reject(new PaypleTimeoutError(10_000, { operation: 'refund' })),
    });

    await expect(
      refundPayment(refundDeps(harness, { payple: lost }), { oid: made.oid, requestId: 'R-11' }),
    ).rejects.toThrow(PaypleTimeoutError);

    expect(await pendingOf(made)).toEqual({
      amount: 9_900,
      requestedAt: stack.clock.now(),
      requestId: 'R-11',
    });
  });

  test('a refund Payple declines clears its claim: the next request reaches Payple', async () => {
    const made = await paidPayment(harness);
    // Cancelled in Payple's admin, its webhook lost: Payple refuses our refunds of it.
    await refundAtPayple(harness, made, 9_900);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const first = await refundPayment(deps, { oid: made.oid, amount: 1_000, requestId: 'R-12' });
    const second = await refundPayment(deps, { oid: made.oid, amount: 1_000, requestId: 'R-13' });

    for (const result of [first, second]) {
      expect(result).toMatchObject({ kind: 'declined', classification: 'hard_decline', code: 'PAYC0012' });
      expect(result).not.toHaveProperty('pendingRefund');
    }
    expect(gateway.inputs).toHaveLength(2);
    expect(await harness.stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'paid',
      version: made.payment.version + 4,
    });
    expect(await pendingOf(made)).toBeUndefined();
  });
});

describe("Payple's webhook resolves a pending refund it reports", () => {
  test('the refund of the pending amount is recorded and the claim cleared; a new refund then goes through', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    loseNextAnswer(made);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const lost = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'R-14' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const blocked = await refundPayment(deps, { oid: made.oid, amount: 2_000, requestId: 'R-15' });
    await releaseWebhooks(harness);
    const afterWebhook = await stack.billing.store.getPayment(made.oid);
    await stack.clock.set(stack.clock.now() + MINUTE);
    const next = await refundPayment(deps, { oid: made.oid, amount: 2_000, requestId: 'R-16' });

    expect(lost).toMatchObject({ kind: 'outcome_unknown' });
    expect(blocked).toMatchObject({ kind: 'refused', reason: 'refund_in_progress' });
    const [reported] = ledgerRefunds(made);
    expect(afterWebhook).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 4_000,
      refunds: [reported],
    });
    expect(afterWebhook?.pendingRefund).toBeUndefined();
    expect(next).toMatchObject({ kind: 'refunded', amount: 2_000, refundedTotal: 6_000, recorded: 'now' });
    expect(gateway.inputs.map((input) => input.amount)).toEqual([4_000, 2_000]);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([4_000, 2_000]);
    expect(refundEvents(made)).toHaveLength(2);
  });

  test('a refund of another amount is recorded and leaves the claim', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    failNextBeforeRefunding(made);
    const lost = await refundPayment(refundDeps(harness), {
      oid: made.oid,
      amount: 5_000,
      requestId: 'R-17',
    });
    // Meanwhile someone refunds 2,000 in Payple's admin; its webhook arrives.
    harness.stack.sandbox.admin.setWebhookUrl(harness.url);
    await stack.clock.set(stack.clock.now() + MINUTE);
    await refundAtPayple(harness, made, 2_000);
    await releaseWebhooks(harness);

    const claim = { amount: 5_000, requestedAt: stack.clock.now() - MINUTE, requestId: 'R-17' };
    expect(lost).toMatchObject({ kind: 'outcome_unknown', pendingRefund: claim });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 2_000,
      refunds: ledgerRefunds(made),
      pendingRefund: claim,
    });
    expect(
      await refundPayment(refundDeps(harness), { oid: made.oid, amount: 1_000, requestId: 'R-18' }),
    ).toMatchObject({
      kind: 'refused',
      reason: 'refund_in_progress',
    });
  });

  test('a refund of the pending amount that Payple made before the claim is recorded and leaves the claim', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    // Refunded in Payple's admin; its webhook is late.
    await refundAtPayple(harness, made, 3_000);
    await stack.clock.set(stack.clock.now() + 10 * MINUTE);
    failNextBeforeRefunding(made);
    const lost = await refundPayment(refundDeps(harness), {
      oid: made.oid,
      amount: 3_000,
      requestId: 'R-19',
    });
    await releaseWebhooks(harness);

    const claim = { amount: 3_000, requestedAt: stack.clock.now(), requestId: 'R-19' };
    expect(lost).toMatchObject({ kind: 'outcome_unknown', pendingRefund: claim });
    expect(await stack.billing.store.getPayment(made.oid)).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 3_000,
      refunds: ledgerRefunds(made),
      pendingRefund: claim,
    });
  });

  test('a copy of a refund recorded before the claim changes nothing and leaves the claim', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const first = await refundPayment(refundDeps(harness), {
      oid: made.oid,
      amount: 3_000,
      requestId: 'R-20',
    });
    await stack.clock.set(stack.clock.now() + MINUTE);
    failNextBeforeRefunding(made);
    await refundPayment(refundDeps(harness), { oid: made.oid, amount: 3_000, requestId: 'R-21' });
    const before = await snapshot(harness);

    const copy = await postWebhook(harness, cancelBody(made, 3_000, stack.clock.now() - MINUTE));

    expect(first).toMatchObject({ kind: 'refunded', amount: 3_000 });
    expect(copy).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    expect(await snapshot(harness)).toEqual(before);
    expect(await pendingOf(made)).toEqual({
      amount: 3_000,
      requestedAt: stack.clock.now(),
      requestId: 'R-21',
    });
  });
});

describe('an operator resolves a pending refund after checking Payple', () => {
  test("refunded: recorded at Payple's refund time with the claim cleared; Payple's webhook is then a duplicate", async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    loseNextAnswer(made);
    const deps = refundDeps(harness);
    const lost = await refundPayment(deps, { oid: made.oid, amount: 6_000, requestId: 'R-22' });
    const [atPayple] = ledgerRefunds(made);
    const claim: PendingRefund = { amount: 6_000, requestedAt: stack.clock.now(), requestId: 'R-22' };

    const tooSoon = await resolvePendingRefund(deps, {
      oid: made.oid,
      refunded: true,
      refundedAt: atPayple!.refundedAt,
    });
    await afterSettle();
    const resolved = await resolvePendingRefund(deps, {
      oid: made.oid,
      refunded: true,
      refundedAt: atPayple!.refundedAt,
    });
    const twice = await resolvePendingRefund(deps, {
      oid: made.oid,
      refunded: true,
      refundedAt: atPayple!.refundedAt,
    });

    expect(lost).toMatchObject({ kind: 'outcome_unknown', pendingRefund: claim });
    expect(tooSoon).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'claim_too_recent',
      state: 'paid',
      pendingRefund: claim,
    });
    expect(resolved).toEqual({
      kind: 'refund_recorded',
      oid: made.oid,
      subscriptionId: made.subscription.id,
      requestId: 'R-22',
      amount: 6_000,
      refundedAt: atPayple!.refundedAt,
      refundedTotal: 6_000,
      fullyRefunded: false,
      recorded: 'now',
    });
    expect(twice).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'no_pending_refund',
      state: 'partially_refunded',
    });
    const payment = await stack.billing.store.getPayment(made.oid);
    expect(payment).toMatchObject({
      state: 'partially_refunded',
      refundedTotal: 6_000,
      refunds: [{ ...atPayple, requestId: 'R-22' }],
      version: made.payment.version + 2,
    });
    expect(payment?.pendingRefund).toBeUndefined();
    expect(refundEvents(made)).toMatchObject([{ refundedAmount: 6_000, refundedTotal: 6_000 }]);

    const before = await snapshot(harness);
    await releaseWebhooks(harness);
    expect(
      harness.stack.sandbox.admin.webhooks().filter((d) => d.oid === made.oid && d.operation === 'cancel'),
    ).toMatchObject([{ httpStatus: 200 }]);
    // The request whose answer was lost, made again: answered from the refund the operator recorded.
    const retried = await refundPayment(deps, { oid: made.oid, amount: 6_000, requestId: 'R-22' });
    expect(retried).toMatchObject({
      kind: 'already_done',
      requestId: 'R-22',
      amount: 6_000,
      refundedAt: atPayple!.refundedAt,
    });
    expect(await snapshot(harness)).toEqual(before);

    const rest = await refundPayment(deps, { oid: made.oid, requestId: 'R-23' });
    expect(rest).toMatchObject({
      kind: 'refunded',
      amount: 3_900,
      refundedTotal: 9_900,
      fullyRefunded: true,
    });
  });

  test('not refunded: the claim is cleared and nothing else changes; a new refund then goes through', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    failNextBeforeRefunding(made);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });
    const before = await snapshot(harness);
    const lost = await refundPayment(deps, { oid: made.oid, amount: 5_000, requestId: 'R-24' });
    const requestedAt = stack.clock.now();

    await afterSettle();
    const resolved = await resolvePendingRefund(deps, { oid: made.oid, refunded: false });
    const afterResolve = await snapshot(harness);
    // Not refunded: the same request may be made again.
    const again = await refundPayment(deps, { oid: made.oid, amount: 5_000, requestId: 'R-24' });

    expect(lost).toMatchObject({ kind: 'outcome_unknown' });
    expect(resolved).toEqual({
      kind: 'claim_cleared',
      oid: made.oid,
      subscriptionId: made.subscription.id,
      requestId: 'R-24',
      amount: 5_000,
      requestedAt,
    });
    expect(afterResolve).toEqual({
      ...before,
      payments: before.payments.map((item) =>
        item.oid === made.oid ? { ...item, version: made.payment.version + 2 } : item,
      ),
    });
    expect(again).toMatchObject({ kind: 'refunded', amount: 5_000, refundedTotal: 5_000 });
    expect(gateway.inputs.map((input) => input.amount)).toEqual([5_000, 5_000]);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([5_000]);
  });

  test('refused, changing nothing: no pending refund, no payment, a refund time that is not Payple’s for this claim', async () => {
    const { stack } = harness;
    const paid = await paidPayment(harness);
    const made = await paidPayment(harness);
    failNextBeforeRefunding(made);
    const deps = refundDeps(harness);
    await refundPayment(deps, { oid: made.oid, amount: 5_000, requestId: 'R-26' });
    const claim = { amount: 5_000, requestedAt: stack.clock.now(), requestId: 'R-26' };
    await afterSettle();
    const now = stack.clock.now();
    const before = await snapshot(harness);

    const results = [
      await resolvePendingRefund(deps, { oid: paid.oid, refunded: false }),
      await resolvePendingRefund(deps, { oid: 'nosuch-20270301-1', refunded: false }),
      await resolvePendingRefund(deps, { oid: made.oid, refunded: true }),
      await resolvePendingRefund(deps, { oid: made.oid, refunded: false, refundedAt: formatKstInstant(now) }),
      await resolvePendingRefund(deps, { oid: made.oid, refunded: true, refundedAt: '2027-03-01 09:10:00' }),
      await resolvePendingRefund(deps, {
        oid: made.oid,
        refunded: true,
        refundedAt: '2027-02-30T09:10:00+09:00',
      }),
      await resolvePendingRefund(deps, { oid: made.oid, refunded: true, refundedAt: '2027-03-01T00:10:00Z' }),
      await resolvePendingRefund(deps, {
        oid: made.oid,
        refunded: true,
        refundedAt: formatKstInstant(now + 10 * MINUTE),
      }),
      await resolvePendingRefund(deps, {
        oid: made.oid,
        refunded: true,
        refundedAt: formatKstInstant(claim.requestedAt - 10 * MINUTE),
      }),
    ];

    expect(results).toEqual([
      { kind: 'refused', oid: paid.oid, reason: 'no_pending_refund', state: 'paid' },
      { kind: 'refused', oid: 'nosuch-20270301-1', reason: 'not_found' },
      ...Array.from({ length: 6 }, () => ({ kind: 'refused', oid: made.oid, reason: 'invalid_refunded_at' })),
      {
        kind: 'refused',
        oid: made.oid,
        reason: 'refunded_before_claim',
        state: 'paid',
        pendingRefund: claim,
      },
    ]);
    expect(await snapshot(harness)).toEqual(before);
  });
});

describe('a request id: a request made again never refunds twice', () => {
  const paymentOf = (made: TestPayment) => harness.stack.billing.store.getPayment(made.oid);

  test('a retry after a completed partial refund (its answer lost) sends nothing and answers the first result', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const first = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1001' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const before = await snapshot(harness);
    const retried = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1001' });
    // Without its amount (as "everything left") it is still the same request.
    const retriedWithoutAmount = await refundPayment(deps, { oid: made.oid, requestId: 'CS-1001' });

    const [atPayple] = ledgerRefunds(made);
    expect(first).toMatchObject({ kind: 'refunded', amount: 3_000, refundedAt: atPayple?.refundedAt });
    const answer = {
      kind: 'already_done',
      oid: made.oid,
      subscriptionId: made.subscription.id,
      requestId: 'CS-1001',
      amount: 3_000,
      refundedAt: atPayple?.refundedAt,
      refundedTotal: 3_000,
      fullyRefunded: false,
    };
    expect(retried).toEqual(answer);
    expect(retriedWithoutAmount).toEqual(answer);
    expect(gateway.inputs).toHaveLength(1);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([3_000]);
    expect(await snapshot(harness)).toEqual(before);
    expect((await paymentOf(made))?.refunds).toEqual([{ ...atPayple, requestId: 'CS-1001' }]);
    expect(refundEvents(made)).toHaveLength(1);
  });

  test('the same request id with another amount is refused request_id_reused; nothing is sent', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1002' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const before = await snapshot(harness);
    const reused = await refundPayment(deps, { oid: made.oid, amount: 2_000, requestId: 'CS-1002' });

    const [atPayple] = ledgerRefunds(made);
    expect(reused).toEqual({
      kind: 'refused',
      oid: made.oid,
      reason: 'request_id_reused',
      state: 'partially_refunded',
      refund: { ...atPayple, requestId: 'CS-1002' },
    });
    expect(gateway.inputs.map((input) => input.amount)).toEqual([3_000]);
    expect(await snapshot(harness)).toEqual(before);
  });

  test('another request id for the same amount is a second partial refund; each is answered from its own', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const first = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1003' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const second = await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1004' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const retries = [
      await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1003' }),
      await refundPayment(deps, { oid: made.oid, amount: 3_000, requestId: 'CS-1004' }),
    ];

    const [firstAtPayple, secondAtPayple] = ledgerRefunds(made);
    expect(first).toMatchObject({
      kind: 'refunded',
      refundedTotal: 3_000,
      refundedAt: firstAtPayple?.refundedAt,
    });
    expect(second).toMatchObject({
      kind: 'refunded',
      refundedTotal: 6_000,
      refundedAt: secondAtPayple?.refundedAt,
    });
    expect(retries).toMatchObject([
      {
        kind: 'already_done',
        requestId: 'CS-1003',
        refundedAt: firstAtPayple?.refundedAt,
        refundedTotal: 6_000,
      },
      {
        kind: 'already_done',
        requestId: 'CS-1004',
        refundedAt: secondAtPayple?.refundedAt,
        refundedTotal: 6_000,
      },
    ]);
    expect(firstAtPayple?.refundedAt).not.toEqual(secondAtPayple?.refundedAt);
    expect(gateway.inputs.map((input) => input.amount)).toEqual([3_000, 3_000]);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([3_000, 3_000]);
    expect(await paymentOf(made)).toMatchObject({
      refundedTotal: 6_000,
      refunds: [
        { ...firstAtPayple, requestId: 'CS-1003' },
        { ...secondAtPayple, requestId: 'CS-1004' },
      ],
    });
  });

  test('a request still claimed is refused refund_in_progress; after the webhook resolves it, it is answered from the refund', async () => {
    const { stack } = harness;
    const made = await paidPayment(harness);
    holdCancelWebhooks(made);
    loseNextAnswer(made);
    const gateway = new RecordingRefundGateway(harness.payple);
    const deps = refundDeps(harness, { payple: gateway });

    const lost = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'CS-1005' });
    await stack.clock.set(stack.clock.now() + MINUTE);
    const whileClaimed = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'CS-1005' });
    await releaseWebhooks(harness);
    const afterWebhook = await refundPayment(deps, { oid: made.oid, amount: 4_000, requestId: 'CS-1005' });

    const [atPayple] = ledgerRefunds(made);
    expect(lost).toMatchObject({ kind: 'outcome_unknown' });
    expect(whileClaimed).toMatchObject({
      kind: 'refused',
      reason: 'refund_in_progress',
      pendingRefund: { amount: 4_000, requestId: 'CS-1005' },
    });
    // The webhook took the refund for the claim and kept the claim's request id on it.
    expect((await paymentOf(made))?.refunds).toEqual([{ ...atPayple, requestId: 'CS-1005' }]);
    expect(afterWebhook).toMatchObject({
      kind: 'already_done',
      amount: 4_000,
      refundedAt: atPayple?.refundedAt,
    });
    expect(gateway.inputs).toHaveLength(1);
    expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([4_000]);
  });

  test.each([
    ['takes the refund for the claim', 0],
    // Our clock 10 minutes ahead of Payple's: the webhook cannot tell the refund is the claimed one.
    ['cannot tell the refund is the claimed one', 10 * MINUTE],
  ])(
    'the webhook records the refund first and %s: the request id ends up on it, a retry sends nothing',
    async (_what, ahead) => {
      const { stack } = harness;
      const made = await paidPayment(harness);
      holdCancelWebhooks(made);
      let between: Awaited<ReturnType<typeof paymentOf>>;
      // The webhook lands between Payple's answer and our commit (the second: the first is the claim).
      const store = new InterruptedStore(stack.billing.store, {
        interruptAt: 2,
        beforeCommit: async () => {
          await releaseWebhooks(harness);
          between = await paymentOf(made);
        },
      });
      const gateway = new RecordingRefundGateway(harness.payple);
      const now = () => stack.clock.now() + ahead;
      const deps = refundDeps(harness, { store, payple: gateway, now });

      const result = await refundPayment(deps, { oid: made.oid, amount: 2_000, requestId: 'CS-1006' });
      const retried = await refundPayment(deps, { oid: made.oid, amount: 2_000, requestId: 'CS-1006' });

      const [atPayple] = ledgerRefunds(made);
      expect(store.commits.slice(0, 2)).toEqual([
        { committed: true },
        { committed: false, reason: 'conflict' },
      ]);
      if (ahead === 0) {
        expect(between?.refunds).toEqual([{ ...atPayple, requestId: 'CS-1006' }]);
        expect(between?.pendingRefund).toBeUndefined();
      } else {
        // Recorded without the request id, the claim left: our record clears it and adds the id.
        expect(between?.refunds).toEqual([atPayple]);
        expect(between?.pendingRefund).toMatchObject({ amount: 2_000, requestId: 'CS-1006' });
      }
      expect(result).toMatchObject({
        kind: 'refunded',
        recorded: 'already',
        amount: 2_000,
        refundedTotal: 2_000,
      });
      expect(retried).toMatchObject({
        kind: 'already_done',
        requestId: 'CS-1006',
        refundedAt: atPayple?.refundedAt,
      });
      const payment = await paymentOf(made);
      expect(payment?.refunds).toEqual([{ ...atPayple, requestId: 'CS-1006' }]);
      expect(payment?.pendingRefund).toBeUndefined();
      expect(gateway.inputs).toHaveLength(1);
      expect(ledgerRefunds(made).map((refund) => refund.amount)).toEqual([2_000]);
      expect(refundEvents(made)).toHaveLength(1);
    },
  );

  test.each([
    ['empty', ''],
    ['too long', 'x'.repeat(65)],
    ['with a space', 'CS 1007'],
    ['missing (a caller without types)', undefined],
  ])('a request id %s: refused before anything is read or sent', async (_what, requestId) => {
    const made = await paidPayment(harness);
    const gateway = new RecordingRefundGateway(harness.payple);
    const before = await snapshot(harness);

    const result = await refundPayment(refundDeps(harness, { payple: gateway }), {
      oid: made.oid,
      requestId: requestId as string,
    });

    expect(result).toEqual({ kind: 'refused', oid: made.oid, reason: 'invalid_request_id' });
    expect(gateway.inputs).toEqual([]);
    expect(await snapshot(harness)).toEqual(before);
  });
});
