import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ClockReentrancyError,
  createLocalClock,
  InvalidScheduleExpressionError,
  InvalidTimeZoneError,
  LocalClock,
  nextOccurrences,
  ScheduleHandlerError,
  type ScheduledInvocation,
} from '../../local/clock.ts';

const SEOUL = 'Asia/Seoul';
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A clock frozen at `start` with one recording schedule. */
function clockWith(start: string, expression: string, timeZone = SEOUL) {
  const clock = new LocalClock({ start, onError: () => undefined });
  const fired: ScheduledInvocation[] = [];
  const seenNow: number[] = [];
  clock.schedule({
    name: 'under-test',
    expression,
    timeZone,
    handler: (event) => {
      fired.push(event);
      seenNow.push(clock.now());
    },
  });
  return { clock, fired, seenNow, times: () => fired.map((event) => event.scheduledTime) };
}

/** Polls until `condition` holds; fails after `timeoutMs`. Nothing asserts how long it took. */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('KST cron schedules under time travel', () => {
  test('cron(0 10 * * ? *) fires every day at 01:00 UTC from Jan 31 through Feb 29 (leap year) to Mar 31', async () => {
    const { clock, times } = clockWith('2028-01-31T00:00:00+09:00', 'cron(0 10 * * ? *)');

    await clock.advanceTo('2028-03-31T23:59:00+09:00');

    expect(times()).toHaveLength(1 + 29 + 31);
    expect(times()[0]).toBe('2028-01-31T01:00:00Z');
    expect(times()).toContain('2028-02-28T01:00:00Z');
    expect(times()).toContain('2028-02-29T01:00:00Z');
    expect(times().at(-1)).toBe('2028-03-31T01:00:00Z');
    expect(times().every((time) => time.endsWith('T01:00:00Z'))).toBe(true);
    expect(iso(clock.now())).toBe('2028-03-31T14:59:00Z');
  });

  test('cron(0 9 L * ? *) fires on Jan 31, Feb 29 and Mar 31 at 00:00 UTC while moving a month at a time', async () => {
    const { clock, times } = clockWith('2028-01-15T00:00:00+09:00', 'cron(0 9 L * ? *)');

    await clock.advanceBy({ months: 1 });
    await clock.advanceBy({ months: 1 });
    await clock.advanceBy({ months: 1 });

    expect(times()).toEqual(['2028-01-31T00:00:00Z', '2028-02-29T00:00:00Z', '2028-03-31T00:00:00Z']);
    expect(iso(clock.now())).toBe('2028-04-14T15:00:00Z');
  });

  test('cron(0 9 L * ? *) fires on Feb 28 in a common year', async () => {
    const { clock, times } = clockWith('2027-02-01T00:00:00+09:00', 'cron(0 9 L * ? *)');

    await clock.advanceBy({ months: 1 });

    expect(times()).toEqual(['2027-02-28T00:00:00Z']);
  });

  test('cron(30 0 1 * ? *) fires at 15:30 UTC on the last day of the previous month', async () => {
    const { clock, times } = clockWith('2028-01-15T00:00:00+09:00', 'cron(30 0 1 * ? *)');

    await clock.advanceBy({ months: 3 });

    expect(times()).toEqual(['2028-01-31T15:30:00Z', '2028-02-29T15:30:00Z', '2028-03-31T15:30:00Z']);
  });

  test('an occurrence exactly at the target fires; one exactly at the start does not', async () => {
    const { clock, times } = clockWith('2028-01-31T10:00:00+09:00', 'cron(0 10 * * ? *)');

    await clock.advanceTo('2028-02-01T10:00:00+09:00');

    expect(times()).toEqual(['2028-02-01T01:00:00Z']);
  });
});

