import { describe, expect, test } from 'vitest';
import {
  chargeTimeOfDay,
  DEFAULT_DUNNING_POLICY,
  dunningPolicy,
  InvalidDunningPolicyError,
  isDunningExhausted,
  retryInstant,
  retrySchedule,
} from '../../functions/billing/index.ts';
import { kst } from './factories.ts';

const ten = chargeTimeOfDay(10, 0);

describe('dunning policy', () => {
  test('by default retries 1, 3, 5 and 7 days after the first failure, at the charge time of day', () => {
    const firstFailure = kst('2027-02-28 10:00:04');
    expect(retrySchedule(DEFAULT_DUNNING_POLICY, firstFailure, ten)).toEqual([
      kst('2027-03-01 10:00'),
      kst('2027-03-03 10:00'),
      kst('2027-03-05 10:00'),
      kst('2027-03-07 10:00'),
    ]);
  });

  test('days count on the KST calendar: a failure at 00:40 KST is day 0 of that KST date', () => {
    const firstFailure = kst('2027-03-01 00:40');
    expect(retrySchedule(DEFAULT_DUNNING_POLICY, firstFailure, chargeTimeOfDay(0, 30))[0]).toBe(
      kst('2027-03-02 00:30'),
    );
  });

  test('a retry whose day went by while the failure was unknown runs at the next charge time of day', () => {
    const firstFailure = kst('2027-03-01 10:00');
    expect(retryInstant(DEFAULT_DUNNING_POLICY, 0, firstFailure, ten, kst('2027-03-02 09:00'))).toBe(
      kst('2027-03-02 10:00'),
    );
    expect(retryInstant(DEFAULT_DUNNING_POLICY, 0, firstFailure, ten, kst('2027-03-02 11:00'))).toBe(
      kst('2027-03-03 10:00'),
    );
    expect(
      retryInstant(DEFAULT_DUNNING_POLICY, 4, firstFailure, ten, kst('2027-03-02 11:00')),
    ).toBeUndefined();
  });

  test('a policy is exhausted once every retry was scheduled', () => {
    expect(isDunningExhausted(DEFAULT_DUNNING_POLICY, { retriesUsed: 3, firstFailedAt: 0 })).toBe(false);
    expect(isDunningExhausted(DEFAULT_DUNNING_POLICY, { retriesUsed: 4, firstFailedAt: 0 })).toBe(true);
    expect(isDunningExhausted(dunningPolicy([]), { retriesUsed: 0, firstFailedAt: null })).toBe(true);
  });

  test('delays must be strictly increasing whole days', () => {
    for (const delays of [[0], [1, 1], [3, 2], [1.5], [61], Array.from({ length: 21 }, (_, i) => i + 1)]) {
      expect(() => dunningPolicy(delays)).toThrow(InvalidDunningPolicyError);
    }
    expect(dunningPolicy([2, 4]).retryDelaysDays).toEqual([2, 4]);
  });
});
