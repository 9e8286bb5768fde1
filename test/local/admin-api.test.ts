/**
 * The local admin API under `/__local` on the stack `npm start` runs: the state it shows (and what it
 * never shows), time travel with its refusals, faults forwarded to the sandbox, the card switch, the
 * checks that keep other web pages out, a retried charge job during a trip, and PAYPLE_ENV=demo.
 */
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultPartner } from '../../local/payple-sandbox/index.ts';
import { paypleConnection, parsePaypleMode, startLocalStack, type LocalStack } from '../../local/stack.ts';
import type { TravelReport } from '../../local/console/time-travel.ts';
import { seedSubscription } from '../support/local-stack.ts';
import { consoleState, startConsoleStack } from './support.ts';

const START = '2027-03-10T14:00:00+09:00';

/** `YYYY-MM-DD HH:mm` in KST. */
const kstMinute = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

async function call(
  stack: LocalStack,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${stack.gatewayUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('the local admin API', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startConsoleStack(START);
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('serves the console page with a strict CSP, its assets and its route list', async () => {
    const page = await fetch(stack.consoleUrl);
    const script = await fetch(`${stack.gatewayUrl}/__local/assets/console.js`);
    const routes = await call(stack, 'GET', '/__local/api');

    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<h1>Local console</h1>');
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(routes.json['routes']).toEqual(
      expect.arrayContaining([expect.stringContaining('POST   /__local/clock')]),
    );
  });

  it('moves the clock by a day, a month and to a KST date-time, and refuses to move it back', async () => {
    const day = (await call(stack, 'POST', '/__local/clock', { days: 1 })).json as unknown as TravelReport;
    const month = (await call(stack, 'POST', '/__local/clock', { months: 1 }))
      .json as unknown as TravelReport;
    const to = (await call(stack, 'POST', '/__local/clock', { to: '2027-04-20T09:30' }))
      .json as unknown as TravelReport;
    const back = await call(stack, 'POST', '/__local/clock', { to: '2027-04-01' });

    expect(kstMinute(day.to).slice(0, 10)).toBe('2027-03-11');
    expect(kstMinute(month.to).slice(0, 10)).toBe('2027-04-11');
    expect(month.runs).toBeGreaterThan(4 * 24 * 30);
    expect(month.failures).toEqual([]);
    expect(kstMinute(to.to)).toBe('2027-04-20 09:30');
    expect(back.status).toBe(400);
    expect(back.json['error']).toContain('only moves forward');
    expect(kstMinute(stack.clock.now())).toBe('2027-04-20 09:30');
    const state = await consoleState(stack.gatewayUrl);
    expect(state.clock.schedules.map((schedule) => schedule.name)).toEqual(['dispatcher', 'reconciler']);
    expect(state.clock.aheadMs).toBeGreaterThan(0);
  });

  it('refuses bodies it cannot read, non-JSON posts and other origins, and does not move', async () => {
    const before = kstMinute(stack.clock.now());

    const bad = await Promise.all([
      call(stack, 'POST', '/__local/clock', { days: 0 }),
      call(stack, 'POST', '/__local/clock', { months: 1, days: 1 }),
      call(stack, 'POST', '/__local/clock', { months: 25 }),
      call(stack, 'POST', '/__local/clock', { to: 'next tuesday' }),
      call(stack, 'POST', '/__local/clock', '{"days":', {}),
    ]);
    const form = await call(stack, 'POST', '/__local/clock', 'days=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    const foreign = await call(
      stack,
      'POST',
      '/__local/clock',
      { days: 1 },
      { origin: 'https://evil.example' },
    );

    expect(bad.map((reply) => reply.status)).toEqual([400, 400, 400, 400, 400]);
    expect(form.status).toBe(415);
    expect(foreign.status).toBe(403);
    expect(kstMinute(stack.clock.now())).toBe(before);
  });

  it('forwards faults to the sandbox and removes them', async () => {
    const added = await call(stack, 'POST', '/__local/faults', {
      kind: 'answerLost',
      operation: 'charge',
      times: 1,
    });
    const invalid = await call(stack, 'POST', '/__local/faults', { kind: 'meteorStrike' });
    const listed = await call(stack, 'GET', '/__local/faults');
    const removed = await call(stack, 'DELETE', `/__local/faults/${String(added.json['id'])}`);
    const again = await call(stack, 'DELETE', `/__local/faults/${String(added.json['id'])}`);

    expect(added).toMatchObject({
      status: 201,
      json: { kind: 'answerLost', operation: 'charge', remaining: 1 },
    });
    expect(invalid.status).toBe(400);
    expect(listed.json).toEqual([expect.objectContaining({ id: added.json['id'] })]);
    expect(removed.status).toBe(200);
    expect(again.status).toBe(404);
    expect(stack.sandbox.admin.faults()).toEqual([]);
  });

  it('switches the card behind a subscription’s billing key, and never shows the key, phone or e-mail', async () => {
    const sub = await seedSubscription(stack, {
      customer: { phone: '01055556666', email: 'kim@example.com' },
    });

    const switched = await call(stack, 'POST', `/__local/subscriptions/${sub.id}/card`, { card: 'expired' });
    const unknown = await call(stack, 'POST', '/__local/subscriptions/sub0nothere/card', { card: 'expired' });
    const badCard = await call(stack, 'POST', `/__local/subscriptions/${sub.id}/card`, { card: 'nope' });
    const account = await call(stack, 'POST', `/__local/subscriptions/${sub.id}/card`, { account: 'closed' });
    const stateText = await (await fetch(`${stack.gatewayUrl}/__local/state`)).text();

    expect(switched).toMatchObject({
      status: 200,
      json: { subscriptionId: sub.id, testName: 'expired', maskedNumber: '9410-****-****-3100' },
    });
    expect(JSON.stringify(switched.json)).not.toContain(sub.paymentMethod.billingKeyRef);
    expect([unknown.status, badCard.status, account.status]).toEqual([404, 400, 400]);
    const state = JSON.parse(stateText) as Awaited<ReturnType<typeof consoleState>>;
    expect(state.subscriptions.find((s) => s.id === sub.id)?.paymentMethod).toMatchObject({
      testName: 'expired',
      maskedNumber: '9410-****-****-3100',
    });
    expect(stateText).not.toContain(sub.paymentMethod.billingKeyRef);
    expect(stateText).not.toContain('01055556666');
    expect(stateText).not.toContain('kim@example.com');
  });

  it('runs operations commands as the deployed operations function would, and refuses invalid ones', async () => {
    const oid = `sub${randomUUID().replaceAll('-', '')}-20270310-1`;
    await stack.billing.unrecordedPayments.record({ oid, reportedAt: stack.clock.now() });

    const dismissed = await call(stack, 'POST', '/__local/operations', {
      command: 'dismiss_unrecorded_payment',
      oid,
      requestedBy: 'newcomer',
    });
    const invalid = await call(stack, 'POST', '/__local/operations', { command: 'release_hold' });

    expect(dismissed).toEqual({
      status: 200,
      json: { ok: true, command: 'dismiss_unrecorded_payment', result: { kind: 'dismissed', oid } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ ok: false, error: 'invalid_command' });
    expect(await stack.billing.unrecordedPayments.list()).toEqual([]);
  });

  it('a charge job the charger failed is retried during a trip, not left waiting for real minutes, and reaches the DLQ', async () => {
    const count = async (url: string) => {
      const { Attributes } = await stack.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        visible: Number(Attributes?.ApproximateNumberOfMessages),
        invisible: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
      };
    };
    // A message no charger can read fails on every receive; the running poller takes it at once and
    // it then waits out the queue's visibility timeout (6 minutes) on the real clock.
    await stack.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queues.billing.url, MessageBody: '{"not":"a job"}' }),
    );
    await expect
      .poll(() => count(stack.queues.billing.url), { timeout: 15_000 })
      .toEqual({ visible: 0, invisible: 1 });

    const trip = (await call(stack, 'POST', '/__local/clock', { days: 1 })).json as unknown as TravelReport;

    expect(trip.failures).toEqual([]);
    expect(await count(stack.queues.billing.url)).toEqual({ visible: 0, invisible: 0 });
    // Received maxReceiveCount (5) times during the trip, then moved by the queue's redrive policy.
    expect(await count(stack.queues.billingDeadLetter.url)).toEqual({ visible: 1, invisible: 0 });
  });
});

