/**
 * The local stack's clock: what EventBridge Scheduler does in AWS (fire handlers on `cron`, `rate`
 * and `at` expressions in a time zone), plus time travel for tests and the console.
 *
 * Two modes:
 * - `frozen` (tests): time moves only when told — `set`, `advance`, `advanceBy`, `advanceTo`.
 * - `running` (`npm start`): follows the wall clock plus an offset; an unref'd timer fires what
 *   becomes due. Time travel works here too and shifts the offset.
 *
 * Moving forward fires every occurrence in (old now, new now], in chronological order across all
 * schedules (same instant: registration order), one at a time, each awaited, with `now()` pinned to
 * the occurrence instant while its handler runs. A handler that throws is recorded (returned, kept in
 * `errors`, passed to `onError`) and the clock carries on: in AWS one failed invocation does not stop
 * a schedule either. There are no retries locally (Scheduler and Lambda's async invoke would retry).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  addCalendarDuration,
  assertTimeZone,
  nextOccurrence,
  parseScheduleExpression,
  toEpochMs,
  type CalendarDuration,
  type Instant,
  type ParsedScheduleExpression,
} from './schedule-expression.ts';

export {
  InvalidScheduleExpressionError,
  InvalidTimeZoneError,
  matchesScheduleExpression,
  nextOccurrences,
  parseScheduleExpression,
  type CalendarDuration,
  type Instant,
} from './schedule-expression.ts';

/** What components that need the time take instead of calling `Date.now()`. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/**
 * The event a schedule handler receives; the deployed schedules set the same Input with
 * `<aws.scheduler.scheduled-time>`, so handlers read one shape in both places.
 */
export interface ScheduledInvocation {
  readonly scheduleName: string;
  /** ISO-8601 UTC without milliseconds, as Scheduler renders it: `2028-01-31T15:30:00Z`. */
  readonly scheduledTime: string;
}

export type ScheduleHandler = (event: ScheduledInvocation) => unknown;

export interface ScheduleOptions {
  /** Unique per clock; EventBridge's rule: 1-64 of `[0-9A-Za-z_.-]`. */
  readonly name: string;
  /** `cron(...)`, `rate(...)` or `at(...)`. */
  readonly expression: string;
  /** IANA zone the expression is read in; UTC when omitted, as in EventBridge Scheduler. */
  readonly timeZone?: string;
  readonly handler: ScheduleHandler;
  /**
   * For `rate(...)`: occurrences are `anchor + k × period`, k ≥ 1. Defaults to the clock's `now()` at
   * `schedule()`, i.e. the first run one period after creation. Floored to the whole second.
   */
  readonly anchor?: Instant;
}

export interface ScheduleHandle {
  readonly name: string;
  readonly expression: string;
  readonly timeZone: string;
  /** The next instant this schedule fires, or undefined when it never will again. */
  nextRun(): number | undefined;
  cancel(): void;
}

/** One occurrence the clock fired. */
export interface ScheduleRun {
  readonly scheduleName: string;
  readonly scheduledTime: string;
  /** Epoch ms of the occurrence. */
  readonly instant: number;
  readonly ok: boolean;
  readonly error?: ScheduleHandlerError;
}

export class ScheduleHandlerError extends Error {
  readonly scheduleName: string;
  readonly scheduledTime: string;
  constructor(scheduleName: string, scheduledTime: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`schedule ${scheduleName} at ${scheduledTime} failed: ${reason}`, { cause });
    this.name = 'ScheduleHandlerError';
    this.scheduleName = scheduleName;
    this.scheduledTime = scheduledTime;
  }
}

/** Thrown when a schedule handler tries to move the clock it is being fired by. */
export class ClockReentrancyError extends Error {
  constructor() {
    super('a schedule handler cannot move the clock that is firing it (it would wait for itself)');
    this.name = 'ClockReentrancyError';
  }
}

export type ClockMode = 'frozen' | 'running';

export interface LocalClockOptions {
  /** Where time starts; the wall clock when omitted. */
  readonly start?: Instant;
  /** `frozen` by default. */
  readonly mode?: ClockMode;
  /** Zone for the calendar parts of `advanceBy` (months, days); Asia/Seoul by default. */
  readonly timeZone?: string;
  /** Called for every handler failure; by default one line on stderr. */
  readonly onError?: (error: ScheduleHandlerError) => void;
  /**
   * Awaited after each fired instant while `now()` is still pinned to it, e.g. to drain the SQS
   * pollers so the work a dispatcher enqueued is done "at the same time". Failures are recorded
   * like a handler's, under the schedule name `settle`.
   */
  readonly settle?: () => Promise<unknown>;
}

interface ScheduleEntry {
  readonly name: string;
  readonly expression: string;
  readonly timeZone: string;
  readonly parsed: ParsedScheduleExpression;
  readonly handler: ScheduleHandler;
  readonly anchor: number;
  /** Next occurrence strictly after the clock's cursor. */
  next: number | undefined;
}

