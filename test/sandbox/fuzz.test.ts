/** Whatever a client sends, every endpoint answers a Payple-style JSON error (never a crash or 5xx). */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPaypleSandbox } from '../../local/payple-sandbox/index.ts';
import { auth, post, startSandbox, tokens } from './helpers.ts';

let sandbox: RunningPaypleSandbox;

beforeAll(async () => {
  ({ sandbox } = await startSandbox());
});
afterAll(async () => {
  await sandbox.stop();
});

const fieldNames = [
  'cst_id',
  'custKey',
  'PCD_PAY_TYPE',
  'PCD_SIMPLE_FLAG',
  'PCD_REGULER_FLAG',
  'PCD_PAY_WORK',
  'PCD_PAYCHK_FLAG',
  'PCD_PAYCANCEL_FLAG',
  'PCD_PAYER_ID',
  'PCD_PAY_GOODS',
  'PCD_PAY_TOTAL',
  'PCD_PAY_OID',
  'PCD_PAY_DATE',
  'PCD_PAY_YEAR',
  'PCD_PAY_MONTH',
  'PCD_PAYER_NO',
  'PCD_PAYER_HP',
  'PCD_REFUND_KEY',
  'PCD_REFUND_TOTAL',
  'PCD_PAY_REQKEY',
  'PCD_PAY_ISTAX',
];
const value = fc.oneof(
  fc.string(),
  fc.constantFrom('', 'Y', 'N', 'card', 'transfer', '1000', '-1', '1e3', '20250115', 'PUSERINFO'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const body = fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 8 });

const endpoints: readonly [string, Record<string, string>][] = [
  ['/php/SimplePayCardAct.php?ACT_=PAYM', { PCD_PAY_TYPE: 'card', PCD_SIMPLE_FLAG: 'Y' }],
  ['/php/SimplePayAct.php?ACT_=PAYM', { PCD_SIMPLE_FLAG: 'Y' }],
  ['/php/RePayCardAct.php?ACT_=PAYM', { PCD_PAY_TYPE: 'card', PCD_REGULER_FLAG: 'Y' }],
  ['/php/PayChkAct.php', { PCD_PAYCHK_FLAG: 'Y' }],
  ['/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERINFO', { PCD_PAY_WORK: 'PUSERINFO' }],
  ['/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERDEL', { PCD_PAY_WORK: 'PUSERDEL' }],
  ['/php/account/api/cPayCAct.php', { PCD_PAYCANCEL_FLAG: 'Y' }],
  ['/php/PayCardConfirmAct.php?ACT_=PAYM', {}],
];

describe('fuzzed request bodies', () => {
  it('partner auth answers a result JSON, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (fields) => {
        const { status, json } = await post(`${sandbox.url}/php/auth.php`, fields);
        expect(status).toBe(200);
        expect(['success', 'error']).toContain(json['result']);
      }),
      { numRuns: 60 },
    );
  });

  it.each(endpoints)('%s answers a PCD_PAY_RST JSON with and without valid tokens', async (path, purpose) => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (fields, withTokens) => {
        const valid = withTokens ? tokens(await auth(sandbox, purpose)) : {};
        const { status, json } = await post(`${sandbox.url}${path}`, { ...fields, ...valid });
        expect(status).toBe(200);
        expect(['success', 'error']).toContain(json['PCD_PAY_RST']);
        expect(typeof json['PCD_PAY_CODE']).toBe('string');
      }),
      { numRuns: 40 },
    );
  });
});
