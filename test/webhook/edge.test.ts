import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { webhookUrl } from '../../local/edge-webhook.ts';
import {
  loggedText,
  paidPayment,
  postWebhook,
  snapshot,
  startWebhookHarness,
  successBody,
  unknownPayment,
  type TestPayment,
  type WebhookHarness,
} from './support.ts';

let harness: WebhookHarness;
let unknown: TestPayment;
let paid: TestPayment;
let before: Awaited<ReturnType<typeof snapshot>>;

beforeAll(async () => {
  harness = await startWebhookHarness();
  unknown = await unknownPayment(harness);
  paid = await paidPayment(harness);
});
afterAll(async () => {
  // Whatever the edge refused, no billing key, phone, e-mail or path secret reached a log line.
  const logged = loggedText(harness);
  for (const secret of [
    unknown.billingKey,
    paid.billingKey,
    '01012345678',
    'hong@example.com',
    harness.secret,
  ]) {
    expect(logged).not.toContain(secret);
  }
  await harness.stop();
});
beforeEach(async () => {
  before = await snapshot(harness);
});

/** A body that would settle the unknown payment if it got through. */
const valid = (overrides: Record<string, unknown> = {}) =>
  successBody(unknown, harness.stack.clock.now(), overrides);

async function expectNothingChanged() {
  expect(await snapshot(harness)).toEqual(before);
}

describe('the path secret', () => {
  test.each([
    ['a different secret of the same length', () => 'f'.repeat(64)],
    ['a prefix of the secret', () => harness.secret.slice(0, 10)],
    ['the secret with one more character', () => `${harness.secret}0`],
  ])('%s: 404 with a generic body, the body is not even read', async (_what, secret) => {
    const answer = await postWebhook(harness, valid(), { url: webhookUrl(harness.gateway.url, secret()) });

    expect(answer).toMatchObject({ status: 404, json: { result: 'not_found', message: 'Not Found' } });
    expect(answer.text).not.toContain(harness.secret);
    await expectNothingChanged();
  });

  test('a wrong secret with a malformed body still answers 404, not 400: nothing is read first', async () => {
    const answer = await postWebhook(harness, '{not json', { url: webhookUrl(harness.gateway.url, 'nope') });

    expect(answer.status).toBe(404);
  });

  test("HEAD (Payple's probe) answers 200 with an empty body for the right secret, 404 for a wrong one", async () => {
    const right = await fetch(harness.url, { method: 'HEAD' });
    const wrong = await fetch(webhookUrl(harness.gateway.url, 'f'.repeat(64)), { method: 'HEAD' });

    expect(right.status).toBe(200);
    expect(await right.text()).toBe('');
    expect(wrong.status).toBe(404);
    await expectNothingChanged();
  });
});

