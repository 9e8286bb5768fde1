import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bankIssuerRows,
  cardIssuerRows,
  classifyAnswer,
  classifyAuthAnswer,
  operationCodeRows,
  parseAmount,
  parsePaypleMessage,
  paypleCodeRows,
  type ClassificationContext,
  type OutcomeKind,
} from '../../functions/payple/index.ts';
import { testAccounts, testCards } from '../../local/payple-sandbox/test-cards.ts';
import { chargeSuccess, failure, issuerDecline, type Answer } from './factories.ts';

const charge = (payType: 'card' | 'transfer' = 'card'): ClassificationContext => ({
  operation: 'charge',
  payType,
  expected: { oid: 'sub_1-202501-1', amount: 9900 },
});
const lookup: ClassificationContext = {
  operation: 'payment_lookup',
  payType: 'card',
  expected: { oid: 'sub_1-202501-1', amount: 9900 },
};

// PAYPLE.md's lists, copied here on purpose rather than read from the client's tables.
const unknownCodes = [
  'SPCD1001',
  'RPCD1001',
  'CPAY0018',
  'SPAY0011',
  'RPAY0013',
  ...Array.from({ length: 12 }, (_, i) => `SPCD${String(15 + i).padStart(4, '0')}`),
];
const paypleMdCodes: readonly (readonly [string, OutcomeKind])[] = [
  ...unknownCodes.map((code) => [code, 'unknown'] as const),
  ...['SPCD0001', 'SPCD0011', 'SPCD0012', 'RPCD0001', 'RPCD0011', 'RPCD0012'].map(
    (code) => [code, 'hard_decline'] as const,
  ),
  ...['SPCD1002', 'SPCD1004', 'RPCD1002', 'RPCD1004', 'SPAY0005', 'SPAY0006', 'RPAY0005', 'RPAY0006'].map(
    (code) => [code, 'hard_decline'] as const,
  ),
  ...['AUTH0001', 'AUTH0002', 'AUTH0003', 'AUTH0004', 'AUTH0006', 'AUTH0007'].map(
    (code) => [code, 'config_error'] as const,
  ),
  ...['SPCD0002', 'SPCD0003', 'SPCD0007', 'SPCD0009', 'SPCD0010', 'SPCD9991'].map(
    (code) => [code, 'config_error'] as const,
  ),
  ['SPCD0004', 'token_expired'],
  ['RPCD0006', 'token_expired'],
  ...['SPCD0014', 'RPCD0015', 'CPAY0201', 'CPAY0202', 'RPAY0008'].map(
    (code) => [code, 'duplicate_oid'] as const,
  ),
];
const cardIssuerCodes: readonly (readonly [string, OutcomeKind])[] = [
  ...['3133', '3112', '3242', '3225', '3111', '3006', '3106', '3168', '3267', '3268', '3269', '3266'].map(
    (code) => [code, 'soft_decline'] as const,
  ),
  ...['3134', '3201', '3246'].map((code) => [code, 'soft_decline'] as const),
  ...['3100', '3119', '3110', '3122', '3123', '3128', '3146', '3147', '3148', '3253', '3154', '3167'].map(
    (code) => [code, 'hard_decline'] as const,
  ),
];
const bankIssuerCodes: readonly (readonly [string, OutcomeKind])[] = [
  ...['1000', '1007', '1002', '401', '402', '403', '1008', '00209998', '9998'].map(
    (code) => [code, 'soft_decline'] as const,
  ),
  ...['1003', '204', '101', '602', '2002', '606', '607', '608'].map(
    (code) => [code, 'hard_decline'] as const,
  ),
];

const allKnownCodes = new Set(
  [paypleCodeRows, ...Object.values(operationCodeRows)].flatMap((rows) => rows.flatMap((row) => row.codes)),
);

