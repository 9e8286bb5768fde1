/**
 * One budget of Payple result lookups for the whole deployment (reconciler, webhook and return-flow
 * confirmations), kept in DynamoDB so concurrent functions share it.
 *
 * Payple refuses more than 1,000 lookups in 10 minutes for the partner account (PCHK9997) and does
 * not say whether the window is fixed or rolling, so the budget holds for EVERY 10-minute window:
 * lookups are counted in one-minute buckets and a reservation succeeds only while the buckets of the
 * last 11 minutes (any 10-minute window lies within 11 consecutive minute buckets) hold no more than
 * the budget. The check and the increment are one transaction over those buckets, so two functions
 * reserving at once cannot both take the last lookups.
 *
 * Callers' clocks differ (and `now` is read before the call), so a bucket may be written after a
 * later minute's bucket. A reservation therefore checks every 11-bucket window its minute belongs
 * to (the ten minutes after it too) and conditions the transaction on all of those buckets, present
 * or absent: whichever of two overlapping reservations commits second sees the first.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  PutCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { LookupBudget } from '../use-cases/ports.ts';

const MINUTE_MS = 60_000;
/** Buckets of one window: a minute and the ten before it. */
const WINDOW_BUCKETS = 11;
/** Buckets a reservation reads: every window holding its minute spans the ten before to the ten after. */
const SPAN = WINDOW_BUCKETS - 1;
/** When Payple itself said the window is spent, nobody looks up for this long. */
export const LOOKUP_BLOCK_MS = 10 * MINUTE_MS;
const MAX_RESERVE_ROUNDS = 8;

export interface DynamoLookupBudgetOptions {
  readonly documents: DynamoDBDocumentClient;
  /** The control table (`pk`, `expiresAtEpochSeconds` TTL). */
  readonly table: string;
  /** Lookups allowed in any 10 minutes; 900 by default, under Payple's 1,000. */
  readonly perTenMinutes: number;
}

interface Bucket {
  readonly pk: string;
  readonly count: number;
  readonly exists: boolean;
}

const bucketKey = (minute: number) => `lookup-budget#${minute}`;
const BLOCK_KEY = 'lookup-budget#blocked';

export class DynamoLookupBudget implements LookupBudget {
  readonly #options: DynamoLookupBudgetOptions;

  constructor(options: DynamoLookupBudgetOptions) {
    if (
      !Number.isSafeInteger(options.perTenMinutes) ||
      options.perTenMinutes < 1 ||
      options.perTenMinutes > 1000
    ) {
      throw new Error('the lookup budget must be 1-1000 per 10 minutes (Payple refuses more than 1,000)');
    }
    this.#options = options;
  }

  async reserve(wanted: number, now: number): Promise<number> {
    if (wanted <= 0) return 0;
    const currentMinute = Math.floor(now / MINUTE_MS);
    // currentMinute - SPAN ... currentMinute + SPAN; the current one is at index SPAN.
    const minutes = Array.from({ length: 2 * SPAN + 1 }, (_, i) => currentMinute - SPAN + i);
    for (let round = 0; round < MAX_RESERVE_ROUNDS; round++) {
      const { buckets, blockedUntil } = await this.#read(minutes);
      if (blockedUntil > now) return 0;
      const used = Math.max(
        ...Array.from({ length: SPAN + 1 }, (_, end) =>
          buckets.slice(end, end + WINDOW_BUCKETS).reduce((sum, bucket) => sum + bucket.count, 0),
        ),
      );
      const granted = Math.min(wanted, this.#options.perTenMinutes - used);
      if (granted <= 0) return 0;
      const current = buckets[SPAN] as Bucket;
      const others = buckets.filter((_, i) => i !== SPAN);
      try {
        await this.#options.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.#options.table,
                  Item: {
                    pk: current.pk,
                    count: current.count + granted,
                    expiresAtEpochSeconds: Math.floor(now / 1000) + 3600,
                  },
                  ConditionExpression: current.exists ? '#count = :seen' : 'attribute_not_exists(pk)',
                  ...(current.exists
                    ? {
                        ExpressionAttributeNames: { '#count': 'count' },
                        ExpressionAttributeValues: { ':seen': current.count },
                      }
                    : {}),
                },
              },
              // Every other bucket counted must still hold what was read, or still be absent: a
              // caller whose clock reads another minute may be writing there right now.
              ...others.map((bucket) => ({
                ConditionCheck: {
                  TableName: this.#options.table,
                  Key: { pk: bucket.pk },
                  ...(bucket.exists
                    ? {
                        ConditionExpression: '#count = :seen',
                        ExpressionAttributeNames: { '#count': 'count' },
                        ExpressionAttributeValues: { ':seen': bucket.count },
                      }
                    : { ConditionExpression: 'attribute_not_exists(pk)' }),
                },
              })),
            ],
          }),
        );
        return granted;
      } catch (error) {
        if (error instanceof TransactionCanceledException) continue;
        throw error;
      }
    }
    // Heavy contention: taking nothing is always within the budget.
    return 0;
  }

  /** Nobody looks up until `now + LOOKUP_BLOCK_MS`. */
  async block(now: number): Promise<void> {
    await this.#options.documents.send(
      new PutCommand({
        TableName: this.#options.table,
        Item: {
          pk: BLOCK_KEY,
          until: now + LOOKUP_BLOCK_MS,
          expiresAtEpochSeconds: Math.floor((now + LOOKUP_BLOCK_MS) / 1000) + 3600,
        },
      }),
    );
  }

  async #read(minutes: readonly number[]): Promise<{ buckets: Bucket[]; blockedUntil: number }> {
    const keys = [...minutes.map(bucketKey), BLOCK_KEY];
    const result = await this.#options.documents.send(
      new BatchGetCommand({
        RequestItems: { [this.#options.table]: { Keys: keys.map((pk) => ({ pk })), ConsistentRead: true } },
      }),
    );
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) {
      // A partial read would undercount what was used: count the window as full instead.
      return {
        buckets: minutes.map((minute) => ({ pk: bucketKey(minute), count: Infinity, exists: true })),
        blockedUntil: 0,
      };
    }
    const items = new Map(
      (result.Responses?.[this.#options.table] ?? []).map((item) => [String(item.pk), item] as const),
    );
    const buckets = minutes.map((minute) => {
      const item = items.get(bucketKey(minute));
      return { pk: bucketKey(minute), count: Number(item?.count ?? 0), exists: item !== undefined };
    });
    return { buckets, blockedUntil: Number(items.get(BLOCK_KEY)?.until ?? 0) };
  }
}