describe('time travel semantics', () => {
  test('handlers see now() equal to their scheduled time, and the clock lands on the target', async () => {
    const { clock, fired, seenNow } = clockWith('2028-01-01T00:00:00Z', 'cron(0/15 * * * ? *)');

    const runs = await clock.advance(60 * 60_000);

    expect(fired).toHaveLength(4);
    expect(seenNow).toEqual(fired.map((event) => Date.parse(event.scheduledTime)));
    expect(runs.map((run) => run.ok)).toEqual([true, true, true, true]);
    expect(fired[0]).toEqual({ scheduleName: 'under-test', scheduledTime: '2028-01-01T00:15:00Z' });
    expect(iso(clock.now())).toBe('2028-01-01T01:00:00Z');
  });

  test('rate(5 minutes) fires twelve times an hour, counted from when it was created', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:02:30Z' });
    const times: string[] = [];
    clock.schedule({
      name: 'every-5',
      expression: 'rate(5 minutes)',
      handler: (e) => void times.push(e.scheduledTime),
    });

    await clock.advanceBy({ hours: 1 });

    expect(times).toHaveLength(12);
    expect(times[0]).toBe('2028-01-01T00:07:30Z');
    expect(times.at(-1)).toBe('2028-01-01T01:02:30Z');
  });

  test('rate(1 day) fires once per day of a week', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z' });
    let count = 0;
    clock.schedule({
      name: 'daily',
      expression: 'rate(1 day)',
      handler: () => {
        count++;
      },
    });

    await clock.advanceBy({ days: 7 });

    expect(count).toBe(7);
  });

  test('at(...) fires once at its KST wall-clock time', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z' });
    const times: string[] = [];
    clock.schedule({
      name: 'once',
      expression: 'at(2028-02-29T10:00:00)',
      timeZone: SEOUL,
      handler: (event) => void times.push(event.scheduledTime),
    });

    await clock.advanceBy({ months: 3 });

    expect(times).toEqual(['2028-02-29T01:00:00Z']);
  });

  test('occurrences of several schedules fire in chronological order, ties in registration order', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z' });
    const order: string[] = [];
    const record = (event: ScheduledInvocation) =>
      void order.push(`${event.scheduledTime} ${event.scheduleName}`);
    clock.schedule({
      name: 'dispatcher',
      expression: 'cron(0/10 * * * ? *)',
      timeZone: SEOUL,
      handler: record,
    });
    clock.schedule({ name: 'reconciler', expression: 'rate(7 minutes)', timeZone: SEOUL, handler: record });

    await clock.advance(70 * 60_000);

    const expected = [
      ...[10, 20, 30, 40, 50, 60, 70].map((m) => ({ m, order: 0, name: 'dispatcher' })),
      ...[7, 14, 21, 28, 35, 42, 49, 56, 63, 70].map((m) => ({ m, order: 1, name: 'reconciler' })),
    ]
      .sort((a, b) => a.m - b.m || a.order - b.order)
      .map(({ m, name }) => `${iso(Date.parse('2028-01-01T00:00:00Z') + m * 60_000)} ${name}`);
    expect(order).toEqual(expected);
    expect(order.slice(-2)).toEqual(['2028-01-01T01:10:00Z dispatcher', '2028-01-01T01:10:00Z reconciler']);
  });

  test('a handler that throws is recorded and the clock carries on', async () => {
    const reported: ScheduleHandlerError[] = [];
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z', onError: (error) => reported.push(error) });
    let calls = 0;
    clock.schedule({
      name: 'flaky',
      expression: 'rate(1 hour)',
      handler: () => {
        calls++;
        if (calls === 2) throw new Error('Payple is down');
      },
    });

    const runs = await clock.advanceBy({ hours: 3 });

    expect(calls).toBe(3);
    expect(runs.map((run) => run.ok)).toEqual([true, false, true]);
    expect(runs[1]?.error).toBeInstanceOf(ScheduleHandlerError);
    expect(clock.errors).toHaveLength(1);
    expect(clock.errors[0]).toMatchObject({ scheduleName: 'flaky', scheduledTime: '2028-01-01T02:00:00Z' });
    expect(clock.errors[0]?.message).toContain('Payple is down');
    expect(reported).toEqual(clock.errors);
    expect(iso(clock.now())).toBe('2028-01-01T03:00:00Z');
  });

  test('the settle hook runs after each fired instant with now() still pinned to it', async () => {
    const settledAt: number[] = [];
    const clock: LocalClock = new LocalClock({
      start: '2028-01-01T00:00:00Z',
      settle: () => {
        settledAt.push(clock.now());
        return Promise.resolve();
      },
    });
    clock.schedule({ name: 'a', expression: 'cron(0 * * * ? *)', handler: () => undefined });
    clock.schedule({ name: 'b', expression: 'cron(0 * * * ? *)', handler: () => undefined });

    await clock.advanceBy({ hours: 2 });

    expect(settledAt.map(iso)).toEqual(['2028-01-01T01:00:00Z', '2028-01-01T02:00:00Z']);
  });

  test('set() jumps without firing, in either direction; advancing backwards is refused', async () => {
    const { clock, fired } = clockWith('2028-01-01T00:00:00Z', 'cron(0 * * * ? *)', 'UTC');

    await clock.set('2028-06-01T00:00:00Z');
    expect(fired).toHaveLength(0);
    await expect(clock.advanceTo('2028-05-01T00:00:00Z')).rejects.toThrow(/cannot move back/);
    await clock.set('2028-01-01T00:00:00Z');
    await clock.advanceBy({ hours: 1 });

    expect(fired.map((event) => event.scheduledTime)).toEqual(['2028-01-01T01:00:00Z']);
  });

  test('a handler cannot move the clock that is firing it', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z', onError: () => undefined });
    clock.schedule({ name: 'meddler', expression: 'rate(1 hour)', handler: () => clock.advance(1_000) });

    const [run] = await clock.advance(60 * 60_000);

    expect(run?.ok).toBe(false);
    expect(run?.error?.cause).toBeInstanceOf(ClockReentrancyError);
  });

  test('schedule() refuses invalid expressions, unknown zones and duplicate names', () => {
    const clock = createLocalClock({ start: '2028-01-01T00:00:00Z' });
    const handler = () => undefined;
    expect(() => clock.schedule({ name: 'bad', expression: 'cron(0 10 * * * *)', handler })).toThrow(
      InvalidScheduleExpressionError,
    );
    expect(() => clock.schedule({ name: 'bad', expression: 'rate(5 minute)', handler })).toThrow(/plural/);
    expect(() =>
      clock.schedule({ name: 'bad', expression: 'cron(0 10 * * ? *)', timeZone: 'Mars/Olympus', handler }),
    ).toThrow(InvalidTimeZoneError);
    expect(() => clock.schedule({ name: 'has space', expression: 'rate(1 hour)', handler })).toThrow(/name/);
    clock.schedule({ name: 'dup', expression: 'rate(1 hour)', handler });
    expect(() => clock.schedule({ name: 'dup', expression: 'rate(1 hour)', handler })).toThrow(/exists/);
  });

  test('a cancelled schedule stops firing and list() shows what is next', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z' });
    let count = 0;
    const handle = clock.schedule({
      name: 'hourly',
      expression: 'cron(0 * * * ? *)',
      handler: () => {
        count++;
      },
    });
    expect(clock.list()).toEqual([
      {
        name: 'hourly',
        expression: 'cron(0 * * * ? *)',
        timeZone: 'UTC',
        nextRun: Date.parse('2028-01-01T01:00:00Z'),
      },
    ]);

    await clock.advanceBy({ hours: 2 });
    handle.cancel();
    await clock.advanceBy({ hours: 2 });

    expect(count).toBe(2);
    expect(handle.nextRun()).toBeUndefined();
    expect(clock.list()).toEqual([]);
  });

  test('nextOccurrences is exported for the console', () => {
    expect(nextOccurrences('cron(0 10 * * ? *)', SEOUL, '2028-02-28T02:00:00Z', 2).map(iso)).toEqual([
      '2028-02-29T01:00:00Z',
      '2028-03-01T01:00:00Z',
    ]);
  });
});