describe('Payple code table (PAYPLE.md)', () => {
  it.each(paypleMdCodes)('classifies %s on a charge as %s', (code, kind) => {
    const verdict = classifyAnswer(failure(code), charge());
    expect(verdict.kind).toBe(kind);
    expect(verdict.code).toBe(code);
  });

  it.each(paypleMdCodes)('classifies %s the same when only the message carries it', (code, kind) => {
    const verdict = classifyAnswer({ PCD_PAY_RST: 'error', PCD_PAY_MSG: `[${code}] 실패` }, charge());
    expect(verdict.kind).toBe(kind);
  });

  it.each(unknownCodes)('never calls %s a decline, whatever issuer code the message carries', (code) => {
    const verdict = classifyAnswer(issuerDecline(code, '3100', '유효기간 경과'), charge());
    expect(verdict.kind).toBe('unknown');
  });

  it('lists no code twice with different meanings', () => {
    const seen = new Map<string, string>();
    for (const row of paypleCodeRows) {
      for (const code of row.codes) {
        expect(seen.get(code) ?? row.kind, code).toBe(row.kind);
        seen.set(code, row.kind);
      }
    }
  });
});

describe('issuer codes in PCD_PAY_MSG', () => {
  it.each(cardIssuerCodes)('classifies card company code %s as %s', (issuerCode, kind) => {
    expect(classifyAnswer(issuerDecline('PCCFD001', issuerCode), charge('card')).kind).toBe(kind);
  });

  it.each(bankIssuerCodes)('classifies bank code %s as %s', (issuerCode, kind) => {
    expect(classifyAnswer(issuerDecline('SPAY0099', issuerCode), charge('transfer')).kind).toBe(kind);
  });

  it('reads the issuer code behind a [test] prefix and reports both codes', () => {
    const verdict = classifyAnswer(failure('SPCD0099', '[test] [SPCD0099] 3146 - 해지된 카드'), charge());
    expect(verdict).toMatchObject({
      kind: 'hard_decline',
      reason: 'issuer_code',
      code: 'SPCD0099',
      issuerCode: '3146',
    });
  });

  it('treats an unlisted issuer code as a soft decline', () => {
    expect(
      classifyAnswer(issuerDecline('PCCFD001', '1062', '할부거래 사용불가 카드'), charge()),
    ).toMatchObject({
      kind: 'soft_decline',
      reason: 'unrecognised_code',
      issuerCode: '1062',
    });
  });

  it('keeps the card and bank tables from overlapping, so a missing pay type is still unambiguous', () => {
    const card = new Set(cardIssuerRows.flatMap((row) => row.codes));
    expect(bankIssuerRows.flatMap((row) => row.codes).filter((code) => card.has(code))).toEqual([]);
  });

  it('treats a Payple code ending in 9998 (bank maintenance window) as a soft decline', () => {
    expect(classifyAnswer(failure('SPAY9998'), charge('transfer')).kind).toBe('soft_decline');
  });
});

describe('parsePaypleMessage', () => {
  it.each([
    ['[PCCFD001] 1062 - 할부거래 사용불가 카드', 'PCCFD001', '1062'],
    ['[test] [SPCD0099] 3133 - 잔액부족', 'SPCD0099', '3133'],
    ['[test] [SPCD1001] 카드사 응답없음', 'SPCD1001', undefined],
    ['[SPAY0099] 00209998 - 은행 점검시간', 'SPAY0099', '00209998'],
    ['결제실패 - [test] [SPCD0099] 3100 - 유효기간 경과 카드', 'SPCD0099', '3100'],
    ['[SPCD0099] 3133 - 잔액부족 [참고]', 'SPCD0099', '3133'],
    ['1062 - 할부거래 사용불가 카드', undefined, '1062'],
    ['카드결제실패', undefined, undefined],
    ['', undefined, undefined],
  ])('parses %j', (message, paypleCode, issuerCode) => {
    expect(parsePaypleMessage(message)).toEqual({ paypleCode, issuerCode });
  });
});

describe("the sandbox's test cards and accounts", () => {
  const expected = {
    soft: 'soft_decline',
    hard: 'hard_decline',
    unknown: 'unknown',
    paid: 'success',
  } as const;
  const instruments = [
    ...Object.entries(testCards).map(([name, card]) => ['card', name, card] as const),
    ...Object.entries(testAccounts).map(([name, account]) => ['transfer', name, account] as const),
  ].filter(([, , instrument]) => instrument.classification !== 'paid');

  it.each(instruments)('classifies %s %s as the sandbox documents', (payType, _name, instrument) => {
    const answer = failure(instrument.code, instrument.message);
    expect(classifyAnswer(answer, charge(payType)).kind).toBe(expected[instrument.classification]);
  });
});

