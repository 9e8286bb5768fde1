import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { charge, startReceiver, startSandbox } from './helpers.ts';

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

async function admin(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${sandbox.url}/__sandbox${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

describe('admin HTTP API', () => {
  it('lists its routes', async () => {
    const { status, json } = await admin('GET', '');

    expect(status).toBe(200);
    expect((json as { routes: string[] }).routes.length).toBeGreaterThan(10);
  });

  it('creates a billing key for a test card name or a number, and lists keys', async () => {
    const byName = await admin('POST', '/billing-keys', { card: 'expired', payerName: '홍길동' });
    const byNumber = await admin('POST', '/billing-keys', { account: '1002-000-001000' });
    const listed = await admin('GET', '/billing-keys');

    expect(byName).toMatchObject({
      status: 201,
      json: { payType: 'card', testName: 'expired', maskedNumber: '9410-****-****-3100' },
    });
    expect(byNumber.json).toMatchObject({ payType: 'transfer', testName: 'insufficientFunds' });
    expect(listed.json).toHaveLength(2);
    const payerId = (byName.json as { PCD_PAYER_ID: string }).PCD_PAYER_ID;
    expect((await charge(sandbox, { payerId })).json['PCD_PAY_MSG']).toContain('3100');
  });

  it('refuses bad key requests with 400', async () => {
    expect((await admin('POST', '/billing-keys', { card: 'nope' })).status).toBe(400);
    expect((await admin('POST', '/billing-keys', { card: 'success', account: 'success' })).status).toBe(400);
    expect((await admin('POST', '/billing-keys', { card: 'success', cstId: 'other' })).status).toBe(400);
    expect((await admin('POST', '/billing-keys', { card: 'success', extra: 1 })).status).toBe(400);
  });

  it('reads the ledger and one entry by OID', async () => {
    const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;
    await charge(sandbox, { payerId, oid: 'adm-1', total: '4500' });

    const all = await admin('GET', '/ledger');
    const one = await admin('GET', '/ledger/adm-1');
    const missing = await admin('GET', '/ledger/none');

    expect(all.json).toHaveLength(1);
    expect(one.json).toMatchObject({
      oid: 'adm-1',
      payerId,
      payType: 'card',
      amount: 4500,
      status: 'charged',
      payDate: '20250115',
      answerDelivered: true,
    });
    expect(missing.status).toBe(404);
  });

  it('terminates a key and reports its webhook', async () => {
    const receiver = await startReceiver();
    try {
      await admin('PUT', '/webhook-url', { url: receiver.url });
      const payerId = sandbox.admin.createBillingKey({ card: 'success' }).PCD_PAYER_ID;

      const ended = await admin('POST', `/billing-keys/${encodeURIComponent(payerId)}/terminate`);
      await admin('POST', '/webhooks/idle');
      const hooks = await admin('GET', '/webhooks');

      expect(ended.json).toMatchObject({ status: 'deleted', deletedBy: 'admin' });
      expect(hooks.json).toMatchObject([
        {
          operation: 'keyTerminated',
          status: 'delivered',
          body: { PCD_PAY_WORK: 'PUSERDEL', PCD_PAYER_ID: payerId },
        },
      ]);
      expect((await admin('POST', `/billing-keys/${encodeURIComponent(payerId)}/terminate`)).status).toBe(
        400,
      );
      expect((await admin('POST', '/billing-keys/unknown/terminate')).status).toBe(404);
    } finally {
      await admin('PUT', '/webhook-url', { url: null });
      await receiver.close();
    }
  });

  it('adds, lists, removes and clears faults; refuses invalid ones', async () => {
    const added = await admin('POST', '/faults', {
      kind: 'httpError',
      status: 503,
      operation: 'charge',
      times: 1,
    });
    const id = (added.json as { id: string }).id;
    const listed = await admin('GET', '/faults');
    const invalid = await admin('POST', '/faults', { kind: 'httpError', status: 200 });
    const removed = await admin('DELETE', `/faults/${id}`);
    await admin('POST', '/faults', { kind: 'webhookDrop' });
    const cleared = await admin('DELETE', '/faults');

    expect(added.status).toBe(201);
    expect(listed.json).toMatchObject([{ id, kind: 'httpError', status: 503, remaining: 1 }]);
    expect(invalid.status).toBe(400);
    expect(removed.status).toBe(200);
    expect(cleared.status).toBe(200);
    expect(sandbox.admin.faults()).toEqual([]);
  });

  it('reports lookup usage, changes settings and resets state', async () => {
    sandbox.admin.createBillingKey({ card: 'success' });

    const usage = await admin('GET', '/lookups');
    const settings = await admin('PUT', '/settings', { slowDelayMs: 10 });
    const badSettings = await admin('PUT', '/settings', { slowDelayMs: -1 });
    await admin('POST', '/reset');

    expect(usage.json).toEqual({ cstId: 'test', count: 0, max: 1000, windowMs: 600000 });
    expect(settings.json).toEqual({ slowDelayMs: 10 });
    expect(badSettings.status).toBe(400);
    expect(sandbox.admin.billingKeys()).toEqual([]);
  });

  it('answers 404 for an unknown admin route', async () => {
    expect((await admin('GET', '/nothing')).status).toBe(404);
  });
});

describe('npm run sandbox (main.ts)', () => {
  it('starts on the given port, prints its URL and stops cleanly on SIGTERM', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const child = spawn(
      join(root, 'node_modules', '.bin', 'tsx'),
      ['local/payple-sandbox/main.ts', '--port', '0'],
      {
        cwd: root,
        env: { ...process.env, PAYPLE_SANDBOX_WEBHOOK_URL: 'http://127.0.0.1:9/hooks' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening at (http:\/\/\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', () => {
          reject(new Error(`exited early:\n${output}`));
        });
      });
      const answer = await fetch(`${url}/php/auth.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', referer: 'http://localhost' },
        body: JSON.stringify({ cst_id: 'test', custKey: 'abcd1234567890' }),
      });

      expect(((await answer.json()) as { result: string }).result).toBe('success');
      expect(output).toContain('http://127.0.0.1:9/hooks');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