describe('the body is validated at the edge', () => {
  test('another partner id: 403', async () => {
    const answer = await postWebhook(harness, valid({ PCD_CST_ID: 'someoneelse' }));

    expect(answer).toMatchObject({ status: 403, json: { result: 'forbidden' } });
    await expectNothingChanged();
  });

  test('malformed JSON: 400 with a clear message', async () => {
    const answer = await postWebhook(harness, '{"PCD_PAY_RST": "success",');

    expect(answer).toMatchObject({ status: 400, json: { result: 'bad_request' } });
    expect(answer.json?.message).toContain('not valid JSON');
    await expectNothingChanged();
  });

  test.each([
    ['an array', '[1, 2]'],
    ['a string', '"success"'],
    ['null', 'null'],
    ['an empty body', ''],
  ])('JSON that is %s: 400', async (_what, body) => {
    const answer = await postWebhook(harness, body);

    expect(answer.status).toBe(400);
    await expectNothingChanged();
  });

  test('a body over 16 KB: 413, JSON or form', async () => {
    const huge = valid({ PCD_PAY_GOODS: 'x'.repeat(17 * 1024) });

    const json = await postWebhook(harness, huge);
    const form = await postWebhook(harness, new URLSearchParams(huge as Record<string, string>).toString(), {
      contentType: 'application/x-www-form-urlencoded',
    });

    expect(json).toMatchObject({ status: 413, json: { result: 'payload_too_large' } });
    expect(form.status).toBe(413);
    await expectNothingChanged();
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['XML', 'application/xml'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['no content type', null],
  ])('%s: 415', async (_what, contentType) => {
    const answer = await postWebhook(harness, JSON.stringify(valid()), { contentType });

    expect(answer).toMatchObject({ status: 415, json: { result: 'unsupported_media_type' } });
    await expectNothingChanged();
  });

  test.each([
    'PCD_CST_ID',
    'PCD_PAY_OID',
    'PCD_PAY_RST',
    'PCD_PAYER_ID',
    'PCD_PAY_TOTAL',
    'PCD_PAY_TYPE',
    'PCD_PAY_TIME',
  ])('a success without %s: 400 naming the field', async (field) => {
    const body = Object.fromEntries(Object.entries(valid()).filter(([name]) => name !== field));

    const answer = await postWebhook(harness, body);

    expect(answer).toMatchObject({ status: 400, json: { result: 'bad_request' } });
    expect(answer.json?.message).toContain(field);
    await expectNothingChanged();
  });

  test.each(['9,900', 'abc', '1.5', '-9900', '1e4', '0x26AC', ' ', '99999999999999999999'])(
    'a non-numeric or not-whole amount %j: 400',
    async (amount) => {
      const answer = await postWebhook(harness, valid({ PCD_PAY_TOTAL: amount }));

      expect(answer.status).toBe(400);
      expect(answer.json?.message).toContain('PCD_PAY_TOTAL');
      await expectNothingChanged();
    },
  );

  test.each([
    ['a nested object', { PCD_PAY_TOTAL: { amount: 9900 } }],
    ['an array value', { PCD_EXTRA: [1, 2] }],
    ['an unknown result', { PCD_PAY_RST: 'maybe' }],
    ['an unknown pay type', { PCD_PAY_TYPE: 'bitcoin' }],
    ['an OID with other characters', { PCD_PAY_OID: "x'; DROP TABLE" }],
    ['a payment time that is not a time', { PCD_PAY_TIME: '20271340256199' }],
  ])('%s: 400', async (_what, overrides) => {
    const answer = await postWebhook(harness, valid(overrides));

    expect(answer.status).toBe(400);
    await expectNothingChanged();
  });

  test('a field sent twice in a form: 400', async () => {
    const form = new URLSearchParams(valid() as Record<string, string>);
    form.append('PCD_PAY_TOTAL', '100');

    const answer = await postWebhook(harness, form.toString(), {
      contentType: 'application/x-www-form-urlencoded',
    });

    expect(answer).toMatchObject({ status: 400 });
    expect(answer.json?.message).toContain('PCD_PAY_TOTAL');
    await expectNothingChanged();
  });

  test('an error message names fields, never echoes the billing key or the payer', async () => {
    const answer = await postWebhook(harness, valid({ PCD_PAY_TOTAL: 'abc', PCD_PAY_TIME: 'yesterday' }));

    expect(answer.status).toBe(400);
    for (const secret of [unknown.billingKey, '홍길동', '01012345678', 'abc', 'yesterday']) {
      expect(answer.text).not.toContain(secret);
    }
  });

  test('amounts may come as JSON integers too; empty strings mean "not sent"', async () => {
    const answer = await postWebhook(harness, {
      ...successBody(paid, harness.stack.clock.now()),
      PCD_PAY_TOTAL: paid.payment.amount,
      PCD_REFUND_TOTAL: '',
      PCD_PAYCANCEL_FLAG: '',
    });

    expect(answer).toMatchObject({ status: 200, json: { result: 'duplicate' } });
    await expectNothingChanged();
  });
});