describe('PAYPLE_ENV', () => {
  it('chooses the sandbox unless told "demo", and refuses anything else', () => {
    expect(parsePaypleMode(undefined)).toBe('sandbox');
    expect(parsePaypleMode('')).toBe('sandbox');
    expect(parsePaypleMode('sandbox')).toBe('sandbox');
    expect(parsePaypleMode('demo')).toBe('demo');
    expect(() => parsePaypleMode('live')).toThrow(/sandbox.*demo/);
    expect(() => parsePaypleMode('DEMO')).toThrow(RangeError);
  });

  it('demo: Payple’s test host, with the gateway’s origin as Referer and Payple’s shared test partner', () => {
    expect(paypleConnection('demo', 'http://127.0.0.1:7878', 'http://127.0.0.1:3000')).toEqual({
      mode: 'demo',
      host: 'https://democpay.payple.kr',
      referer: 'http://127.0.0.1:3000',
    });
    expect(paypleConnection('sandbox', 'http://127.0.0.1:7878', 'http://127.0.0.1:3000')).toEqual({
      mode: 'sandbox',
      host: 'http://127.0.0.1:7878',
      referer: 'http://localhost',
    });
    // PAYPLE.md: the test host's shared partner.
    expect(defaultPartner).toMatchObject({ cstId: 'test', custKey: 'abcd1234567890' });
  });

  it('a demo stack serves the subscribe page with Payple’s own window script; sandbox-only controls answer 409', async () => {
    const stack = await startLocalStack({
      emulators: { dynamoEndpoint: inject('dynamoEndpoint'), sqsEndpoint: inject('sqsEndpoint') },
      resourcePrefix: `t${randomUUID().slice(0, 8)}`,
      clockMode: 'frozen',
      startAt: Date.parse(START),
      logLevel: 'SILENT',
      payple: 'demo',
    });
    try {
      const page = await (await fetch(`${stack.gatewayUrl}/subscribe`)).text();
      const fault = await call(stack, 'POST', '/__local/faults', { kind: 'webhookDrop' });
      const state = await consoleState(stack.gatewayUrl);

      expect(stack.payple).toEqual({ mode: 'demo', host: 'https://democpay.payple.kr' });
      expect(page).toContain('<script src="https://democpay.payple.kr/js/cpay.payple.1.0.1.js">');
      expect(fault.status).toBe(409);
      expect(state).toMatchObject({ payple: { mode: 'demo' }, ledger: [], faults: [] });
      expect(stack.sandbox.admin.webhookUrl).toBeUndefined();
    } finally {
      await stack.stop();
    }
  });
});
