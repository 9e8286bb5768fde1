/**
 * The deployment-wide lookup budget against DynamoDB Local: what it grants, under concurrency, when
 * blocked, and for random sequences of reservations and clock moves.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { documentClient } from '../../functions/store/dynamo-billing-store.ts';
import { DynamoLookupBudget, LOOKUP_BLOCK_MS } from '../../functions/store/lookup-budget.ts';
import { createTables } from '../../local/aws/create-resources.ts';
import { LOCAL_AWS } from '../../local/stack.ts';
import { MINUTE_MS, TEN_MINUTES_MS } from '../support/reconciler-helpers.ts';

const DAY_MS = 86_400_000;

interface Grant {
  readonly at: number;
  readonly granted: number;
}

/** The most granted in any 10-minute window [t, t + 10 min) (the busiest starts at a grant). */
function busiestWindow(grants: readonly Grant[]): number {
  return Math.max(
    0,
    ...grants.map((start) =>
      grants
        .filter((g) => g.at >= start.at && g.at < start.at + TEN_MINUTES_MS)
        .reduce((sum, g) => sum + g.granted, 0),
    ),
  );
}

/**
 * What the budget's rule allows at `now`: the budget minus the fullest of the 11-minute bucket
 * windows that hold `now`'s minute (ten before it to ten after it: other clocks may be ahead).
 */
function modelRemaining(grants: readonly Grant[], now: number, perTenMinutes: number): number {
  const minute = Math.floor(now / MINUTE_MS);
  const inMinutes = (from: number, to: number) =>
    grants
      .filter((g) => Math.floor(g.at / MINUTE_MS) >= from && Math.floor(g.at / MINUTE_MS) <= to)
      .reduce((sum, g) => sum + g.granted, 0);
  const used = Math.max(...Array.from({ length: 11 }, (_, k) => inMinutes(minute - 10 + k, minute + k)));
  return Math.max(0, perTenMinutes - used);
}

