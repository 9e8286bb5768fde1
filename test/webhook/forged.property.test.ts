/**
 * Property: a forged, mutated or replayed webhook never creates, changes or pays anything. Bodies
 * start from real-looking results for our own payments (paid, declined, unknown) and carry at least
 * one change an attacker without our records could not get right, plus any amount of harmless
 * noise; or they are random fields, or random bytes under random content types. The only change
 * allowed is the one the design asks for: an unsettled payment's lookup brought forward.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  cancelBody,
  chargeNow,
  declineBody,
  keyTerminatedBody,
  paidPayment,
  postWebhook,
  snapshot,
  startWebhookHarness,
  successBody,
  unknownPayment,
  type Reply,
  type TestPayment,
  type WebhookHarness,
} from './support.ts';

let harness: WebhookHarness;
let targets: Record<'unknown' | 'paid' | 'declined', TestPayment>;
let initial: Awaited<ReturnType<typeof snapshot>>;

beforeAll(async () => {
  harness = await startWebhookHarness();
  targets = {
    unknown: await unknownPayment(harness),
    paid: await paidPayment(harness),
    declined: await chargeNow(harness, { card: 'insufficientFunds' }),
  };
  initial = await snapshot(harness);
});
afterAll(async () => {
  await harness.stop();
});

type Body = Record<string, unknown>;
type Mutation = (body: Body, target: TestPayment) => Body;

const set =
  (field: string, value: unknown): Mutation =>
  (body) => ({ ...body, [field]: value });
const drop =
  (field: string): Mutation =>
  (body) =>
    Object.fromEntries(Object.entries(body).filter(([name]) => name !== field));

const forgedKey = fc.string({ minLength: 1, maxLength: 80 }).map((s) => `forged-${s}`);
const forgedOid = fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/).filter((oid) => !oid.startsWith('sub'));
const otherAmount = (target: TestPayment) =>
  fc.oneof(
    fc
      .integer({ min: 0, max: 2_000_000_000 })
      .filter((n) => n !== target.payment.amount)
      .map(String),
    fc.constantFrom('9,900', '1.5', '-1', 'abc', '1e4', ' 9900x'),
  );
const otherPartner = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => s.trim() !== 'test'),
  fc.constantFrom('TEST', 'test2', ' test1'),
);
const otherResult = fc.constantFrom('error', 'close', 'maybe', '', 'SUCCESS');

/** Changes to a payment result that no one without our records (or Payple) gets right. */
const breakPaymentResult = (target: TestPayment): fc.Arbitrary<Mutation> =>
  fc.oneof(
    forgedOid.map((oid) => set('PCD_PAY_OID', oid)),
    forgedKey.map((key) => set('PCD_PAYER_ID', key)),
    otherAmount(target).map((amount) => set('PCD_PAY_TOTAL', amount)),
    fc.constantFrom('transfer', 'bank', '').map((type) => set('PCD_PAY_TYPE', type)),
    otherPartner.map((cst) => set('PCD_CST_ID', cst)),
    otherResult.map((rst) => set('PCD_PAY_RST', rst)),
    fc.constantFrom('SPCD0099', 'SPCD1001', 'SPCD0014', 'X').map((code) => set('PCD_PAY_CODE', code)),
    fc
      .constantFrom(
        'PCD_CST_ID',
        'PCD_PAY_OID',
        'PCD_PAY_RST',
        'PCD_PAYER_ID',
        'PCD_PAY_TOTAL',
        'PCD_PAY_TYPE',
      )
      .map(drop),
  );

/** Changes to a cancellation that make it not a refund of that payment. */
const breakCancellation = (target: TestPayment): fc.Arbitrary<Mutation> =>
  fc.oneof(
    forgedOid.map((oid) => set('PCD_PAY_OID', oid)),
    forgedKey.map((key) => set('PCD_PAYER_ID', key)),
    otherAmount(target).map((amount) => set('PCD_PAY_TOTAL', amount)),
    fc
      .integer({ min: target.payment.amount + 1, max: 10_000_000 })
      .map((n) => set('PCD_REFUND_TOTAL', String(n))),
    fc.constant(set('PCD_PAY_TYPE', 'transfer')),
    otherPartner.map((cst) => set('PCD_CST_ID', cst)),
    otherResult.map((rst) => set('PCD_PAY_RST', rst)),
    fc
      .constantFrom('PCD_CST_ID', 'PCD_PAY_OID', 'PCD_PAYER_ID', 'PCD_REFUND_TOTAL', 'PCD_REFUND_TIME')
      .map(drop),
  );