describe('success', () => {
  it('is a success when the result, OID and amount all match', () => {
    expect(classifyAnswer(chargeSuccess(), charge())).toMatchObject({ kind: 'success', code: 'SPCD0000' });
  });

  it.each([
    ['the docs prose code 0000', { PCD_PAY_CODE: '0000' }],
    ['no code at all (lookup samples omit it)', { PCD_PAY_CODE: undefined }],
  ])('accepts %s', (_name, overrides) => {
    expect(classifyAnswer(chargeSuccess(overrides), charge()).kind).toBe('success');
  });

  it.each([
    ['another OID', { PCD_PAY_OID: 'sub_1-202501-2' }, 'oid_mismatch'],
    ['no OID', { PCD_PAY_OID: undefined }, 'invalid_answer'],
    ['another amount', { PCD_PAY_TOTAL: '9901' }, 'amount_mismatch'],
    ['no amount', { PCD_PAY_TOTAL: undefined }, 'invalid_answer'],
    ['a failure code', { PCD_PAY_CODE: 'SPCD1001' }, 'contradictory_answer'],
  ])('is unknown when a success carries %s', (_name, overrides, reason) => {
    expect(classifyAnswer(chargeSuccess(overrides), charge())).toMatchObject({ kind: 'unknown', reason });
  });

  it.each(['1.5', '', 'abc', '-9900', '9900.0', '1e4', '09900', ' 9900', '9007199254740993', null, 9900.5])(
    'is unknown when the amount is %j',
    (total) => {
      expect(classifyAnswer(chargeSuccess({ PCD_PAY_TOTAL: total }), charge()).kind).toBe('unknown');
    },
  );

  it.each([undefined, '', 'SUCCESS', 'ok', null, 1])('is unknown when PCD_PAY_RST is %j', (result) => {
    expect(classifyAnswer(chargeSuccess({ PCD_PAY_RST: result }), charge())).toMatchObject({
      kind: 'unknown',
      reason: 'invalid_answer',
    });
  });
});

describe('result lookup', () => {
  it('reports PCHK9997 as lookup_limited', () => {
    expect(classifyAnswer(failure('PCHK9997'), lookup).kind).toBe('lookup_limited');
  });

  it('never reports lookup_limited outside a lookup', () => {
    expect(classifyAnswer(failure('PCHK9997'), charge()).kind).toBe('unknown');
  });

  it('treats an unrecognised lookup failure as unknown, not as a decline', () => {
    expect(classifyAnswer(failure('PCHK0777'), lookup)).toMatchObject({
      kind: 'unknown',
      reason: 'unrecognised_code',
    });
  });

  it('does not let an issuer code quoted by an unrecognised lookup failure make it a decline', () => {
    const answer = failure('SPCD0099', '[SPCD0099] 3100 - 유효기간 경과');

    expect(classifyAnswer(answer, lookup)).toMatchObject({ kind: 'unknown', issuerCode: '3100' });
  });

  it('treats an unrecognised refund failure as unknown, even quoting an issuer code: the refund may have been made', () => {
    const refund: ClassificationContext = { operation: 'refund', payType: 'card' };

    expect(classifyAnswer(failure('PCCF0777'), refund)).toMatchObject({
      kind: 'unknown',
      reason: 'unrecognised_code',
    });
    expect(classifyAnswer(failure('PCCF0777', '[PCCF0777] 3100 - 유효기간 경과'), refund)).toMatchObject({
      kind: 'unknown',
      issuerCode: '3100',
    });
  });

  it('lets the issuer code of a not-charged attempt decide between soft and hard', () => {
    expect(
      classifyAnswer(failure('PCHK0012', '[PCHK0012] [SPCD0099] 3100 - 유효기간 경과'), lookup).kind,
    ).toBe('hard_decline');
    expect(classifyAnswer(failure('PCHK0012'), lookup).kind).toBe('soft_decline');
  });

  it('accepts the documented PCHK000 success code', () => {
    expect(classifyAnswer(chargeSuccess({ PCD_PAY_CODE: 'PCHK000' }), lookup).kind).toBe('success');
  });
});

