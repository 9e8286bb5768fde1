import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChargeJob, JobQueue } from '../../functions/use-cases/ports.ts';
import { dispatchDueCharges } from '../../functions/use-cases/dispatch-due.ts';
import type { LocalStack } from '../../local/stack.ts';
import { seedSubscription, startTestStack } from '../support/local-stack.ts';

class RecordingQueue implements JobQueue {
  readonly sent: ChargeJob[] = [];
  refuse = false;
  async send(jobs: readonly ChargeJob[]): Promise<readonly ChargeJob[]> {
    if (this.refuse) return jobs;
    this.sent.push(...jobs);
    return [];
  }
}

const jobKey = (job: ChargeJob) => `${job.subscriptionId}/${job.period}/${job.attempt}`;

describe('the dispatcher within its time budget', () => {
  let stack: LocalStack;
  const due = 120;
  const dueAt = Date.parse('2027-06-01T10:05:00+09:00');
  beforeAll(async () => {
    stack = await startTestStack({ startAt: '2027-05-31T09:00:00+09:00' });
    for (let i = 0; i < due; i++) {
      await seedSubscription(stack, { firstBillingDate: { year: 2027, month: 6, day: 1 } });
    }
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('a run stopped early leaves the rest for the next run, losing and duplicating nothing', async () => {
    const queue = new RecordingQueue();
    const deps = { dueIndex: stack.billing.store, queue, leaseMs: 30 * 60_000, pageSize: 5 };
    let pagesLeft = 6;

    const first = await dispatchDueCharges(deps, { now: dueAt, shouldStop: () => pagesLeft-- <= 0 });
    const afterFirst = queue.sent.length;
    const second = await dispatchDueCharges(deps, { now: dueAt + 60_000, shouldStop: () => false });
    const third = await dispatchDueCharges(deps, { now: dueAt + 120_000, shouldStop: () => false });

    expect(first.complete).toBe(false);
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(due);
    expect(second.complete).toBe(true);
    expect(third.enqueued).toBe(0);
    const keys = queue.sent.map(jobKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(due);
  });

  test('entries whose message could not be sent stay due and are sent by a later run', async () => {
    const later = dueAt + 40 * 60_000; // the first test's leases have run out
    const queue = new RecordingQueue();
    queue.refuse = true;
    const deps = { dueIndex: stack.billing.store, queue, leaseMs: 30 * 60_000 };

    const refused = await dispatchDueCharges(deps, { now: later, shouldStop: () => false });
    queue.refuse = false;
    const retried = await dispatchDueCharges(deps, { now: later + 60_000, shouldStop: () => false });

    expect(refused).toMatchObject({ enqueued: 0, failed: due });
    expect(retried).toMatchObject({ enqueued: due, failed: 0 });
  });

  test('nothing is dispatched inside the banks’ maintenance window', async () => {
    const queue = new RecordingQueue();

    const result = await dispatchDueCharges(
      { dueIndex: stack.billing.store, queue, leaseMs: 30 * 60_000 },
      { now: Date.parse('2027-06-01T23:45:00+09:00'), shouldStop: () => false },
    );

    expect(result.skippedForMaintenance).toBe(true);
    expect(queue.sent).toHaveLength(0);
  });
});