describe('the lookup budget in DynamoDB', () => {
  let dynamo: DynamoDBClient;
  let table: string;
  /** Each test (and each property run) gets days of its own: bucket keys are absolute minutes. */
  let epoch = Date.parse('2030-01-01T00:00:00Z');
  const freshStart = (offsetMs = 0) => {
    epoch += DAY_MS;
    return epoch + offsetMs;
  };
  const budgetOf = (perTenMinutes: number) =>
    new DynamoLookupBudget({ documents: documentClient(dynamo), table, perTenMinutes });

  beforeAll(async () => {
    dynamo = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    table = (await createTables(dynamo, `t${randomUUID().slice(0, 8)}`)).control;
  });
  afterAll(() => {
    dynamo.destroy();
  });

  test('refuses a budget Payple would refuse or that could never grant', () => {
    expect(() => budgetOf(1_001)).toThrow(/1-1000/);
    expect(() => budgetOf(0)).toThrow(/1-1000/);
    expect(() => budgetOf(1.5)).toThrow(/1-1000/);
  });

  test('counts every grant for this minute and the ten before it, so no 10-minute window gets more than the budget', async () => {
    const budget = budgetOf(100);
    const t0 = freshStart(30_000); // hh:00:30

    const grants = [
      await budget.reserve(60, t0),
      await budget.reserve(60, t0 + 5 * MINUTE_MS), // only 40 left
      await budget.reserve(1, t0 + 9 * MINUTE_MS + 29_000), // 10 minutes minus a second later
      // 10 minutes later: Payple's rolling window has let the first 60 go, but their minute
      // bucket is still one of the eleven the budget counts.
      await budget.reserve(1, t0 + TEN_MINUTES_MS),
      await budget.reserve(100, t0 + 11 * MINUTE_MS - 30_000), // hh:11:00: the first minute left
      await budget.reserve(100, t0 + 16 * MINUTE_MS - 30_000), // hh:16:00: the 40 left too
    ];

    expect(grants).toEqual([60, 40, 0, 0, 60, 40]);
  });

  test('a caller whose clock is a moment behind gets nothing more once another caller used the budget in the next minute', async () => {
    const minute = freshStart(7 * MINUTE_MS);

    const ahead = await budgetOf(300).reserve(300, minute);
    const behind = await budgetOf(300).reserve(300, minute - 1);
    const muchLater = await budgetOf(300).reserve(300, minute + 11 * MINUTE_MS);

    expect([ahead, behind, muchLater]).toEqual([300, 0, 300]);
  });

  test('many concurrent reservations, from many instances, never grant more than the budget, and the table counts exactly what was granted', async () => {
    const now = freshStart(42_000);
    const perTenMinutes = 900;

    const granted = await Promise.all(
      Array.from({ length: 30 }, () => budgetOf(perTenMinutes).reserve(40, now)),
    );
    const total = granted.reduce((sum, n) => sum + n, 0);
    const rest = await budgetOf(perTenMinutes).reserve(perTenMinutes, now);

    expect(total).toBeLessThanOrEqual(perTenMinutes);
    expect(total).toBeGreaterThan(0);
    expect(total + rest).toBe(perTenMinutes);
  });

  test('concurrent reservations on both sides of a minute boundary never grant more than the budget together', async () => {
    const boundary = freshStart(7 * MINUTE_MS);
    const perTenMinutes = 300;

    const granted = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        budgetOf(perTenMinutes).reserve(20, i % 2 === 0 ? boundary - 1 : boundary),
      ),
    );
    const total = granted.reduce((sum, n) => sum + n, 0);

    expect(total).toBeLessThanOrEqual(perTenMinutes);
    expect(total + (await budgetOf(perTenMinutes).reserve(perTenMinutes, boundary))).toBe(perTenMinutes);
  });

  test('after block() nothing is granted until 10 minutes have passed, for every instance', async () => {
    const budget = budgetOf(900);
    const blockedAt = freshStart(12_345);
    expect(await budget.reserve(5, blockedAt)).toBe(5);

    await budgetOf(900).block(blockedAt);

    expect(await budget.reserve(5, blockedAt)).toBe(0);
    expect(await budgetOf(900).reserve(5, blockedAt + MINUTE_MS)).toBe(0);
    expect(await budget.reserve(5, blockedAt + LOOKUP_BLOCK_MS - 1)).toBe(0);
    expect(await budget.reserve(5, blockedAt + LOOKUP_BLOCK_MS)).toBe(5);
  });

  test('property: for random reservations (some concurrent), clock moves and blocks, no 10-minute window gets more than the budget, and a lone reservation gets all the rule allows', async () => {
    const step = fc.record({
      advanceMs: fc.oneof(
        fc.integer({ min: 0, max: 59_999 }),
        fc.integer({ min: 1, max: 4 * MINUTE_MS }),
        fc.constantFrom(MINUTE_MS, TEN_MINUTES_MS, 11 * MINUTE_MS),
      ),
      // Each reservation's own clock: mostly right, sometimes a moment or a minute behind.
      wants: fc.array(
        fc.record({
          wanted: fc.integer({ min: 1, max: 40 }),
          skewMs: fc.constantFrom(0, 0, 0, -1, -20_000, -61_000),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      block: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 7, 50, 120),
        fc.integer({ min: 0, max: 59_999 }),
        fc.array(step, { minLength: 1, maxLength: 14 }),
        async (perTenMinutes, startOffset, steps) => {
          const budget = budgetOf(perTenMinutes);
          let now = freshStart(startOffset);
          let blockedUntil = 0;
          const grants: Grant[] = [];
          for (const { advanceMs, wants, block } of steps) {
            now += advanceMs;
            if (block) {
              await budget.block(now);
              blockedUntil = now + LOOKUP_BLOCK_MS;
            }
            const before = [...grants];
            const results = await Promise.all(
              wants.map(({ wanted, skewMs }) => budget.reserve(wanted, now + skewMs)),
            );
            results.forEach((granted, i) => {
              const { wanted, skewMs } = wants[i]!;
              expect(granted).toBeGreaterThanOrEqual(0);
              expect(granted).toBeLessThanOrEqual(wanted);
              grants.push({ at: now + skewMs, granted });
            });
            if (wants.length === 1) {
              const { wanted, skewMs } = wants[0]!;
              const at = now + skewMs;
              const remaining = at < blockedUntil ? 0 : modelRemaining(before, at, perTenMinutes);
              expect(results[0]).toBe(Math.min(wanted, remaining));
            }
          }
          expect(busiestWindow(grants)).toBeLessThanOrEqual(perTenMinutes);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