describe('partner auth', () => {
  it.each([
    [{ result: 'error', result_msg: '[AUTH0004] 등록되지 않은 도메인' }, 'config_error'],
    [{ result: 'error', result_msg: 'AUTH0007 : Referer 불일치' }, 'config_error'],
    [{ result: 'error', result_msg: '알 수 없는 오류' }, 'soft_decline'],
    [{ result: 'success', cst_id: 'x' }, 'success'],
    [{}, 'unknown'],
    [{ result: 'maybe' }, 'unknown'],
  ])('classifies %j as %s', (answer, kind) => {
    expect(classifyAuthAnswer(answer).kind).toBe(kind);
  });
});

describe('properties', () => {
  const code = fc.oneof(
    fc.constantFrom(...allKnownCodes, 'SPCD0000', 'PCHK0000', '0000', 'PCCF0000'),
    fc.stringMatching(/^[A-Z]{4}[0-9]{4}$/),
    fc.string(),
  );
  const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
  const answers: fc.Arbitrary<Answer> = fc.record({
    PCD_PAY_RST: maybe(fc.oneof(fc.constantFrom('success', 'error', 'close'), fc.string())),
    PCD_PAY_CODE: maybe(code),
    PCD_PAY_MSG: maybe(fc.string()),
    PCD_PAY_OID: maybe(fc.oneof(fc.constant('sub_1-202501-1'), fc.string())),
    PCD_PAY_TOTAL: maybe(
      fc.oneof(fc.constant('9900'), fc.integer().map(String), fc.string(), fc.double(), fc.integer()),
    ),
  });

  it('is a success only when PCD_PAY_RST=success and the OID and amount match what was sent', () => {
    fc.assert(
      fc.property(answers, fc.constantFrom<ClassificationContext>(charge(), lookup), (answer, context) => {
        const verdict = classifyAnswer(answer, context);
        if (verdict.kind !== 'success') return;
        expect(answer['PCD_PAY_RST']).toBe('success');
        expect(answer['PCD_PAY_OID']).toBe('sub_1-202501-1');
        expect(parseAmount(answer['PCD_PAY_TOTAL'])).toBe(9900);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never calls an answer with a code from the unknown list a decline', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...unknownCodes),
        fc.string(),
        fc.boolean(),
        (unknownCode, message, inMessage) => {
          const answer = inMessage
            ? { PCD_PAY_RST: 'error', PCD_PAY_MSG: `[${unknownCode}] ${message}` }
            : failure(unknownCode, message);
          expect(classifyAnswer(answer, charge()).kind).toBe('unknown');
          expect(classifyAnswer(answer, charge('transfer')).kind).toBe('unknown');
        },
      ),
    );
  });

  it('classifies a random unrecognised failure code as a soft decline on a charge', () => {
    const unrecognised = fc
      .stringMatching(/^[A-Z]{4}[0-9]{4}$/)
      .filter((candidate) => !allKnownCodes.has(candidate) && !/(0000|9998)$/.test(candidate));
    fc.assert(
      fc.property(unrecognised, (unrecognisedCode) => {
        expect(classifyAnswer(failure(unrecognisedCode), charge())).toMatchObject({
          kind: 'soft_decline',
          reason: 'unrecognised_code',
        });
      }),
    );
  });

  it('puts every answer into exactly one known kind', () => {
    const kinds = new Set<string>([
      'success',
      'soft_decline',
      'hard_decline',
      'config_error',
      'token_expired',
      'duplicate_oid',
      'unknown',
      'lookup_limited',
    ]);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), answers, (noise, answer) => {
        expect(kinds.has(classifyAnswer({ ...noise, ...answer }, charge()).kind)).toBe(true);
      }),
    );
  });

  it('parses every safe non-negative integer amount and nothing fractional', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (amount) => {
        expect(parseAmount(String(amount))).toBe(amount);
        expect(parseAmount(`${amount}.5`)).toBeUndefined();
        expect(parseAmount(`-${amount + 1}`)).toBeUndefined();
      }),
    );
  });
});