const SCHEDULE_NAME = /^[0-9A-Za-z_.-]{1,64}$/;
/** Longest sleep of the running-mode timer, so a changed system clock is noticed within a minute. */
const MAX_TIMER_MS = 60_000;

/** Renders an instant the way `<aws.scheduler.scheduled-time>` does. */
export function formatScheduledTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The local EventBridge Scheduler and time source. See the module comment for the semantics.
 */
export class LocalClock implements Clock {
  private mode: ClockMode;
  /** frozen: the time; running: unused. */
  private frozenAt: number;
  /** running: now() = Date.now() + offset. */
  private offset = 0;
  /** Every occurrence at or before this has been fired (or skipped by `set`). */
  private cursor: number;
  /** While a handler runs during time travel, `now()` reads its occurrence instant. */
  private pinned: number | undefined;
  private readonly entries = new Map<string, ScheduleEntry>();
  private readonly calendarZone: string;
  private readonly onError: (error: ScheduleHandlerError) => void;
  private readonly settle: (() => Promise<unknown>) | undefined;
  private readonly firing = new AsyncLocalStorage<true>();
  private tail: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly recordedErrors: ScheduleHandlerError[] = [];

  constructor(options: LocalClockOptions = {}) {
    const start = options.start === undefined ? Date.now() : toEpochMs(options.start);
    this.calendarZone = options.timeZone ?? 'Asia/Seoul';
    assertTimeZone(this.calendarZone);
    this.onError =
      options.onError ??
      ((error) => {
        console.error(`[clock] ${error.message}`);
      });
    this.settle = options.settle;
    this.mode = 'frozen';
    this.frozenAt = start;
    this.cursor = start;
    if (options.mode === 'running') this.start();
  }

  /**
   * Epoch milliseconds: the pinned occurrence during time travel, else the frozen or running time.
   * A bound function, so `clock.now` can be handed out on its own.
   */
  readonly now = (): number => this.pinned ?? this.baseNow();

  get currentMode(): ClockMode {
    return this.mode;
  }

  /** Handler failures so far, oldest first. */
  get errors(): readonly ScheduleHandlerError[] {
    return this.recordedErrors;
  }

  clearErrors(): void {
    this.recordedErrors.length = 0;
  }

  /**
   * Registers a schedule; throws on an invalid expression or zone or a duplicate name. The first
   * occurrence considered is the first one after `now()`.
   */
  schedule(options: ScheduleOptions): ScheduleHandle {
    if (!SCHEDULE_NAME.test(options.name)) {
      throw new RangeError(`schedule name "${options.name}" must be 1-64 of [0-9A-Za-z_.-]`);
    }
    if (this.entries.has(options.name)) throw new RangeError(`a schedule named "${options.name}" exists`);
    const parsed = parseScheduleExpression(options.expression);
    const timeZone = options.timeZone ?? 'UTC';
    assertTimeZone(timeZone);
    const now = this.now();
    const anchor = Math.floor((options.anchor === undefined ? now : toEpochMs(options.anchor)) / 1000) * 1000;
    const entry: ScheduleEntry = {
      name: options.name,
      expression: options.expression,
      timeZone,
      parsed,
      handler: options.handler,
      anchor,
      next: undefined,
    };
    entry.next = nextOccurrence(parsed, timeZone, Math.max(now, this.cursor), { anchor });
    this.entries.set(entry.name, entry);
    this.arm();
    return {
      name: entry.name,
      expression: entry.expression,
      timeZone,
      nextRun: () => (this.entries.get(entry.name) === entry ? entry.next : undefined),
      cancel: () => {
        if (this.entries.get(entry.name) === entry) this.unschedule(entry.name);
      },
    };
  }

  /** Removes a schedule; returns whether it existed. */
  unschedule(name: string): boolean {
    const removed = this.entries.delete(name);
    this.arm();
    return removed;
  }

  /** Registered schedules with their next run, in registration order. */
  list(): { name: string; expression: string; timeZone: string; nextRun: number | undefined }[] {
    return [...this.entries.values()].map(({ name, expression, timeZone, next }) => ({
      name,
      expression,
      timeZone,
      nextRun: next,
    }));
  }

  /**
   * Jumps to `instant`, forwards or backwards, firing nothing; occurrences are counted from there.
   * Waits for a firing in progress first.
   */
  async set(instant: Instant): Promise<void> {
    const target = toEpochMs(instant);
    await this.exclusive(() => {
      this.land(target);
      for (const entry of this.entries.values()) {
        entry.next = nextOccurrence(entry.parsed, entry.timeZone, target, { anchor: entry.anchor });
      }
      return Promise.resolve();
    });
    this.arm();
  }

