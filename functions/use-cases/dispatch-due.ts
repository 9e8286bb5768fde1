/**
 * The dispatcher's use case: page through the due index and enqueue one job per due attempt.
 *
 * Nothing is lost when a run stops early (its time budget, an error): an entry stays in the due
 * index until its attempt is claimed, so the next run finds it. Nothing is charged twice when runs
 * overlap or a message is delivered twice: the charger's claim admits one job per attempt. Each
 * enqueued entry is leased (hidden from the index) for a while, so overlapping runs rarely enqueue
 * it again; if its message is lost, the lease runs out and it is enqueued again.
 */
import { isInstantInBankMaintenanceWindow } from '../billing/index.ts';
import type { ChargeJob, DueEntry, DueIndex, JobQueue } from './ports.ts';

export interface DispatchDependencies {
  readonly dueIndex: DueIndex;
  readonly queue: JobQueue;
  /** How long an enqueued entry stays hidden from later runs. */
  readonly leaseMs: number;
  /** Entries read per query page. */
  readonly pageSize?: number;
}

export interface DispatchRequest {
  readonly now: number;
  /** True when the run must stop (its time budget is spent); checked between pages. */
  readonly shouldStop: () => boolean;
}

export interface DispatchResult {
  readonly enqueued: number;
  /** Entries whose message could not be sent (they stay due for the next run). */
  readonly failed: number;
  /** False when the run stopped before every shard was read to the end. */
  readonly complete: boolean;
  /** True when the run did nothing because it fell inside the banks' maintenance window. */
  readonly skippedForMaintenance: boolean;
}

const DEFAULT_PAGE_SIZE = 100;

export async function dispatchDueCharges(
  deps: DispatchDependencies,
  request: DispatchRequest,
): Promise<DispatchResult> {
  if (isInstantInBankMaintenanceWindow(request.now)) {
    // Charges are refused 23:30-00:30 KST; the entries simply wait for the first run after it.
    return { enqueued: 0, failed: 0, complete: true, skippedForMaintenance: true };
  }
  // Shards are independent partitions of the index: read them side by side.
  const shards = await Promise.all(
    Array.from({ length: deps.dueIndex.shardCount }, (_, shard) => dispatchShard(deps, request, shard)),
  );
  return {
    enqueued: shards.reduce((sum, shard) => sum + shard.enqueued, 0),
    failed: shards.reduce((sum, shard) => sum + shard.failed, 0),
    complete: shards.every((shard) => shard.complete),
    skippedForMaintenance: false,
  };
}

async function dispatchShard(
  deps: DispatchDependencies,
  request: DispatchRequest,
  shard: number,
): Promise<{ enqueued: number; failed: number; complete: boolean }> {
  let enqueued = 0;
  let failed = 0;
  let cursor: string | undefined;
  do {
    if (request.shouldStop()) return { enqueued, failed, complete: false };
    const page = await deps.dueIndex.listDue(shard, request.now, deps.pageSize ?? DEFAULT_PAGE_SIZE, cursor);
    const unsent = new Set((await deps.queue.send(page.entries.map(toJob))).map(jobKey));
    const sent = page.entries.filter((entry) => !unsent.has(jobKey(entry)));
    await Promise.all(sent.map((entry) => deps.dueIndex.lease(entry, request.now + deps.leaseMs)));
    enqueued += sent.length;
    failed += unsent.size;
    cursor = page.cursor;
  } while (cursor);
  return { enqueued, failed, complete: true };
}

function toJob(entry: DueEntry): ChargeJob {
  return { subscriptionId: entry.subscriptionId, period: entry.period, attempt: entry.attempt };
}

function jobKey(job: ChargeJob): string {
  return `${job.subscriptionId}/${job.period}/${job.attempt}`;
}