/** Changes that carry no authority: messages, extra fields, times, masked card fields. */
const noise: fc.Arbitrary<Mutation> = fc.oneof(
  fc.string({ maxLength: 60 }).map((msg) => set('PCD_PAY_MSG', msg)),
  fc.string({ maxLength: 30 }).map((name) => set('PCD_PAY_CARDNAME', name)),
  fc
    .date({
      min: new Date('2020-01-01T00:00:00Z'),
      max: new Date('2030-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((date) => set('PCD_PAY_TIME', date.toISOString().slice(0, 19).replaceAll(/[-T:]/g, ''))),
  fc
    .tuple(
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((name) => !name.startsWith('PCD_') && name !== '__proto__'),
      fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(null)),
    )
    .map(([name, value]) => set(name, value)),
);

type TargetName = keyof typeof targets;
// Weighted towards the unsettled payment and successes: where a missing check would pay something.
const targetName = fc.oneof(
  { arbitrary: fc.constant<TargetName>('unknown'), weight: 3 },
  { arbitrary: fc.constant<TargetName>('paid'), weight: 2 },
  { arbitrary: fc.constant<TargetName>('declined'), weight: 1 },
);

/** A body built from a real-looking one for one of our payments, with at least one breaking change. */
const forgedBody: fc.Arbitrary<{ target: TargetName; body: Body; kind: string }> = targetName.chain(
  (name) => {
    const kind = fc.oneof(
      { arbitrary: fc.constant('success'), weight: 4 },
      { arbitrary: fc.constant('decline'), weight: 1 },
      { arbitrary: fc.constant('cancel'), weight: 3 },
      { arbitrary: fc.constant('key_terminated'), weight: 1 },
    );
    return kind.chain((chosen) => {
      const target = () => targets[name];
      const base = (): Body => {
        const now = harness.stack.clock.now();
        switch (chosen) {
          case 'success':
            return successBody(target(), now);
          case 'decline':
            return declineBody(target());
          case 'cancel':
            return cancelBody(target(), 1_000, now);
          default:
            return keyTerminatedBody('placeholder');
        }
      };
      const breaking: fc.Arbitrary<Mutation> =
        chosen === 'cancel'
          ? fc.constant(null).chain(() => breakCancellation(targets[name]))
          : chosen === 'key_terminated'
            ? forgedKey.map((key) => set('PCD_PAYER_ID', key))
            : fc.constant(null).chain(() => breakPaymentResult(targets[name]));
      return fc
        .tuple(
          fc.oneof(
            { arbitrary: fc.array(breaking, { minLength: 1, maxLength: 1 }), weight: 4 },
            { arbitrary: fc.array(breaking, { minLength: 2, maxLength: 3 }), weight: 1 },
          ),
          fc.array(noise, { maxLength: 4 }),
        )
        .map(([breaks, extras]) => ({
          target: name,
          kind: chosen,
          body: [...extras, ...breaks].reduce((body, mutate) => mutate(body, targets[name]), base()),
        }));
    });
  },
);

/** Fields Payple never sent in this combination. */
const randomFields: fc.Arbitrary<Body> = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'PCD_CST_ID',
      'PCD_PAY_RST',
      'PCD_PAY_OID',
      'PCD_PAYER_ID',
      'PCD_PAY_TOTAL',
      'PCD_PAY_WORK',
      'PCD_PAYCANCEL_FLAG',
      'PCD_REFUND_TOTAL',
    ),
    fc.string({ maxLength: 12 }),
  ),
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('test', 'success', 'Y', 'PUSERDEL', '9900'),
    fc.integer(),
    fc.constant(null),
    fc.object({ maxDepth: 1 }),
  ),
  { maxKeys: 10 },
);

const ALLOWED_STATUSES = [200, 202, 400, 403, 404, 409, 413, 415];
const NO_CHANGE_RESULTS = ['duplicate', 'acknowledged', 'processed'];

/** The stored payments with the one permitted change (an unsettled lookup brought forward) undone. */
function withoutLookupTimes(payments: Record<string, unknown>[]) {
  return payments.map((item) => {
    if (item.state !== 'unknown') return item;
    const reconcile = item.reconcile as { nextAt: number; lookups: number };
    return { ...item, version: undefined, reconcileAt: undefined, reconcile: { lookups: reconcile.lookups } };
  });
}

async function expectNothingChanged(answer: Reply) {
  expect(ALLOWED_STATUSES).toContain(answer.status);
  if (answer.status === 200) expect(NO_CHANGE_RESULTS).toContain(answer.json?.result);
  const now = await snapshot(harness);
  expect({ ...now, payments: withoutLookupTimes(now.payments) }).toEqual({
    ...initial,
    payments: withoutLookupTimes(initial.payments),
  });
  const unknown = now.payments.find((item) => item.oid === targets.unknown.oid) as {
    reconcile: { nextAt: number };
  };
  expect(unknown.reconcile.nextAt).toBeLessThanOrEqual(harness.stack.clock.now() + 5 * 60_000);
}

describe('forged and mutated webhooks never change money state', () => {
  test(
    'bodies shaped like ours with at least one field no forger gets right',
    { timeout: 180_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(forgedBody, async ({ body }) => {
          const answer = await postWebhook(harness, body);
          await expectNothingChanged(answer);
        }),
        { numRuns: 250 },
      );
    },
  );

  test('random fields, as JSON or as a form', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(randomFields, fc.boolean(), async (fields, asForm) => {
        const answer = asForm
          ? await postWebhook(
              harness,
              new URLSearchParams(
                Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]),
              ).toString(),
              { contentType: 'application/x-www-form-urlencoded' },
            )
          : await postWebhook(harness, fields);
        await expectNothingChanged(answer);
      }),
      { numRuns: 80 },
    );
  });

  test('random bytes under random content types', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.json()),
        fc.constantFrom(
          'application/json',
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/json; charset=euc-kr',
          null,
        ),
        async (raw, contentType) => {
          const answer = await postWebhook(harness, raw, { contentType });
          await expectNothingChanged(answer);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('replays of genuine results for settled payments change nothing', { timeout: 60_000 }, async () => {
    const now = harness.stack.clock.now();
    for (const body of [
      successBody(targets.paid, now),
      declineBody(targets.declined),
      successBody(targets.paid, now - 60_000),
    ]) {
      const answer = await postWebhook(harness, body);
      expect(answer).toMatchObject({ status: 200, json: { result: 'duplicate' } });
      await expectNothingChanged(answer);
    }
  });
});
