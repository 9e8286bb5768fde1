import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  calendarDate,
  formatCompactDate,
  fromEpochDay,
  InvalidOidPartError,
  MAX_ATTEMPT,
  MAX_OID_LENGTH,
  oidFor,
  parseOid,
  toEpochDay,
} from '../../functions/billing/index.ts';

const ALNUM = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
const subscriptionId = fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 1, maxLength: 40 });
const periodKey = fc
  .integer({ min: toEpochDay(calendarDate(2000, 1, 1)), max: toEpochDay(calendarDate(9999, 12, 31)) })
  .map((day) => formatCompactDate(fromEpochDay(day)));
const attempt = fc.integer({ min: 1, max: MAX_ATTEMPT });
const triple = fc.tuple(subscriptionId, periodKey, attempt);

describe('OIDs', () => {
  test('an OID reads subscription, billing date and attempt', () => {
    expect(oidFor('01JQ4ZC7Y9K2ABCD', '20270131', 2)).toBe('01JQ4ZC7Y9K2ABCD-20270131-2');
    expect(parseOid('01JQ4ZC7Y9K2ABCD-20270131-2')).toEqual({
      subscriptionId: '01JQ4ZC7Y9K2ABCD',
      periodKey: '20270131',
      attempt: 2,
    });
  });

  test('parts that could make an OID ambiguous or unsafe are refused', () => {
    for (const id of ['', 'a-b', 'a_b', 'abc ', 'ä', 'x'.repeat(41)]) {
      expect(() => oidFor(id, '20270131', 1)).toThrow(InvalidOidPartError);
    }
    for (const key of ['2027013', '20270229', '2027-01-31', '199912310']) {
      expect(() => oidFor('sub1', key, 1)).toThrow(InvalidOidPartError);
    }
    for (const n of [0, -1, 1.5, MAX_ATTEMPT + 1, Number.NaN]) {
      expect(() => oidFor('sub1', '20270131', n)).toThrow(InvalidOidPartError);
    }
  });

  test('strings oidFor cannot have produced are not ours', () => {
    for (const oid of [
      'sub1-20270131-01',
      'sub1-20270131-0',
      'sub1-20270229-1',
      'sub-1-20270131-1',
      'sub1_20270131_1',
      'sub1-20270131-1 ',
      'sub1-20270131',
      'PAYPLE-INVENTED-OID',
      '',
    ]) {
      expect(parseOid(oid)).toBeUndefined();
    }
  });

  test('property: every OID is [A-Za-z0-9_-], at most 64 characters, and parses back to its parts', () => {
    fc.assert(
      fc.property(triple, ([id, key, n]) => {
        const oid = oidFor(id, key, n);
        expect(oid).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        expect(oid.length).toBeLessThanOrEqual(MAX_OID_LENGTH);
        expect(parseOid(oid)).toEqual({ subscriptionId: id, periodKey: key, attempt: n });
      }),
      { numRuns: 2_000 },
    );
  });

  test('property: two different (subscription, period, attempt) triples never share an OID', () => {
    fc.assert(
      fc.property(triple, triple, (a, b) => {
        fc.pre(a.join('|') !== b.join('|'));
        expect(oidFor(...a)).not.toBe(oidFor(...b));
      }),
      { numRuns: 5_000 },
    );
  });

  test('property: near-collisions (ids that are prefixes of each other, adjacent dates and attempts) stay apart', () => {
    const near = fc
      .tuple(subscriptionId, fc.constantFrom('1', '2', '12', '0'), periodKey, fc.integer({ min: 1, max: 99 }))
      .chain(([id, tail, key, n]) =>
        fc.constantFrom<[string, string, number]>(
          [id, key, n],
          [id + tail, key, n],
          [id, key, n * 10 + 1],
          [id + key.slice(0, 1), key, n],
        ),
      );
    fc.assert(
      fc.property(near, near, (a, b) => {
        fc.pre(a.join('|') !== b.join('|') && a[0].length <= 40 && b[0].length <= 40);
        expect(oidFor(...a)).not.toBe(oidFor(...b));
      }),
    );
  });

  test('property: whatever parses is canonical: formatting the parts gives the same string back', () => {
    const candidate = fc.oneof(
      triple.map(([id, key, n]) => oidFor(id, key, n)),
      fc.string({ unit: fc.constantFrom(...ALNUM, '-', '_', '0'), maxLength: 60 }),
    );
    fc.assert(
      fc.property(candidate, (oid) => {
        const parsed = parseOid(oid);
        if (parsed !== undefined)
          expect(oidFor(parsed.subscriptionId, parsed.periodKey, parsed.attempt)).toBe(oid);
      }),
      { numRuns: 2_000 },
    );
  });
});
