import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { seedSubscription } from '../support/local-stack.ts';
import { CUSTOMER, postCheckout, sessionOf, sessionsOf, startEdgeStack, type EdgeStack } from './support.ts';

const THANKS = 'https://shop.example.com/thanks';
const SORRY = 'https://shop.example.com/sorry';

describe('POST /checkout validates everything and records a session only for a valid request', () => {
  let edge: EdgeStack;
  beforeAll(async () => {
    edge = await startEdgeStack({
      startAt: '2027-03-10T14:00:00+09:00',
      allowedRedirectUrls: [THANKS, SORRY],
    });
  });
  afterAll(async () => {
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  test('a registration-only plan answers the AUTH window parameters and stores an open session', async () => {
    const reply = await postCheckout(edge, { planId: 'basic-monthly', payType: 'card', customer: CUSTOMER });

    expect(reply.status).toBe(201);
    const params = reply.body.params!;
    expect(params).toMatchObject({
      PCD_PAY_TYPE: 'card',
      PCD_PAY_WORK: 'AUTH',
      PCD_CARD_VER: '01',
      PCD_RST_URL: `${edge.url}/return/${reply.body.sessionId}`,
      PCD_PAYER_NAME: '홍길동',
      PCD_PAYER_HP: '01012345678',
      PCD_PAYER_EMAIL: 'hong@example.com',
    });
    expect(params['PCD_PAY_URL']!.startsWith(edge.stack.sandbox.url)).toBe(true);
    expect(params['PCD_AUTH_KEY']).toMatch(/\S{16,}/);
    // Payple: goods and total are not sent for AUTH; no OID either.
    expect(params).not.toHaveProperty('PCD_PAY_TOTAL');
    expect(params).not.toHaveProperty('PCD_PAY_OID');
    expect(reply.body.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({
      status: 'open',
      work: 'AUTH',
      payType: 'card',
      plan: { id: 'basic-monthly', amount: 9_900 },
      successUrl: `${edge.url}/subscribe/result?status=success`,
      failureUrl: `${edge.url}/subscribe/result?status=failure`,
    });
    expect(session.expiresAt - session.createdAt).toBe(30 * 60_000);
  });

  test('a pay-now plan hands the window the first payment’s OID and amount', async () => {
    const reply = await postCheckout(edge, {
      planId: 'pro-monthly',
      payType: 'card',
      customer: { name: 'Kim Min-su' },
      successUrl: THANKS,
      failureUrl: SORRY,
    });

    expect(reply.status).toBe(201);
    const params = reply.body.params!;
    expect(params).toMatchObject({
      PCD_PAY_WORK: 'PAY',
      PCD_PAY_TOTAL: '29000',
      PCD_PAY_GOODS: '프로 월간 구독',
    });
    expect(params['PCD_PAY_OID']).toMatch(/^sub[0-9a-f]{32}-20270310-1$/);
    const session = await sessionOf(edge, params);
    expect(session).toMatchObject({
      firstPaymentOid: params['PCD_PAY_OID'],
      successUrl: THANKS,
      failureUrl: SORRY,
    });
    expect(session.subscriptionId).toBe(params['PCD_PAY_OID']!.split('-')[0]);
  });

  const valid = { planId: 'basic-monthly', payType: 'card', customer: CUSTOMER };
  test.each([
    ['an unknown plan', { ...valid, planId: 'gold' }, 'planId'],
    ['no plan', { payType: 'card', customer: CUSTOMER }, 'planId'],
    ['an unknown pay type', { ...valid, payType: 'cash' }, 'payType'],
    [
      'a pay type the plan does not offer',
      { ...valid, planId: 'pro-monthly', payType: 'transfer' },
      'payType',
    ],
    ['no name', { ...valid, customer: { ...CUSTOMER, name: '  ' } }, 'customer.name'],
    [
      'markup in the name',
      { ...valid, customer: { ...CUSTOMER, name: '<script>x</script>' } },
      'customer.name',
    ],
    [
      'a phone that is not digits',
      { ...valid, customer: { ...CUSTOMER, phone: '010-CALL-ME' } },
      'customer.phone',
    ],
    ['a malformed e-mail', { ...valid, customer: { ...CUSTOMER, email: 'hong@' } }, 'customer.email'],
    ['no customer', { planId: 'basic-monthly', payType: 'card' }, 'customer'],
    [
      'a success URL not in the allow-list',
      { ...valid, successUrl: 'https://evil.example/phish' },
      'successUrl',
    ],
    [
      'a failure URL not in the allow-list',
      { ...valid, failureUrl: `${THANKS}?next=https://evil.example` },
      'failureUrl',
    ],
    ['an unknown field', { ...valid, amount: 1 }, 'amount'],
    [
      'a replacement for no subscription',
      { ...valid, replaceSubscriptionId: 'subdoesnotexist' },
      'replaceSubscriptionId',
    ],
  ])('%s is a 400 naming the field, and nothing is stored', async (_case, body, field) => {
    const before = await sessionsOf(edge);

    const reply = await postCheckout(edge, body);

    expect(reply.status).toBe(400);
    expect(Object.keys(reply.body.fieldErrors ?? {})).toContain(field);
    expect(await sessionsOf(edge)).toHaveLength(before.length);
  });

  test('a replacement for a subscription in good standing is refused', async () => {
    const healthy = await seedSubscription(edge.stack);
    const before = await sessionsOf(edge);

    const reply = await postCheckout(edge, { ...valid, replaceSubscriptionId: healthy.id });

    expect(reply.status).toBe(400);
    expect(reply.body.fieldErrors).toHaveProperty('replaceSubscriptionId');
    expect(await sessionsOf(edge)).toHaveLength(before.length);
  });

  test('a body that is not JSON is refused before anything is read', async () => {
    const before = await sessionsOf(edge);

    const form = await postCheckout(
      edge,
      'planId=basic-monthly&payType=card',
      'application/x-www-form-urlencoded',
    );
    const broken = await postCheckout(edge, '{"planId":', 'application/json');

    expect(form.status).toBe(415);
    expect(broken.status).toBe(400);
    expect(await sessionsOf(edge)).toHaveLength(before.length);
  });

  test('plans paid at sign-up are not sold where the session could reach the banks’ maintenance window', async () => {
    await edge.stack.clock.set(Date.parse('2027-03-10T23:10:00+09:00'));
    const before = await sessionsOf(edge);

    const payNow = await postCheckout(edge, { planId: 'pro-monthly', payType: 'card', customer: CUSTOMER });
    const registration = await postCheckout(edge, valid);

    expect(payNow.status).toBe(503);
    expect(payNow.body.error).toBe('closed_for_maintenance');
    expect(registration.status).toBe(201);
    expect(await sessionsOf(edge)).toHaveLength(before.length + 1);
  });
});
