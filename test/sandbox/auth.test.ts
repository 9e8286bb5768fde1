import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { post, startSandbox } from './helpers.ts';

let sandbox: RunningPaypleSandbox;
const partner = { cst_id: 'test', custKey: 'abcd1234567890' };

beforeAll(async () => {
  ({ sandbox } = await startSandbox());
});
afterAll(async () => {
  await sandbox.stop();
});

describe('partner auth', () => {
  it.each([
    ['window', {}, '/index.php?ACT_=PAYM&CPAYVER=sandbox'],
    ['card charge', { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' }, '/php/SimplePayCardAct.php?ACT_=PAYM'],
    [
      'transfer charge',
      { PCD_PAY_TYPE: 'transfer', PCD_SIMPLE_FLAG: 'Y' },
      '/php/SimplePayAct.php?ACT_=PAYM',
    ],
    ['transfer charge without pay type', { PCD_SIMPLE_FLAG: 'Y' }, '/php/SimplePayAct.php?ACT_=PAYM'],
    [
      'monthly-guarded card charge',
      { PCD_PAY_TYPE: 'card', PCD_REGULER_FLAG: 'Y' },
      '/php/RePayCardAct.php?ACT_=PAYM',
    ],
    ['billing-key status', { PCD_PAY_WORK: 'PUSERINFO' }, '/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERINFO'],
    ['billing-key delete', { PCD_PAY_WORK: 'PUSERDEL' }, '/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERDEL'],
    ['result lookup', { PCD_PAYCHK_FLAG: 'Y' }, '/php/PayChkAct.php'],
    ['cancel', { PCD_PAYCANCEL_FLAG: 'Y' }, '/php/account/api/cPayCAct.php'],
  ])('answers tokens and the %s URL', async (_name, purpose, path) => {
    const { status, json } = await post(`${sandbox.url}/php/auth.php`, { ...partner, ...purpose });

    expect(status).toBe(200);
    expect(json).toMatchObject({
      result: 'success',
      result_msg: '사용자 인증 완료!!',
      server_name: new URL(sandbox.url).host,
      PCD_PAY_HOST: sandbox.url,
      PCD_PAY_URL: path,
      return_url: `${sandbox.url}${path}`,
    });
    // The returned cst_id / custKey are tokens, never the partner's own values.
    expect(json['cst_id']).not.toBe('test');
    expect(json['custKey']).not.toBe('abcd1234567890');
    expect(json['AuthKey']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('mints different tokens on every auth', async () => {
    const first = await post(`${sandbox.url}/php/auth.php`, partner);
    const second = await post(`${sandbox.url}/php/auth.php`, partner);

    expect(first.json['AuthKey']).not.toBe(second.json['AuthKey']);
    expect(first.json['cst_id']).not.toBe(second.json['cst_id']);
  });

  it('refuses a missing Referer with AUTH0004', async () => {
    const { json } = await post(`${sandbox.url}/php/auth.php`, partner, { referer: null });

    expect(json['result']).toBe('error');
    expect(json['result_msg']).toMatch(/^\[AUTH0004\]/);
  });

  it('refuses an unregistered Referer with AUTH0004', async () => {
    const { json } = await post(`${sandbox.url}/php/auth.php`, partner, {
      referer: 'https://evil.example.com/pay',
    });

    expect(json['result_msg']).toMatch(/^\[AUTH0004\]/);
  });

  it('accepts localhost and 127.0.0.1 Referers on any port and scheme', async () => {
    for (const referer of ['http://localhost:3000/checkout', 'https://127.0.0.1/', 'http://localhost']) {
      const { json } = await post(`${sandbox.url}/php/auth.php`, partner, { referer });
      expect(json['result']).toBe('success');
    }
  });

  it.each([
    ['an unknown partner', { cst_id: 'nobody', custKey: 'abcd1234567890' }, 'AUTH0001'],
    ['a missing cst_id', { custKey: 'abcd1234567890' }, 'AUTH0001'],
    ['a wrong custKey', { cst_id: 'test', custKey: 'wrong' }, 'AUTH0002'],
    ['two purpose flags', { ...partner, PCD_PAYCHK_FLAG: 'Y', PCD_PAYCANCEL_FLAG: 'Y' }, 'AUTH0003'],
    ['a flag that is not Y/N', { ...partner, PCD_SIMPLE_FLAG: 'yes' }, 'AUTH0003'],
    ['an unsupported work', { ...partner, PCD_PAY_WORK: 'LINKREG' }, 'AUTH0003'],
    ['a bad pay type', { ...partner, PCD_SIMPLE_FLAG: 'Y', PCD_PAY_TYPE: 'cash' }, 'AUTH0003'],
    ['a non-string cst_id', { cst_id: { id: 'test' }, custKey: 'abcd1234567890' }, 'AUTH0003'],
  ])('refuses %s', async (_name, body, code) => {
    const { status, json } = await post(`${sandbox.url}/php/auth.php`, body);

    expect(status).toBe(200);
    expect(json['result']).toBe('error');
    expect(json['result_msg']).toMatch(new RegExp(`^\\[${code}\\]`));
  });

  it('requires Content-Type application/json', async () => {
    const { json } = await post(`${sandbox.url}/php/auth.php`, 'cst_id=test&custKey=abcd1234567890', {
      contentType: 'application/x-www-form-urlencoded',
    });

    expect(json['result_msg']).toMatch(/^\[AUTH0003\]/);
  });

  it.each(['{not json', '[1,2]', 'null', '"text"', ''])(
    'answers a Payple error to the body %j',
    async (body) => {
      const { status, json } = await post(`${sandbox.url}/php/auth.php`, body);

      expect(status).toBe(200);
      expect(json['result']).toBe('error');
      expect(json['result_msg']).toMatch(/^\[AUTH0003\]/);
    },
  );

  it('answers 405 to a GET on an API endpoint and 404 elsewhere', async () => {
    expect((await fetch(`${sandbox.url}/php/auth.php`)).status).toBe(405);
    expect((await fetch(`${sandbox.url}/php/nothing.php`, { method: 'POST' })).status).toBe(404);
  });
});

describe('a sandbox with its own partners', () => {
  it('checks the Referer against the partner registered domains', async () => {
    const { sandbox: own } = await startSandbox({
      partners: [{ cstId: 'shop', custKey: 'k', refundKey: 'r', refererHosts: ['*.shop.example'] }],
    });
    try {
      const body = { cst_id: 'shop', custKey: 'k' };
      const allowed = await post(`${own.url}/php/auth.php`, body, { referer: 'https://pay.shop.example/x' });
      const refused = await post(`${own.url}/php/auth.php`, body, { referer: 'http://localhost:8080' });
      const testPartner = await post(`${own.url}/php/auth.php`, partner, {
        referer: 'https://pay.shop.example/',
      });

      expect(allowed.json['result']).toBe('success');
      expect(refused.json['result_msg']).toMatch(/^\[AUTH0004\]/);
      expect(testPartner.json['result_msg']).toMatch(/^\[AUTH0001\]/);
    } finally {
      await own.stop();
    }
  });
});