  /** Moves forward by `ms` of elapsed time, firing what falls due. */
  async advance(ms: number): Promise<ScheduleRun[]> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance by ${ms} ms`);
    return this.travel(() => this.baseNow() + ms);
  }

  /**
   * Moves forward by a calendar amount in the clock's zone (Asia/Seoul unless configured): one month
   * from Jan 31 10:00 KST is Feb 29 10:00 KST in 2028.
   */
  async advanceBy(duration: CalendarDuration): Promise<ScheduleRun[]> {
    return this.travel(() => addCalendarDuration(this.baseNow(), duration, this.calendarZone));
  }

  /** Moves forward to `instant`, firing what falls due; throws if `instant` is in the past. */
  async advanceTo(instant: Instant): Promise<ScheduleRun[]> {
    const target = toEpochMs(instant);
    return this.travel(() => target);
  }

  /** Running mode: follow the wall clock from the current `now()`, firing what becomes due. */
  start(): void {
    if (this.mode === 'running') return;
    this.offset = this.frozenAt - Date.now();
    this.mode = 'running';
    this.arm();
  }

  /** Stops the running-mode timer, freezes at the current time and waits for a firing in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode === 'running') {
      this.frozenAt = this.baseNow();
      this.mode = 'frozen';
    }
    await this.tail;
  }

  private baseNow(): number {
    return this.mode === 'running' ? Date.now() + this.offset : this.frozenAt;
  }

  private land(target: number): void {
    if (this.mode === 'running') this.offset = target - Date.now();
    else this.frozenAt = target;
    this.cursor = target;
  }

  private async travel(computeTarget: () => number): Promise<ScheduleRun[]> {
    const runs = await this.exclusive(async () => {
      const target = computeTarget();
      const from = this.mode === 'running' ? Math.max(this.cursor, this.baseNow()) : this.cursor;
      if (target < from) {
        throw new RangeError(
          `cannot move back from ${new Date(from).toISOString()} to ${new Date(target).toISOString()}; use set()`,
        );
      }
      const fired = await this.fireThrough(target, true);
      this.land(target);
      return fired;
    });
    this.arm();
    return runs;
  }

  /** Fires every occurrence in (cursor, target], in order. */
  private async fireThrough(target: number, pin: boolean): Promise<ScheduleRun[]> {
    const runs: ScheduleRun[] = [];
    for (;;) {
      let instant: number | undefined;
      for (const entry of this.entries.values()) {
        if (
          entry.next !== undefined &&
          entry.next <= target &&
          (instant === undefined || entry.next < instant)
        ) {
          instant = entry.next;
        }
      }
      if (instant === undefined) break;
      this.cursor = instant;
      // Only time travel moves a frozen clock; a running-mode tick that stop() froze mid-way must not.
      if (pin && this.mode === 'frozen') this.frozenAt = instant;
      const due = [...this.entries.values()].filter((entry) => entry.next === instant);
      if (pin) this.pinned = instant;
      try {
        for (const entry of due) {
          // An earlier handler at this instant may have cancelled it.
          if (this.entries.get(entry.name) !== entry) continue;
          entry.next = nextOccurrence(entry.parsed, entry.timeZone, instant, { anchor: entry.anchor });
          runs.push(await this.fire(entry.name, entry.handler, instant));
        }
        if (this.settle) {
          const settle = this.settle;
          const run = await this.fire('settle', () => settle(), instant);
          if (!run.ok) runs.push(run);
        }
      } finally {
        this.pinned = undefined;
      }
    }
    return runs;
  }

  private async fire(name: string, handler: ScheduleHandler, instant: number): Promise<ScheduleRun> {
    const scheduledTime = formatScheduledTime(instant);
    try {
      await this.firing.run(true, async () => {
        await handler({ scheduleName: name, scheduledTime });
      });
      return { scheduleName: name, scheduledTime, instant, ok: true };
    } catch (cause) {
      const error = new ScheduleHandlerError(name, scheduledTime, cause);
      this.recordedErrors.push(error);
      try {
        this.onError(error);
      } catch {
        // A broken log hook must not stop the clock.
      }
      return { scheduleName: name, scheduledTime, instant, ok: false, error };
    }
  }

  /** Runs `task` after every earlier one; refuses calls made from inside a handler. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.firing.getStore()) return Promise.reject(new ClockReentrancyError());
    const run = this.tail.then(task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode !== 'running') return;
    let next: number | undefined;
    for (const entry of this.entries.values()) {
      if (entry.next !== undefined && (next === undefined || entry.next < next)) next = entry.next;
    }
    const delay =
      next === undefined ? MAX_TIMER_MS : Math.min(Math.max(next - this.baseNow(), 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
    // The clock alone never keeps the process alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    try {
      await this.exclusive(async () => {
        if (this.mode !== 'running') return;
        // Running mode: handlers see the wall clock move, as a Lambda would; nothing is pinned.
        const target = this.baseNow();
        await this.fireThrough(target, false);
        this.cursor = Math.max(this.cursor, target);
      });
    } catch (error) {
      console.error('[clock] tick failed', error);
    }
    this.arm();
  }
}

/** Same as `new LocalClock(options)`. */
export function createLocalClock(options: LocalClockOptions = {}): LocalClock {
  return new LocalClock(options);
}
