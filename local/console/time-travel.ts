/**
 * Time travel for the local stack: moves the clock forward by days or months, or to an instant,
 * firing the dispatcher and the reconciler at every occurrence in between as their schedules would
 * have, with the billing queue drained at each one (the dispatcher's handler drains after it
 * dispatches), so a renewal is charged "at" its billing date.
 *
 * One thing the clock cannot move is fauxqs's visibility timeout: a charge job the charger reported
 * as failed waits out its timeout in real minutes. While travelling, such jobs are made visible at
 * the next fired instant (`releaseRetained()`) and processed there, as if their timeout had passed,
 * so they are neither stuck during the trip nor skipped; repeated failures still reach the DLQ after
 * `maxReceiveCount` receives. Outside travel, retries follow real time, as in AWS.
 */
import { z } from 'zod';
import type { SqsPoller } from '../aws/sqs-poller.ts';
import type { LocalClock, ScheduleRun } from '../clock.ts';

/** How far to move: whole days or months of KST calendar, or to an instant. */
export type TravelTarget =
  | { readonly days: number }
  | { readonly months: number }
  /** ISO 8601; without an offset it is read as KST, a date alone as 00:00 KST. */
  | { readonly to: string };

export interface TravelReport {
  readonly from: number;
  readonly to: number;
  /** Schedule occurrences fired on the way (runs with nothing to do return at once). */
  readonly runs: number;
  readonly failures: readonly { readonly schedule: string; readonly at: string; readonly error: string }[];
}

/** A travel request that cannot be done: the console answers it with a 400. */
export class TravelRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TravelRefusedError';
  }
}

/** Longest single trip: a typo should not start a century of schedule runs. */
export const MAX_TRAVEL_MS = 2 * 366 * 24 * 3_600_000;

export const travelTargetSchema = z.union([
  z.strictObject({ days: z.number().int().min(1).max(731) }),
  z.strictObject({ months: z.number().int().min(1).max(24) }),
  z.strictObject({ to: z.string().min(10).max(40) }),
]);

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?$/;

/** Reads `to` as an instant: with Z or an offset as given, otherwise as KST wall-clock time. */
export function parseTravelInstant(to: string): number {
  const local = LOCAL_DATE_TIME.exec(to);
  const iso = local ? `${local[1]}T${local[2] ?? '00:00'}+09:00` : to;
  if (!local && !/(Z|[+-]\d{2}:?\d{2})$/i.test(to)) {
    throw new TravelRefusedError(`"${to}" is not a date (YYYY-MM-DD), a KST date-time or an ISO instant`);
  }
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new TravelRefusedError(`"${to}" is not a valid date`);
  return ms;
}

export class TimeTravel {
  readonly #clock: LocalClock;
  #poller: SqsPoller | undefined;
  #trips = 0;

  constructor(clock: LocalClock) {
    this.#clock = clock;
  }

  /** The billing queue's poller; attached later because the clock (which calls `settle`) comes first. */
  attachPoller(poller: SqsPoller): void {
    this.#poller = poller;
  }

  /** Moves the clock; resolves once every occurrence on the way has run. */
  async travel(target: TravelTarget): Promise<TravelReport> {
    const from = this.#clock.now();
    let to: number;
    if ('to' in target) {
      to = parseTravelInstant(target.to);
      if (to <= from) {
        throw new TravelRefusedError(
          `${new Date(to).toISOString()} is not after the clock (${new Date(from).toISOString()}): time only moves forward`,
        );
      }
      if (to - from > MAX_TRAVEL_MS) throw new TravelRefusedError('at most two years at a time');
    }
    this.#trips++;
    let runs: ScheduleRun[];
    try {
      runs = await (
        'to' in target ? this.#clock.advanceTo(parseTravelInstant(target.to)) : this.#clock.advanceBy(target)
      ).catch((error: unknown) => {
        // Another trip got there first: the clock refuses to move back.
        if (error instanceof RangeError) throw new TravelRefusedError(error.message);
        throw error;
      });
      // Whatever failed at the last instant is retried on arrival, not real minutes later.
      await this.#releaseAndDrain();
    } finally {
      this.#trips--;
    }
    return {
      from,
      to: this.#clock.now(),
      runs: runs.filter((run) => run.scheduleName !== 'settle').length,
      failures: runs
        .filter((run) => !run.ok)
        .map((run) => ({
          schedule: run.scheduleName,
          at: run.scheduledTime,
          error: run.error?.message ?? 'failed',
        })),
    };
  }

  /** The clock's `settle` hook: after each fired instant of a trip, retried jobs run at once. */
  readonly settle = async (): Promise<void> => {
    if (this.#trips > 0) await this.#releaseAndDrain();
  };

  async #releaseAndDrain(): Promise<void> {
    const poller = this.#poller;
    if (poller && (await poller.releaseRetained()) > 0) await poller.drain();
  }
}