describe('running mode', () => {
  test('follows the wall clock from its start and fires what becomes due, then stop() freezes it', async () => {
    const clock = new LocalClock({ start: '2028-01-31T00:59:59.700Z', mode: 'running' });
    const fired: { scheduledTime: string; now: number }[] = [];
    clock.schedule({
      name: 'ten-kst',
      expression: 'cron(0 10 * * ? *)',
      timeZone: SEOUL,
      handler: (event) => void fired.push({ scheduledTime: event.scheduledTime, now: clock.now() }),
    });

    await waitFor(() => fired.length === 1);
    await clock.stop();

    expect(fired[0]?.scheduledTime).toBe('2028-01-31T01:00:00Z');
    expect(fired[0]!.now).toBeGreaterThanOrEqual(Date.parse('2028-01-31T01:00:00Z'));
    const frozen = clock.now();
    expect(clock.currentMode).toBe('frozen');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.now()).toBe(frozen);
  });

  test('time travel while running fires the skipped occurrences and keeps following the wall clock', async () => {
    const clock = new LocalClock({ start: '2028-01-01T00:00:00Z', mode: 'running' });
    const times: string[] = [];
    clock.schedule({
      name: 'hourly',
      expression: 'cron(0 * * * ? *)',
      handler: (e) => void times.push(e.scheduledTime),
    });

    await clock.advanceBy({ hours: 3 });
    const afterTravel = clock.now();
    await waitFor(() => clock.now() > afterTravel);
    await clock.stop();

    expect(times).toEqual(['2028-01-01T01:00:00Z', '2028-01-01T02:00:00Z', '2028-01-01T03:00:00Z']);
    expect(afterTravel).toBeGreaterThanOrEqual(Date.parse('2028-01-01T03:00:00Z'));
  });
});

describe('properties', () => {
  const schedule = fc.oneof(
    fc.constantFrom(
      'cron(0 10 * * ? *)',
      'cron(0 9 L * ? *)',
      'cron(30 0 1 * ? *)',
      'cron(0/10 * * * ? *)',
      'cron(15 */6 ? * MON-FRI *)',
      'cron(0 12 ? * 6L *)',
    ),
    fc.constantFrom('rate(1 hour)', 'rate(90 minutes)', 'rate(1 day)', 'rate(3 days)'),
  );

  test('after any sequence of moves, every schedule fired exactly its occurrences, all in chronological order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(schedule, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 * 24 * 60 }), { minLength: 1, maxLength: 4 }),
        async (expressions, stepsInMinutes) => {
          const start = Date.parse('2028-01-30T00:00:00Z');
          const clock = new LocalClock({ start });
          const fired: { name: string; instant: number; now: number }[] = [];
          expressions.forEach((expression, index) => {
            clock.schedule({
              name: `s${index}`,
              expression,
              timeZone: SEOUL,
              handler: (event) => {
                fired.push({
                  name: event.scheduleName,
                  instant: Date.parse(event.scheduledTime),
                  now: clock.now(),
                });
              },
            });
          });
          for (const minutes of stepsInMinutes) await clock.advance(minutes * 60_000);
          const end = clock.now();

          for (let i = 1; i < fired.length; i++) {
            expect(fired[i]!.instant).toBeGreaterThanOrEqual(fired[i - 1]!.instant);
          }
          expect(fired.every((run) => run.now === run.instant)).toBe(true);
          expressions.forEach((expression, index) => {
            const expected = nextOccurrences(expression, SEOUL, start, 2_000).filter((t) => t <= end);
            expect(fired.filter((run) => run.name === `s${index}`).map((run) => run.instant)).toEqual(
              expected,
            );
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});
